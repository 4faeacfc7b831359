package audit

import (
	"context"
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
//     old region: the ActionTenantMoved event and a checkpoint of the tree
//     that ends with it, signed by the old region's key, its last there.
//     The log is held from then on (handover_hold.go): it signs nothing
//     more, and takes appends only until the switch.
//  2. CopyTenant, old log to new: every row, byte for byte.
//  3. SwitchIn on the new log, the directory switched to the new region,
//     SwitchOut on the old log: from then on only the new log takes the
//     firm's appends.
//  4. Adopt, on the new cell's log: the new region's key signs the whole
//     tree (the handover and any event after it), and the log signs the
//     firm's checkpoints again.
//  5. DropTenant, on the old cell's log: every row of the firm is gone from
//     the old file.
//
// A move interrupted between 1 and 3 leaves the firm served from its old
// cell, whose log takes its events after the handover; run again, the
// move copies them too, and Adopt's checkpoint covers them: the old key
// never signs a tree larger than the handover's (the verifiers' rule).
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
// anchors a checkpoint of the tree that ends with it with the log's
// current signer (which must be h.OldKey: the directory still names the
// old region); from then on nothing of the firm is signed here, and the
// log is held handing_over (handover_hold.go). Called again, after a
// crash, it finds the event of the same statement, the log's last move,
// and returns its seq, signing its checkpoint if it is not signed yet:
// events appended since (the firm served here after the crash) do not
// matter, the tree that ends with the handover is signed. Errors: invalid
// (a bad statement), conflict (another move holds the log, or the signer
// is not h.OldKey), unavailable, internal.
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
	moves, err := l.Moves(ctx, tenant)
	if err != nil {
		return 0, err
	}
	var seq int64
	switch reason := l.heldReason(tenant); reason {
	case holdHandingOver, holdMovedOut:
		if len(moves) == 0 || moves[len(moves)-1].StatementHash != hash {
			return 0, vault.Errorf(vault.ECONFLICT, "Another move holds this firm's audit log.")
		}
		seq = moves[len(moves)-1].Seq
	case "":
		if err := l.divergence(tenant); err != nil {
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
		req := &request{ctx: ctx, entry: ent, matter: matter, hold: holdHandingOver, done: make(chan result, 1)}
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
	default:
		return 0, vault.Errorf(vault.ECONFLICT, "This log holds a copy of the firm's log moving in, not the one it hands over.")
	}
	if _, err := l.signHeld(ctx, tenant, seq, h.OldKey); err != nil {
		return 0, err
	}
	return seq, nil
}

// SwitchIn lets tenant's log copied from one log to another take appends
// there (held adopting), before the directory names the new region for
// the firm; Adopt signs it. The copy must be the whole old log: as many
// events, the same last leaf. Called again, or once adopted, it finds it
// done. Errors: conflict (no copy, or not a whole one: copy again),
// unavailable.
func SwitchIn(ctx context.Context, from, to *Log, tenant string) error {
	switch to.heldReason(tenant) {
	case holdAdopting:
		return nil
	case "":
		if n, err := to.Size(ctx, tenant); err != nil {
			return err
		} else if n > 0 {
			return nil // adopted already
		}
	}
	return to.run(ctx, func(ctx context.Context) error {
		if err := isPrefix(ctx, from, to, tenant, true); err != nil {
			return err
		}
		return to.changeHold(ctx, tenant, holdAdopting, holdMovingIn)
	})
}

// SwitchOut marks tenant's log handed over from one log as moved out,
// once the directory names the firm's new region: from then on it takes
// no appends either, until DropTenant. Every event of it must be in the
// other log (which takes the firm's appends since the switch). Called
// again it finds it done. Errors: conflict (not handed over, or events
// were appended to the old log that the copy lacks), unavailable.
func SwitchOut(ctx context.Context, from, to *Log, tenant string) error {
	if from.heldReason(tenant) == holdMovedOut {
		return nil
	}
	return from.run(ctx, func(ctx context.Context) error {
		if err := isPrefix(ctx, from, to, tenant, false); err != nil {
			return err
		}
		return from.changeHold(ctx, tenant, holdMovedOut, holdHandingOver)
	})
}

// isPrefix checks that tenant's log in from is the start of its log in to
// (exactly it, with whole): as many events or fewer, the same leaf at
// from's size.
func isPrefix(ctx context.Context, from, to *Log, tenant string, whole bool) error {
	n, err := from.Size(ctx, tenant)
	if err != nil {
		return err
	}
	m, err := to.Size(ctx, tenant)
	if err != nil {
		return err
	}
	if m < n || (whole && m != n) {
		return vault.Errorf(vault.ECONFLICT, "The firm's old audit log has %d events, its copy %d: copy it again.", n, m)
	}
	return sameLeaf(ctx, from, to, tenant, n)
}

// lastMove returns the last handover of tenant's log. Errors: conflict
// (none), unavailable.
func (l *Log) lastMove(ctx context.Context, tenant string) (*Move, error) {
	moves, err := l.Moves(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if len(moves) == 0 {
		return nil, vault.Errorf(vault.ECONFLICT, "The firm's audit log records no handover.")
	}
	return &moves[len(moves)-1], nil
}

// signHeld signs (unless a checkpoint of size is stored that vkey signed)
// and anchors a checkpoint of tenant's held tree of the given size — its
// whole tree, or the part of it that ends with the handover when events
// were appended since (a move interrupted after it) — with the log's
// signer, whose verifier key must be vkey. Callers hold ckMu.
func (l *Log) signHeld(ctx context.Context, tenant string, size int64, vkey string) (*Checkpoint, error) {
	if n, err := l.Size(ctx, tenant); err != nil {
		return nil, err
	} else if n < size {
		return nil, vault.Errorf(vault.ECONFLICT, "The firm's audit log has %d events, fewer than the %d of the move.", n, size)
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

// Adopt signs and anchors the first checkpoint of a log copied into l
// since its last handover, with l's signer for tenant (the new region's,
// once the directory names it, which the handover must name as the new
// key): a checkpoint of the whole tree — the one that ends with the
// handover, and any event appended since — after the handover's own
// checkpoint, signed by the old key, is found there with the same root.
// Then l signs the firm's checkpoints again. Called again it returns the
// latest checkpoint. Errors: not_found (no copy of the firm's log here),
// conflict (the log was not copied here, the copy is not complete, or the
// signer is not the new key: the directory does not name the new region
// yet), unavailable, internal.
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
	case holdHandingOver, holdMovedOut:
		return nil, vault.Errorf(vault.ECONFLICT, "This log handed the firm's log over; it adopts nothing.")
	case holdMovingIn:
		return nil, vault.Errorf(vault.ECONFLICT, "The copy of the firm's audit log is not switched in (SwitchIn): it may not be complete.")
	}
	last, err := l.lastMove(ctx, tenant)
	if err != nil {
		return nil, vault.Errorf(vault.ECONFLICT, "The copy of the firm's audit log has no handover: it is not complete.")
	}
	old, err := note.NewVerifier(last.OldKey)
	if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "The handover names a bad old key.")
	}
	stored, err := l.checkpointAt(ctx, tenant, last.Seq)
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
	if _, vkey, err := l.opts.Signer(ctx, tenant); err != nil {
		return nil, fmt.Errorf("checkpoint signer of %q: %w", tenant, err)
	} else if vkey != last.NewKey {
		return nil, vault.Errorf(vault.ECONFLICT, "This log's key for the firm is not the new key the handover names: the directory does not name the new region yet.")
	}
	// The whole tree: events appended since the switch (held adopting,
	// the log takes them) are covered too; those appended while this
	// signs are covered by the next checkpoint, signed by the same key.
	size, err := l.Size(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if root, err = tlog.TreeHash(size, hashReader(ctx, l.db, tenant, nil)); err != nil {
		return nil, treeError(err)
	}
	c, err := l.signTree(ctx, tenant, size, root)
	if err != nil {
		return nil, err
	}
	if _, err := l.extends(ctx, tenant, size, root); err != nil {
		return nil, err
	}
	if err := l.keep(ctx, c, true); err != nil {
		return nil, err
	}
	err = l.run(ctx, func(ctx context.Context) error { return l.changeHold(ctx, tenant, "", holdAdopting) })
	if err != nil {
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
