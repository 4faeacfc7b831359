package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/casevault/casevault/vault"
)

// Moving a firm's log from one cell's audit.db to another's (issue #13,
// docs/AUDIT-FORMAT.md §5 "Moving a firm"). The tree moves whole: same
// leaves, same sequence numbers. In order:
//
//  1. Handover, on the old cell's log while the directory still names the
//     old region: the ActionTenantMoved event, the last of the log there,
//     and a checkpoint of the tree that ends with it, signed by the old
//     region's key. The log is held from then on (handover_hold.go).
//  2. CopyTenant, old log to new: every row, byte for byte.
//  3. (The move switches the directory to the new region.)
//  4. Adopt, on the new cell's log: the new region's key signs the tree
//     that ends with the handover, and the log takes appends again.
//  5. DropTenant, on the old cell's log: every row of the firm is gone from
//     the old file.
//
// Each step can be run again after a crash and finishes or finds it done.

// ActionTenantMoved is the action of the handover event: the firm's log
// leaves its region's cell for another's. Its details name the regions,
// the old and the new verifier key and the hash of the signed move
// statement. Verifiers retire the old key for every tree larger than the
// one that ends with it (§5): only the handover's own checkpoint may be
// signed by the old region alone.
const ActionTenantMoved = "tenant.moved"

// Details of an ActionTenantMoved event, beside DetailOldKey, DetailNewKey
// and DetailStatementHash.
const (
	DetailFromRegion = "from_region"
	DetailToRegion   = "to_region"
)

// MoveStatementHeader is the first line of a move statement.
const MoveStatementHeader = "casevault-tenant-move/1"

// Handover describes a firm's move as its log records it.
type Handover struct {
	From, To string // regions
	// OldKey and NewKey are the verifier keys of the From and To regions'
	// checkpoint keys.
	OldKey, NewKey string
	// Statement is the move statement signed by both keys
	// (MoveStatement).
	Statement string
	// At is the time of the move.
	At time.Time
}

// MoveText is the text of the move statement of tenant from one region to
// another (docs/AUDIT-FORMAT.md §5, "Moving a firm"): seven lines, keys
// named by name and key hash as in signature lines, the time in RFC 3339,
// UTC, to the second.
func MoveText(tenant, from, to, oldKey, newKey string, at time.Time) string {
	return MoveStatementHeader + "\n" +
		"tenant " + tenant + "\n" +
		"from " + from + "\n" +
		"to " + to + "\n" +
		"old " + oldKey + "\n" +
		"new " + newKey + "\n" +
		"time " + at.UTC().Truncate(time.Second).Format(time.RFC3339) + "\n"
}

// keyID is how a move statement names a key: name+hash, the hash in 8
// lowercase hex digits.
func keyID(name string, hash uint32) string {
	return fmt.Sprintf("%s+%08x", name, hash)
}

// MoveStatement returns the signed statement of a firm's move, signed by
// the old region's key and then the new one's. Errors: invalid.
func MoveStatement(tenant, from, to string, at time.Time, oldSigner, newSigner note.Signer) (string, error) {
	if tenant == "" || !validRegion(from) || !validRegion(to) || from == to || oldSigner == nil || newSigner == nil {
		return "", vault.Errorf(vault.EINVALID, "A move statement needs a firm, two different regions and both regions' signers.")
	}
	if strings.ContainsAny(tenant, " \n") {
		return "", vault.Errorf(vault.EINVALID, "Invalid firm id.")
	}
	oldID, newID := keyID(oldSigner.Name(), oldSigner.KeyHash()), keyID(newSigner.Name(), newSigner.KeyHash())
	if oldID == newID {
		return "", vault.Errorf(vault.EINVALID, "The two regions have the same audit key.")
	}
	msg, err := note.Sign(&note.Note{Text: MoveText(tenant, from, to, oldID, newID, at)}, oldSigner, newSigner)
	if err != nil {
		return "", vault.WrapError(vault.EINTERNAL, err, "Cannot sign the move statement.")
	}
	return string(msg), nil
}

// validRegion reports whether r can be named on a statement line.
func validRegion(r string) bool {
	return r != "" && !strings.ContainsAny(r, " \n")
}

// CheckMoveStatement checks that statement is tenant's move statement
// from h.From to h.To at h.At, naming h.OldKey and h.NewKey and signed by
// both, the old key's signature line first. Errors: invalid.
func CheckMoveStatement(tenant string, h Handover) error {
	bad := func(why string) error {
		return vault.Errorf(vault.EINVALID, "The move statement is not valid: %s.", why)
	}
	if h.From == h.To {
		return bad("the regions are the same")
	}
	oldV, err := NewNoteVerifier(h.OldKey)
	if err != nil {
		return bad("the old key is malformed")
	}
	newV, err := NewNoteVerifier(h.NewKey)
	if err != nil {
		return bad("the new key is malformed")
	}
	if h.OldKey == h.NewKey {
		return bad("the old and the new key are the same")
	}
	want := MoveText(tenant, h.From, h.To, keyID(oldV.Name(), oldV.KeyHash()), keyID(newV.Name(), newV.KeyHash()), h.At)
	n, err := note.Open([]byte(h.Statement), note.VerifierList(oldV, newV))
	if err != nil {
		return bad("it is not signed by the two keys")
	}
	if n.Text != want {
		return bad("its text is not that of this move")
	}
	if len(n.Sigs) != 2 || n.Sigs[0].Hash != oldV.KeyHash() || n.Sigs[0].Name != oldV.Name() ||
		n.Sigs[1].Hash != newV.KeyHash() || n.Sigs[1].Name != newV.Name() {
		return bad("it is not signed by both keys, the old one first")
	}
	return nil
}

// Handover appends the handover event to tenant's log and signs and
// anchors a checkpoint covering it with the log's current signer (which
// must be h.OldKey: the directory still names the old region); from then
// on the log takes no appends and signs nothing more here. Called again,
// after a crash, it finds the event of the same statement and returns its
// seq, signing its checkpoint if it is not signed yet. Errors: invalid (a
// bad statement), conflict (another move holds the log, the event is not
// the log's last, or the signer is not h.OldKey), unavailable, internal.
func (l *Log) Handover(ctx context.Context, tenant string, h Handover) (int64, error) {
	if tenant == "" {
		return 0, vault.Errorf(vault.EINVALID, "The service log does not move.")
	}
	if err := CheckMoveStatement(tenant, h); err != nil {
		return 0, err
	}
	hash := StatementHash(h.Statement)
	l.ckMu.Lock()
	defer l.ckMu.Unlock()
	if _, vkey, err := l.opts.Signer(ctx, tenant); err != nil {
		return 0, fmt.Errorf("checkpoint signer of %q: %w", tenant, err)
	} else if vkey != h.OldKey {
		return 0, vault.Errorf(vault.ECONFLICT, "This log's key for the firm is not the old region's key of the move.")
	}
	last, err := l.lastEvent(ctx, tenant)
	if err != nil {
		return 0, err
	}
	var seq int64
	switch {
	case last != nil && last.Action == ActionTenantMoved && last.Details[DetailStatementHash] == hash:
		if l.heldReason(tenant) != holdMovedOut {
			return 0, vault.Errorf(vault.ECONFLICT, "This log holds the firm's moved log, not the one it hands over.")
		}
		seq = last.Seq
	case l.heldReason(tenant) != "":
		return 0, vault.Errorf(vault.ECONFLICT, "Another move holds this firm's audit log.")
	default:
		if err := l.divergence(tenant); err != nil {
			return 0, err
		}
		moves, err := l.Moves(ctx, tenant)
		if err != nil {
			return 0, err
		}
		for _, m := range moves {
			if m.StatementHash == hash {
				return 0, vault.Errorf(vault.ECONFLICT, "This move statement was recorded at event %d already, and the firm's log went on since.", m.Seq)
			}
		}
		ent, matter, err := l.newEntry(ctx, &vault.AuditEvent{
			TenantID: tenant, ActorID: vault.ActorOperator, Action: ActionTenantMoved,
			ObjectType: "tenant", ObjectID: tenant, Outcome: OutcomeOK, Time: h.At,
			Details: map[string]string{
				DetailFromRegion: h.From, DetailToRegion: h.To,
				DetailOldKey: h.OldKey, DetailNewKey: h.NewKey, DetailStatementHash: hash,
			},
		})
		if err != nil {
			return 0, err
		}
		req := &request{ctx: ctx, entry: ent, matter: matter, hold: holdMovedOut, done: make(chan result, 1)}
		if err := l.send(ctx, req); err != nil {
			return 0, err
		}
		select {
		case r := <-req.done:
			if r.err != nil {
				return 0, r.err
			}
			seq = r.seq
		case <-ctx.Done():
			return 0, unavailable(ctx.Err())
		}
	}
	if _, err := l.signHeld(ctx, tenant, seq, h.OldKey); err != nil {
		return 0, err
	}
	return seq, nil
}

// signHeld signs (unless a checkpoint of size is stored that vkey signed)
// and anchors a checkpoint of tenant's held tree of the given size, its
// whole tree, with the log's signer, whose verifier key must be vkey.
// Callers hold ckMu.
func (l *Log) signHeld(ctx context.Context, tenant string, size int64, vkey string) (*Checkpoint, error) {
	if n, err := l.Size(ctx, tenant); err != nil {
		return nil, err
	} else if n != size {
		return nil, vault.Errorf(vault.ECONFLICT, "The firm's audit log has %d events, not the %d of the move.", n, size)
	}
	root, err := tlog.TreeHash(size, hashReader(ctx, l.db, tenant, nil))
	if err != nil {
		return nil, treeError(err)
	}
	anchored, err := l.extends(ctx, tenant, size, root)
	if err != nil {
		return nil, err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Bad audit verifier key.")
	}
	if stored, err := l.checkpointAt(ctx, tenant, size); err == nil {
		if stored, err = l.newestAt(ctx, stored); err != nil {
			return nil, err
		}
		if _, err := note.Open(stored.Note, note.VerifierList(v)); err == nil && stored.Root == root {
			if l.opts.Anchor != nil && anchored < size {
				if err := l.opts.Anchor.Store(ctx, tenant, stored.Note); err != nil {
					return nil, err
				}
			}
			l.noteSigned(tenant, size)
			return stored, nil
		}
	} else if !vault.IsCode(err, vault.ENOTFOUND) {
		return nil, err
	}
	if _, got, err := l.opts.Signer(ctx, tenant); err != nil {
		return nil, fmt.Errorf("checkpoint signer of %q: %w", tenant, err)
	} else if got != vkey {
		return nil, vault.Errorf(vault.ECONFLICT, "This log's key for the firm is not the key the move names.")
	}
	c, err := l.signTree(ctx, tenant, size, root)
	if err != nil {
		return nil, err
	}
	if err := l.keep(ctx, c, true); err != nil {
		return nil, err
	}
	return c, nil
}

// lastEvent returns tenant's last event, nil when the log is empty.
func (l *Log) lastEvent(ctx context.Context, tenant string) (*Entry, error) {
	var leaf []byte
	err := l.db.QueryRowContext(ctx, `SELECT leaf FROM audit_events WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1`, tenant).Scan(&leaf)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		return nil, unavailable(err)
	}
	e, err := Decode(leaf)
	if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "The last event of the firm's audit log does not decode.")
	}
	return e, nil
}

// Adopt signs and anchors the first checkpoint of a log copied into l,
// with l's signer for tenant (the new region's, once the directory names
// it): a checkpoint of the tree that ends with the handover, which must
// name that signer's key as the new one, after the handover's own
// checkpoint, signed by the old key, is found there with the same root.
// Then l takes the firm's appends and signs its checkpoints. Called again
// it returns the latest checkpoint. Errors: not_found (no copy of the
// firm's log here), conflict (the log was not copied here, the copy is
// not complete, or the signer is not the new key: the directory does not
// name the new region yet), unavailable, internal.
func (l *Log) Adopt(ctx context.Context, tenant string) (*Checkpoint, error) {
	if tenant == "" {
		return nil, vault.Errorf(vault.EINVALID, "The service log does not move.")
	}
	l.ckMu.Lock()
	defer l.ckMu.Unlock()
	switch l.heldReason(tenant) {
	case "":
		// Adopted already, or never copied.
		if n, err := l.Size(ctx, tenant); err != nil {
			return nil, err
		} else if n == 0 {
			return nil, vault.Errorf(vault.ENOTFOUND, "No copy of the firm's audit log is here.")
		}
		return l.checkpoint(ctx, tenant, false)
	case holdMovedOut:
		return nil, vault.Errorf(vault.ECONFLICT, "This log handed the firm's log over; it adopts nothing.")
	}
	last, err := l.lastEvent(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if last == nil || last.Action != ActionTenantMoved {
		return nil, vault.Errorf(vault.ECONFLICT, "The copy of the firm's audit log does not end with its handover: it is not complete.")
	}
	old, err := note.NewVerifier(last.Details[DetailOldKey])
	if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "The handover names a bad old key.")
	}
	stored, err := l.checkpointAt(ctx, last.Tenant, last.Seq)
	if vault.IsCode(err, vault.ENOTFOUND) {
		return nil, vault.Errorf(vault.ECONFLICT, "The handover's checkpoint has not been copied: the copy is not complete.")
	} else if err != nil {
		return nil, err
	}
	if _, err := note.Open(stored.Note, note.VerifierList(old)); err != nil {
		return nil, vault.Errorf(vault.ECONFLICT, "The handover's checkpoint is not signed by the old region's key.")
	}
	root, err := tlog.TreeHash(last.Seq, hashReader(ctx, l.db, tenant, nil))
	if err != nil {
		return nil, treeError(err)
	}
	if root != stored.Root {
		return nil, vault.Errorf(vault.EINTERNAL, "The copied audit log does not have the root of the handover's checkpoint.")
	}
	newKey := last.Details[DetailNewKey]
	if _, vkey, err := l.opts.Signer(ctx, tenant); err != nil {
		return nil, fmt.Errorf("checkpoint signer of %q: %w", tenant, err)
	} else if vkey != newKey {
		return nil, vault.Errorf(vault.ECONFLICT, "This log's key for the firm is not the new key the handover names: the directory does not name the new region yet.")
	}
	c, err := l.signTree(ctx, tenant, last.Seq, root)
	if err != nil {
		return nil, err
	}
	if _, err := l.extends(ctx, tenant, last.Seq, root); err != nil {
		return nil, err
	}
	if err := l.keep(ctx, c, true); err != nil {
		return nil, err
	}
	if err := l.release(ctx, tenant); err != nil {
		return nil, err
	}
	l.stMu.Lock()
	l.logs[tenant] = struct{}{}
	l.stMu.Unlock()
	return c, nil
}

// Move is a firm's move as its log records it: the seq of the handover
// event and what it says (its Statement is not in the log, only its hash).
type Move struct {
	Seq int64
	Handover
	StatementHash string
}

// Moves returns the handovers recorded in tenant's log, oldest first: the
// firm's moves between regions. Errors: unavailable, internal.
func (l *Log) Moves(ctx context.Context, tenant string) ([]Move, error) {
	var out []Move
	err := l.Records(ctx, tenant, Filter{Action: ActionTenantMoved}, func(r *Record) error {
		e := r.Entry
		at, _ := time.Parse(TimeLayout, e.Time)
		out = append(out, Move{Seq: r.Seq, StatementHash: e.Details[DetailStatementHash], Handover: Handover{
			From: e.Details[DetailFromRegion], To: e.Details[DetailToRegion],
			OldKey: e.Details[DetailOldKey], NewKey: e.Details[DetailNewKey], At: at}})
		return nil
	})
	return out, err
}

// movedKeys returns the old key of each of tenant's moves (oldest first,
// each once, none of have): the key of a region the firm left, retired
// for its log at the move, valid from the move before it (or the log's
// first event).
func (l *Log) movedKeys(ctx context.Context, tenant string, have []vault.AuditKey) ([]vault.AuditKey, error) {
	moves, err := l.Moves(ctx, tenant)
	if err != nil || len(moves) == 0 {
		return nil, err
	}
	seen := map[string]bool{}
	for _, k := range have {
		seen[k.VerifierKey] = true
	}
	var from time.Time
	var first string
	if err := l.db.QueryRowContext(ctx, `SELECT time FROM audit_events WHERE tenant_id = ? AND seq = 1`, tenant).Scan(&first); err == nil {
		from, _ = time.Parse(TimeLayout, first)
	}
	var out []vault.AuditKey
	for _, m := range moves {
		if !seen[m.OldKey] && m.OldKey != "" {
			seen[m.OldKey] = true
			until := m.At.UTC()
			out = append(out, vault.AuditKey{Region: m.From, VerifierKey: m.OldKey, ValidFrom: from.UTC(), ValidUntil: &until, State: vault.AuditKeyRetired})
		}
		from = m.At
	}
	return out, nil
}
