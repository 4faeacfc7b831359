package refverify

import (
	"slices"
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

// retired is a key an event line retired (§5): from tree size from on.
type retired struct {
	seq, from int64
	action    string
}

// retire applies an audit.key_rotated or tenant.moved event line at seq
// (§5, "Key rotation" and "Moving a firm").
func (v *verifier) retire(seq int64, l *leaf) error {
	old, next := l.details["old_key"], l.details["new_key"]
	from := seq
	switch l.action {
	case "audit.key_rotated":
		if v.heir != "" && old == v.heir {
			v.heir = next
		}
	case "tenant.moved":
		trusted := false
		for _, k := range v.keyOf {
			trusted = trusted || k == next
		}
		if !trusted {
			return v.failAt(seq, "the move names new key %q, which is not trusted", next)
		}
		from = seq + 1
		delete(v.retiredAt, next)
		v.heir, v.heirFrom, v.heirSeq = next, seq+1, seq
	default:
		return nil
	}
	if _, ok := v.retiredAt[old]; !ok && old != "" {
		v.retiredAt[old] = retired{seq: seq, from: from, action: l.action}
	}
	return nil
}

// keyRule checks the signers of a checkpoint of the given size against the
// keys retired so far (§5): one of them must not be retired for a tree of
// that size; and in a complete bundle, a tree larger than a move's must be
// signed by the key that move names (or its rotation's).
func (v *verifier) keyRule(signers []string, size int64, where string) error {
	applies, free := false, false
	var first retired
	for _, k := range signers {
		if r, ok := v.retiredAt[k]; ok && size >= r.from {
			if first.seq == 0 {
				first = r
			}
			continue
		}
		free = true
	}
	for _, r := range v.retiredAt {
		applies = applies || size >= r.from
	}
	if applies && len(signers) == 0 {
		return fail(0, "%s is not signed by a trusted key", where)
	}
	if applies && !free {
		return fail(0, "%s is signed only by retired keys (%s, retired at event %d, %s)", where, signers[0], first.seq, first.action)
	}
	if v.complete && v.heir != "" && size >= v.heirFrom && !slices.Contains(signers, v.heir) {
		return fail(0, "%s is not signed by the new key of the move at event %d", where, v.heirSeq)
	}
	return nil
}
