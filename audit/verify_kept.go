// Checkpoints beyond the header's: a filtered bundle's proved ones and those an
// auditor kept.

package audit

import (
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// KeptCheckpoint is a signed checkpoint an auditor kept (the note of GET
// /api/v1/audit/checkpoint), to check that a later bundle's log extends it.
type KeptCheckpoint struct {
	Name   string // where it came from, to name it in reports
	Origin string
	Size   int64
	Root   tlog.Hash
}

// ParseKept checks the signature of a kept checkpoint note with the
// verifier key and parses it.
func ParseKept(name string, msg []byte, key string) (*KeptCheckpoint, error) {
	return ParseKeptKeys(name, msg, []string{key})
}

// ParseKeptKeys is ParseKept with several trusted keys (the keys of a
// region before and after a rotation): the note must verify with one.
func ParseKeptKeys(name string, msg []byte, keys []string) (*KeptCheckpoint, error) {
	vs := make([]note.Verifier, 0, len(keys))
	for _, k := range keys {
		v, err := NewNoteVerifier(k)
		if err != nil {
			return nil, fmt.Errorf("verifier key: %w", err)
		}
		vs = append(vs, v)
	}
	if err := checkNoteEncoding(string(msg), note.VerifierList(vs...)); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", name, err)
	}
	n, err := note.Open(msg, note.VerifierList(vs...))
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s is not signed by the verifier key: %w", name, err)
	}
	origin, size, root, err := ParseCheckpointText(n.Text)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", name, err)
	}
	return &KeptCheckpoint{Name: name, Origin: origin, Size: size, Root: root}, nil
}

// KeptResult is how one kept checkpoint fared against a bundle.
type KeptResult struct {
	Name    string
	Size    int64
	OK      bool   // the bundle's log extends it
	Checked bool   // false: the bundle does not hold what is needed to check it
	Reason  string // why not, when not OK
}

// checkKept checks the kept checkpoints against the bundle that verified:
// the root of the bundle's tree of each one's size must be its root. A
// complete bundle gives every root from its leaves; a filtered one only
// those of its checkpoints, each proved consistent with the header's.
func (v *verifier) checkKept() []KeptResult {
	var out []KeptResult
	for _, k := range v.opts.Kept {
		r := KeptResult{Name: k.Name, Size: k.Size, Checked: true}
		var root tlog.Hash
		found := false
		switch {
		case k.Origin != Origin(v.tenant):
			r.Reason = fmt.Sprintf("it is a checkpoint of log %q, not of the bundle's %q", k.Origin, Origin(v.tenant))
		case k.Size > v.size:
			r.Reason = fmt.Sprintf("its tree size %d is beyond the bundle's %d: the bundle was cut back, or its log is another", k.Size, v.size)
		case k.Size < 1:
			r.Reason = "it is of an empty tree"
		case k.Size == v.size:
			root, found = v.root, true
		case v.complete:
			root, found = v.keptRoots[k.Size], true
		default:
			for _, p := range v.proved {
				if p.size == k.Size {
					root, found = p.root, true
				}
			}
			if !found {
				r.Checked = false
				r.Reason = fmt.Sprintf("the filtered bundle holds no checkpoint of tree size %d to check it against; check it with a complete bundle", k.Size)
			}
		}
		if found {
			if root == k.Root {
				r.OK = true
			} else {
				r.Reason = fmt.Sprintf("the bundle's tree of size %d has another root: its log does not extend this checkpoint (a fork)", k.Size)
			}
		}
		out = append(out, r)
	}
	return out
}

// provedCheckpoint checks a stored checkpoint of a filtered bundle: in its
// place (sizes increasing, after the events it covers and before those it
// does not) and consistent with the header's, by its consistency proof.
func (v *verifier) provedCheckpoint(l *bundleLine, size int64, root tlog.Hash) error {
	switch {
	case size < 1 || size > v.size:
		return v.fail(0, "checkpoint on line %d has size %d, outside the bundle's tree size 1 … %d", v.line, size, v.size)
	case size <= v.lastCk:
		return v.fail(0, "checkpoint on line %d, of size %d, follows one of size %d", v.line, size, v.lastCk)
	case size < v.lastSeq:
		return v.fail(0, "checkpoint on line %d, of size %d, is out of place after event %d", v.line, size, v.lastSeq)
	}
	p := make(tlog.TreeProof, len(*l.Consistency))
	for i, s := range *l.Consistency {
		var err error
		if p[i], err = parseHash(s); err != nil {
			return v.fail(0, "checkpoint on line %d: consistency proof hash %d is malformed", v.line, i)
		}
	}
	if err := tlog.CheckTree(p, v.size, v.root, size, root); err != nil {
		return v.fail(0, "checkpoint on line %d, of size %d, is not consistent with the bundle's checkpoint of size %d: %v", v.line, size, v.size, err)
	}
	v.lastCk = size
	v.proved = append(v.proved, provedSize{size, root})
	return nil
}
