package sink

import (
	"bytes"
	"fmt"
	"sort"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/casevault/casevault/audit"
)

// Named is one object of a collection as read: its name (file path or
// object key) and bytes.
type Named struct {
	Name string
	Data []byte
}

// Log is the checked collection of one firm's log.
type Log struct {
	Tenant  string
	Objects int // distinct checkpoints, after identical copies are merged
	// Newest is the checkpoint of the largest size (the last signed of
	// that size), to check bundles against.
	Newest *audit.KeptCheckpoint
	First  int64 // the size of the first checkpoint delivered
}

// CheckError is why a collection does not verify, naming the object.
type CheckError struct {
	Name   string
	Reason string
}

func (e *CheckError) Error() string {
	if e.Name == "" {
		return e.Reason
	}
	return e.Name + ": " + e.Reason
}

// checked is one object whose note verified.
type checked struct {
	name     string
	o        *Object
	root     tlog.Hash
	prev     *Previous
	prevRoot tlog.Hash
	signedAt time.Time
}

// Check verifies a sink's collection with the trusted verifier keys (those of its region before and after a rotation): every
// note is signed by one of keys and states the object's log, size and root; each
// object's consistency proof holds from its previous checkpoint; and the
// objects of each log, in size order, form one chain in which each one's
// previous is the one before it. A chain that shrinks (truncation), a
// proof that fails (a rewritten history), two roots for one size (split
// view), a previous that is not the object before (a fork, or objects
// missing: a gap) each fail naming the object. Identical copies of an
// object count once. It returns one Log per firm, by tenant id.
func Check(objs []Named, keys ...string) ([]*Log, error) {
	if len(objs) == 0 {
		return nil, &CheckError{Reason: "the collection holds no checkpoint"}
	}
	byTenant := map[string][]*checked{}
	for _, n := range objs {
		c, err := checkObject(n, keys)
		if err != nil {
			return nil, err
		}
		byTenant[c.o.Tenant] = append(byTenant[c.o.Tenant], c)
	}
	tenants := make([]string, 0, len(byTenant))
	for t := range byTenant {
		tenants = append(tenants, t)
	}
	sort.Strings(tenants)
	var out []*Log
	for _, t := range tenants {
		l, err := checkChain(t, byTenant[t])
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// checkObject parses one object, checks its note against key and its
// consistency proof from its previous checkpoint.
func checkObject(n Named, keys []string) (*checked, error) {
	fail := func(format string, a ...any) error {
		return &CheckError{Name: n.Name, Reason: fmt.Sprintf(format, a...)}
	}
	o, err := ParseObject(n.Data)
	if err != nil {
		return nil, fail("%v", err)
	}
	vs := make([]note.Verifier, 0, len(keys))
	for _, key := range keys {
		v, err := audit.NewNoteVerifier(key)
		if err != nil {
			return nil, fail("verifier key: %v", err)
		}
		vs = append(vs, v)
	}
	signed, err := note.Open([]byte(o.Note), note.VerifierList(vs...))
	if err != nil {
		return nil, fail("its note is not signed by the verifier key: %v", err)
	}
	origin, size, root, err := audit.ParseCheckpointText(signed.Text)
	if err != nil {
		return nil, fail("its note: %v", err)
	}
	k := &audit.KeptCheckpoint{Name: n.Name, Origin: origin, Size: size, Root: root}
	c := &checked{name: n.Name, o: o, root: k.Root, prev: o.Previous}
	switch {
	case k.Origin != audit.Origin(o.Tenant):
		return nil, fail("its note is a checkpoint of log %q, not of tenant %q", k.Origin, o.Tenant)
	case k.Size != o.Size || b64(k.Root[:]) != o.Root:
		return nil, fail("size and root (%d, %s) are not those of its signed note (%d, %s)", o.Size, o.Root, k.Size, b64(k.Root[:]))
	}
	if c.signedAt, err = time.Parse(time.RFC3339Nano, o.SignedAt); err != nil {
		return nil, fail("signed_at %q is not an RFC 3339 time", o.SignedAt)
	}
	if o.Previous == nil {
		if len(o.Consistency) != 0 {
			return nil, fail("it has a consistency proof but no previous checkpoint")
		}
		return c, nil
	}
	if c.prevRoot, err = parseHash(o.Previous.Root); err != nil {
		return nil, fail("previous root: %v", err)
	}
	if o.Previous.Size > o.Size {
		return nil, fail("the log shrank from tree size %d, delivered before, to %d: it was cut back (truncated), and the server signed the shorter tree", o.Previous.Size, o.Size)
	}
	if o.Previous.Size < 1 {
		return nil, fail("previous size %d is not a tree size", o.Previous.Size)
	}
	proof := make(tlog.TreeProof, len(o.Consistency))
	for i, s := range o.Consistency {
		if proof[i], err = parseHash(s); err != nil {
			return nil, fail("consistency proof hash %d: %v", i, err)
		}
	}
	if err := tlog.CheckTree(proof, o.Size, c.root, o.Previous.Size, c.prevRoot); err != nil {
		return nil, fail("broken consistency proof: the tree of size %d is not an extension of the checkpoint of size %d delivered before it (%v): the log was rewritten, a forked history (split view)", o.Size, o.Previous.Size, err)
	}
	return c, nil
}

// checkChain checks that one log's objects form one chain.
func checkChain(tenant string, cs []*checked) (*Log, error) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.o.Size != b.o.Size {
			return a.o.Size < b.o.Size
		}
		if !a.signedAt.Equal(b.signedAt) {
			return a.signedAt.Before(b.signedAt)
		}
		return a.name < b.name
	})
	// Identical copies (a delivery repeated, or the same object under two
	// names) count once.
	uniq := cs[:1]
	for _, c := range cs[1:] {
		if !bytes.Equal(c.o.Marshal(), uniq[len(uniq)-1].o.Marshal()) {
			uniq = append(uniq, c)
		}
	}
	cs = uniq
	for i, c := range cs {
		fail := func(format string, a ...any) error {
			return &CheckError{Name: c.name, Reason: fmt.Sprintf(format, a...)}
		}
		if i == 0 {
			continue
		}
		p := cs[i-1]
		switch {
		case p.o.Size == c.o.Size && p.root != c.root:
			return nil, fail("split view: it and %s are both signed checkpoints of tree size %d, with different roots", p.name, c.o.Size)
		case c.prev == nil:
			return nil, fail("no consistency proof links it to the checkpoint of size %d before it (%s): the chain starts again (objects removed, or a sink set anew on the same prefix)", p.o.Size, p.name)
		case c.prev.Size > p.o.Size:
			return nil, fail("a gap: it follows a checkpoint of size %d, but the collection has none between sizes %d and %d (objects missing)", c.prev.Size, p.o.Size, c.prev.Size)
		case c.prev.Size < p.o.Size:
			return nil, fail("a fork: it follows the checkpoint of size %d, not the checkpoint of size %d delivered before it (%s): two histories were signed (split view)", c.prev.Size, p.o.Size, p.name)
		case c.prevRoot != p.root:
			return nil, fail("a fork: the checkpoint of size %d it follows has another root than the one delivered (%s): two histories were signed (split view)", c.prev.Size, p.name)
		}
	}
	last := cs[len(cs)-1]
	return &Log{
		Tenant: tenant, Objects: len(cs), First: cs[0].o.Size,
		Newest: &audit.KeptCheckpoint{Name: last.name, Origin: audit.Origin(tenant), Size: last.o.Size, Root: last.root},
	}, nil
}
