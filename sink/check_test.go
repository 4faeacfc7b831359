package sink_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/sink"
)

const tenant = "ten_aaaaaaaaaaaaaaaaaaaaaaaaaa"

// tree is an in-memory RFC 6962 tree of leaves, signed with one key.
type tree struct {
	t      *testing.T
	hashes map[int64]tlog.Hash
	n      int64
	signer note.Signer
}

func newTree(t *testing.T, signer note.Signer) *tree {
	return &tree{t: t, hashes: map[int64]tlog.Hash{}, signer: signer}
}

func (tr *tree) reader() tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			h, ok := tr.hashes[x]
			if !ok {
				return nil, fmt.Errorf("no hash %d", x)
			}
			out[i] = h
		}
		return out, nil
	})
}

// grow appends leaves named by prefix until the tree has size n.
func (tr *tree) grow(n int64, prefix string) *tree {
	for ; tr.n < n; tr.n++ {
		hs, err := tlog.StoredHashes(tr.n, []byte(fmt.Sprintf("%s %d", prefix, tr.n)), tr.reader())
		if err != nil {
			tr.t.Fatal(err)
		}
		for i, h := range hs {
			tr.hashes[tlog.StoredHashIndex(0, tr.n)+int64(i)] = h
		}
	}
	return tr
}

// checkpoint signs the tree as it is now.
func (tr *tree) checkpoint(at int) *audit.Checkpoint {
	root, err := tlog.TreeHash(tr.n, tr.reader())
	if err != nil {
		tr.t.Fatal(err)
	}
	msg, err := note.Sign(&note.Note{Text: audit.CheckpointText(tenant, tr.n, root)}, tr.signer)
	if err != nil {
		tr.t.Fatal(err)
	}
	return &audit.Checkpoint{Tenant: tenant, Size: tr.n, Root: root, Note: msg,
		CreatedAt: time.Date(2026, 12, 1, 12, 0, at, 0, time.UTC)}
}

// object is c delivered after prev (nil: first), proved in tr.
func (tr *tree) object(c, prev *audit.Checkpoint) sink.Named {
	var p *sink.Previous
	var proof tlog.TreeProof
	if prev != nil {
		p = &sink.Previous{Size: prev.Size, Root: b64(prev.Root)}
		if c.Size > prev.Size {
			var err error
			if proof, err = tlog.ProveTree(c.Size, prev.Size, tr.reader()); err != nil {
				tr.t.Fatal(err)
			}
		}
	}
	o := sink.NewObject(c, p, proof)
	return sink.Named{Name: o.Name("p"), Data: o.Marshal()}
}

func b64(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

func newKey(t *testing.T) (note.Signer, string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "casevault-audit-us")
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s, vkey
}

// TestCheck reads collections as an auditor would: an honest one (with a
// heartbeat and a repeated delivery) passes; each way of hiding or
// rewriting history fails naming the object and what it shows.
func TestCheck(t *testing.T) {
	signer, key := newKey(t)
	tr := newTree(t, signer)
	c3 := tr.grow(3, "a").checkpoint(1)
	c7 := tr.grow(7, "a").checkpoint(2)
	c7b := tr.checkpoint(3) // a heartbeat: same tree, later
	c12 := tr.grow(12, "a").checkpoint(4)
	honest := []sink.Named{tr.object(c3, nil), tr.object(c7, c3), tr.object(c7b, c7), tr.object(c12, c7b)}

	logs, err := sink.Check(append(honest, honest[1]), key)
	if err != nil {
		t.Fatalf("honest collection: %v", err)
	}
	if got, want := len(logs), 1; got != want {
		t.Fatalf("logs = %d, want %d", got, want)
	}
	if l := logs[0]; l.Tenant != tenant || l.Objects != 4 || l.First != 3 || l.Newest.Size != 12 || l.Newest.Root != c12.Root {
		t.Errorf("log = %+v, newest %+v", l, l.Newest)
	}

	// Forks: the same first leaves, other ones after them, all signed.
	fk := newTree(t, signer).grow(5, "a").grow(15, "forged")
	f15 := fk.checkpoint(5)
	short := newTree(t, signer).grow(5, "a").checkpoint(6)
	view := newTree(t, signer).grow(3, "a").grow(9, "other")
	v9 := view.checkpoint(7)
	same := newTree(t, signer).grow(3, "a").grow(7, "other")
	s7 := same.checkpoint(8)
	otherSigner, _ := newKey(t)
	alienTree := newTree(t, otherSigner).grow(14, "a")
	alien := alienTree.checkpoint(9)

	for _, tt := range []struct {
		name string
		objs []sink.Named
		want string
	}{
		{"Gap", []sink.Named{honest[0], honest[3]}, "a gap"},
		{"Truncated", append(honest[:4:4], tr.object(short, c12)), "it was cut back"},
		// The server signs the fork and proves it from the checkpoint the
		// sink holds, on its rewritten tree: the proof does not hold.
		{"Rewritten", append(honest[:4:4], fk.object(f15, c12)), "broken consistency proof"},
		// Two views, each proved from size 3 in its own tree.
		{"SplitView", []sink.Named{honest[0], honest[1], view.object(v9, c3)}, "a fork"},
		{"SplitViewSameSize", []sink.Named{honest[0], honest[1], same.object(s7, c3)}, "split view"},
		{"Restarts", []sink.Named{honest[0], honest[1], tr.object(c12, nil)}, "the chain starts again"},
		{"OtherKey", append(honest[:4:4], alienTree.object(alien, c12)), "not signed by the verifier key"},
		{"Empty", nil, "no checkpoint"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sink.Check(tt.objs, key)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Check = %v, want an error with %q", err, tt.want)
			}
			t.Log(err)
		})
	}
}

// TestParseObject checks the strict reading of one object.
func TestParseObject(t *testing.T) {
	signer, _ := newKey(t)
	tr := newTree(t, signer)
	good := string(tr.object(tr.grow(2, "a").checkpoint(1), nil).Data)
	if _, err := sink.ParseObject([]byte(good)); err != nil {
		t.Fatalf("good object: %v", err)
	}
	for _, tt := range []struct{ name, in, want string }{
		{"Unknown", strings.Replace(good, `"format"`, `"extra":1,"format"`, 1), "unknown member"},
		{"Repeated", strings.Replace(good, `"format"`, `"size":2,"format"`, 1), "repeated"},
		{"Missing", strings.Replace(good, `,"consistency":[]`, ``, 1), "missing"},
		{"Format", strings.Replace(good, sink.Format, "casevault-audit-sink/9", 1), "format"},
		{"Trailing", good + "{}", "more than one"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sink.ParseObject([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseObject = %v, want %q", err, tt.want)
			}
		})
	}
}
