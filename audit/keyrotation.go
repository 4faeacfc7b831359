package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/vault"
)

// ActionKeyRotated is the action of the event that records, in each log
// of a region, that the region's audit key was rotated (`casevault audit
// rotate-key`): it is appended at the first start after the rotation to
// every log whose anchored checkpoint the old key signed, before the new
// key signs anything of that log. Its details name the old and the new
// verifier key and the hash of the signed rotation statement.
const ActionKeyRotated = "audit.key_rotated"

// Details of an ActionKeyRotated event.
const (
	DetailOldKey        = "old_key"        // the retired verifier key
	DetailNewKey        = "new_key"        // the verifier key that replaced it
	DetailStatementHash = "statement_hash" // lowercase hex SHA-256 of the signed statement
)

// StatementHash is how an ActionKeyRotated event names the signed rotation
// statement: lowercase hex of SHA-256 over its bytes.
func StatementHash(statement string) string {
	h := sha256.Sum256([]byte(statement))
	return hex.EncodeToString(h[:])
}

// keys returns every verifier key of tenant's region, oldest first, the
// current one last (just the current one without Options.Keys).
func (l *Log) keys(ctx context.Context, tenant string) ([]vault.AuditKey, error) {
	if l.opts.Keys != nil {
		ks, err := l.opts.Keys(ctx, tenant)
		if err != nil {
			return nil, fmt.Errorf("audit keys of %q: %w", tenant, err)
		}
		if len(ks) > 0 {
			return ks, nil
		}
	}
	_, vkey, err := l.opts.Signer(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("checkpoint signer of %q: %w", tenant, err)
	}
	return []vault.AuditKey{{VerifierKey: vkey, State: vault.AuditKeyCurrent}}, nil
}

// verifiers returns the note verifiers of every key of tenant's region:
// what the log's own stored and anchored checkpoints may be signed with.
func (l *Log) verifiers(ctx context.Context, tenant string) (note.Verifiers, error) {
	ks, err := l.keys(ctx, tenant)
	if err != nil {
		return nil, err
	}
	vs := make([]note.Verifier, 0, len(ks))
	for _, k := range ks {
		v, err := note.NewVerifier(k.VerifierKey)
		if err != nil {
			return nil, vault.WrapError(vault.EINTERNAL, err, "Bad audit verifier key.")
		}
		vs = append(vs, v)
	}
	return note.VerifierList(vs...), nil
}

// Keys returns every verifier key of tenant's region with its validity,
// oldest first, after those of the regions the firm moved from (movedKeys):
// every key a bundle of its log may need. Errors: those of Options.Keys
// and Options.Signer, unavailable.
func (l *Log) Keys(ctx context.Context, tenant string) ([]vault.AuditKey, error) {
	ks, err := l.keys(ctx, tenant)
	if err != nil || tenant == "" {
		return ks, err
	}
	moved, err := l.movedKeys(ctx, tenant, ks)
	if err != nil {
		return nil, err
	}
	return append(moved, ks...), nil
}

// recordRotations appends, to every log with an anchored checkpoint signed
// by a retired key of its region, one ActionKeyRotated event per rotation
// since that key (not twice: one already there after the anchored
// checkpoint counts), then signs a checkpoint with the current key. It
// runs at Open, after the writer starts and before the checkpointer does,
// so nothing of such a log is signed with the new key before its event. A
// log where this fails takes no appends until the next start (its firm's
// actions answer unavailable); the others are not held up.
func (l *Log) recordRotations(ctx context.Context) error {
	if l.opts.Anchor == nil || l.opts.Keys == nil {
		return nil
	}
	tenants, err := l.opts.Anchor.Tenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		if l.divergence(t) != nil {
			continue // diverged, or held by a move (handover_hold.go)
		}
		if err := l.recordRotation(ctx, t); err != nil {
			why := fmt.Sprintf("the rotation of its region's audit key cannot be recorded in it: %v", err)
			l.divMu.Lock()
			l.diverged[t] = why
			l.anyDiverged.Store(true)
			l.divMu.Unlock()
			l.log.Error().Err(err).Str("tenant_id", t).Msg("cannot record the audit key rotation in this log: refusing to sign or append until the next start")
		}
	}
	return nil
}

// recordRotation is recordRotations for one log.
func (l *Log) recordRotation(ctx context.Context, tenant string) error {
	msg, err := l.opts.Anchor.Load(ctx, tenant)
	if err != nil {
		return err
	}
	rem, err := l.remembered(ctx, tenant)
	if err != nil {
		return err
	}
	n, err := l.appendRotations(ctx, tenant, msg, rem.size)
	if err != nil || n < 0 {
		return err
	}
	_, err = l.Checkpoint(ctx, tenant)
	return err
}

// appendRotations appends to tenant's log an ActionKeyRotated event for
// each rotation since the key that signed msg, a checkpoint of the log,
// unless one with the same statement is there after event after. It
// returns how many rotations msg predates (-1 when the current key, or no
// key of the region, signed it).
func (l *Log) appendRotations(ctx context.Context, tenant string, msg []byte, after int64) (int, error) {
	ks, err := l.keys(ctx, tenant)
	if err != nil {
		return 0, err
	}
	signedBy := -1
	for i, k := range ks {
		v, err := note.NewVerifier(k.VerifierKey)
		if err != nil {
			return 0, vault.WrapError(vault.EINTERNAL, err, "Bad audit verifier key.")
		}
		if _, err := note.Open(msg, note.VerifierList(v)); err == nil {
			signedBy = i
		}
	}
	if signedBy < 0 || signedBy == len(ks)-1 {
		return -1, nil // the current key's (or checkAnchors has said what is wrong)
	}
	done, err := l.recordedRotations(ctx, tenant, after)
	if err != nil {
		return 0, err
	}
	objectID := tenant
	if tenant == "" {
		objectID = "service"
	}
	for i := signedBy; i < len(ks)-1; i++ {
		h := StatementHash(ks[i].Rotation)
		if done[h] {
			continue
		}
		_, err := l.Append(ctx, &vault.AuditEvent{
			TenantID: tenant, ActorID: vault.ActorOperator, Action: ActionKeyRotated,
			ObjectType: "audit_log", ObjectID: objectID, Outcome: OutcomeOK,
			Details: map[string]string{
				DetailOldKey: ks[i].VerifierKey, DetailNewKey: ks[i+1].VerifierKey, DetailStatementHash: h,
			},
		})
		if err != nil {
			return 0, err
		}
	}
	return len(ks) - 1 - signedBy, nil
}

// recordedRotations returns the statement hashes of tenant's
// ActionKeyRotated events after event after.
func (l *Log) recordedRotations(ctx context.Context, tenant string, after int64) (map[string]bool, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT leaf FROM audit_events WHERE tenant_id = ? AND seq > ? AND action = ?`, tenant, after, ActionKeyRotated)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	done := map[string]bool{}
	for rows.Next() {
		var leaf []byte
		if err := rows.Scan(&leaf); err != nil {
			return nil, unavailable(err)
		}
		if e, err := Decode(leaf); err == nil {
			done[e.Details[DetailStatementHash]] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(err)
	}
	return done, nil
}
