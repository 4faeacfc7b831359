package refverify

import (
	"strconv"

	"golang.org/x/mod/sumdb/note"
)

// The trusted keys and the rule of key rotation (AUDIT-FORMAT.md §5, "Key
// rotation").

// signers returns the trusted keys whose signatures of n verified.
func (v *verifier) signers(n *note.Note) []string {
	var out []string
	for _, s := range n.Sigs {
		if k, ok := v.keyOf[s.Name+"+"+strconv.FormatUint(uint64(s.Hash), 16)]; ok {
			out = append(out, k)
		}
	}
	return out
}

// keyRule checks a checkpoint's signers against the keys retired so far
// (§5, key rotation): one of them must not be retired.
func (v *verifier) keyRule(signers []string, where string) error {
	if len(v.retiredAt) == 0 {
		return nil
	}
	if len(signers) == 0 {
		return fail(0, "%s is not signed by a trusted key", where)
	}
	for _, k := range signers {
		if _, retired := v.retiredAt[k]; !retired {
			return nil
		}
	}
	return fail(0, "%s is signed only by retired keys (%s, retired at event %d)", where, signers[0], v.retiredAt[signers[0]])
}
