// The trusted keys of a bundle and the rule of key rotation
// (docs/AUDIT-FORMAT.md §5, "Key rotation").

package audit

import (
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

// retires notes the key an ActionKeyRotated event retires, from its seq
// on. Verify decodes no details of other events; leaf is decoded again.
func (v *verifier) retires(seq int64, e *Entry, leaf []byte) {
	if e.Action != ActionKeyRotated {
		return
	}
	full, err := Decode(leaf)
	if err != nil {
		return
	}
	old := full.Details[DetailOldKey]
	if _, ok := v.retiredAt[old]; !ok && old != "" {
		v.retiredAt[old] = seq
	}
}

// keyRule checks that a checkpoint whose tree holds the rotation events
// seen so far is signed by a trusted key none of them retired: a
// checkpoint signed after a rotation only by the old key (which someone
// kept a copy of) fails, naming no event.
func (v *verifier) keyRule(signers []string, where string) error {
	if len(v.retiredAt) == 0 {
		return nil
	}
	if len(signers) == 0 {
		return v.fail(0, "%s is not signed by a trusted key", where)
	}
	for _, k := range signers {
		if _, retired := v.retiredAt[k]; !retired {
			return nil
		}
	}
	return v.fail(0, "%s is signed only by a retired key: %s, retired at event %d (audit.key_rotated)", where, signers[0], v.retiredAt[signers[0]])
}
