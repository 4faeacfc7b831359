// The trusted keys of a bundle and the rule of key rotation
// (docs/AUDIT-FORMAT.md §5, "Key rotation").

package audit

import (
	"slices"
	"strconv"

	"golang.org/x/mod/sumdb/note"
)

// trust makes keys the verifier keys that checkpoints must verify with.
func (v *verifier) trust(keys []string) error {
	vs := make([]note.Verifier, 0, len(keys))
	v.keyOf = make(map[string]string, len(keys))
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if seen[k] {
			continue // the same key given twice is trusted once
		}
		seen[k] = true
		nv, err := NewNoteVerifier(k)
		if err != nil {
			return v.fail(0, "trusted key %q is malformed: %v", k, err)
		}
		// Each key also checks the log's timestamp lines, made with it
		// under the same name (§5, "Timestamps").
		tv, err := TimestampVerifier(k)
		if err != nil {
			return v.fail(0, "trusted key %q is not an Ed25519 key: %v", k, err)
		}
		vs = append(vs, nv, tv)
		v.tsKeys = append(v.tsKeys, tv)
		v.keyOf[nv.Name()+"+"+strconv.FormatUint(uint64(nv.KeyHash()), 16)] = k
	}
	v.key = note.VerifierList(vs...)
	return nil
}

// signers returns the trusted keys whose signatures of n verified (note.Open
// keeps only those in n.Sigs).
func (v *verifier) signers(n *note.Note) []string {
	var out []string
	for _, s := range n.Sigs {
		if k, ok := v.keyOf[s.Name+"+"+strconv.FormatUint(uint64(s.Hash), 16)]; ok {
			out = append(out, k)
		}
	}
	return out
}

// retirement is a key retired by an event line: an ActionKeyRotated event
// retires its old key for every tree that holds it (from its seq), an
// ActionTenantMoved event for every tree larger than the one that ends
// with it (the handover's own checkpoint is the old region's).
type retirement struct {
	seq    int64  // the event
	from   int64  // the smallest tree size it is retired for
	action string // the event's action
}

// retires notes the key an ActionKeyRotated or ActionTenantMoved event
// retires, and for a move, the key that must sign after it (§5, "Key
// rotation" and "Moving a firm"). Verify decodes no details of other
// events; leaf is decoded again. A move whose new key is not trusted
// fails, naming it.
func (v *verifier) retires(seq int64, e *Entry, leaf []byte) error {
	if e.Action != ActionKeyRotated && e.Action != ActionTenantMoved {
		return nil
	}
	full, err := Decode(leaf)
	if err != nil {
		return nil
	}
	old, next := full.Details[DetailOldKey], full.Details[DetailNewKey]
	from := seq
	if e.Action == ActionTenantMoved {
		if !v.isTrusted(next) {
			return v.failAt(seq, "the move at event %d names the new key %q, which is not a trusted key (%s)", seq, next, ActionTenantMoved)
		}
		from = seq + 1
		// A firm that moves back to a region signs with its key again.
		delete(v.retiredAt, next)
		v.heir, v.heirFrom, v.heirSeq = next, seq+1, seq
	} else if v.heir != "" && old == v.heir {
		v.heir = next // the new region's key was rotated since
	}
	if _, ok := v.retiredAt[old]; !ok && old != "" {
		v.retiredAt[old] = retirement{seq: seq, from: from, action: e.Action}
	}
	return nil
}

// isTrusted reports whether k is one of the keys checkpoints verify with.
func (v *verifier) isTrusted(k string) bool {
	for _, t := range v.keyOf {
		if t == k {
			return true
		}
	}
	return false
}

// keyRule checks that a checkpoint of a tree of the given size, holding
// the rotation and move events seen so far, is signed by a trusted key
// none of them retired for that size: a checkpoint signed after a rotation
// or a move only by the old key (which someone kept a copy of) fails,
// naming no event. In a complete bundle, where every event is seen, a
// checkpoint of a tree larger than a move's must also be signed by the
// move's new key (or the key a rotation since replaced it with).
func (v *verifier) keyRule(signers []string, size int64, where string) error {
	retired := func(k string) (retirement, bool) {
		r, ok := v.retiredAt[k]
		return r, ok && size >= r.from
	}
	applies := false
	for _, r := range v.retiredAt {
		if size >= r.from {
			applies = true
			break
		}
	}
	if applies {
		if len(signers) == 0 {
			return v.fail(0, "%s is not signed by a trusted key", where)
		}
		ok := false
		for _, k := range signers {
			if _, r := retired(k); !r {
				ok = true
				break
			}
		}
		if !ok {
			r, _ := retired(signers[0])
			return v.fail(0, "%s is signed only by a retired key: %s, retired at event %d (%s)", where, signers[0], r.seq, r.action)
		}
	}
	if v.complete && v.heir != "" && size >= v.heirFrom && !slices.Contains(signers, v.heir) {
		return v.fail(0, "%s is not signed by %s, the new key of the move at event %d (%s)", where, v.heir, v.heirSeq, ActionTenantMoved)
	}
	return nil
}
