package mirror_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/mirror"
)

// TestStore_Scrub: an emptied primary is refilled from the mirror, a copy
// that fails its check is replaced by the good one, what neither site
// holds is lost, an old unreferenced object of the firm on one site is
// deleted (a young one, or another firm's, is left), nothing unreferenced
// is copied, and a second scrub finds nothing.
func TestStore_Scrub(t *testing.T) {
	ctx := context.Background()
	s, p, m := newMirror(t, true)
	data := map[string][]byte{}
	for _, k := range []string{"t1/a", "t1/b", "t1/c", "t1/damaged", "t1/unreferenced"} {
		data[k] = randomBytes(t, 4096)
		if _, err := s.Put(ctx, k, bytes.NewReader(data[k]), -1); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"t1/a", "t1/b", "t1/c"} {
		if err := p.ChecksumStore.Delete(ctx, k); err != nil { // the primary loses them
			t.Fatal(err)
		}
	}
	// A flipped byte on the mirror's copy of t1/damaged.
	bad := bytes.Clone(data["t1/damaged"])
	bad[100] ^= 1
	if _, err := m.ChecksumStore.Put(ctx, "t1/damaged", bytes.NewReader(bad), -1); err != nil {
		t.Fatal(err)
	}
	// Half-deleted objects: one of this firm, one of a firm the metadata
	// does not speak for (a move in progress).
	if err := p.ChecksumStore.Delete(ctx, "t1/unreferenced"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ChecksumStore.Put(ctx, "t2/elsewhere", bytes.NewReader([]byte("x")), -1); err != nil {
		t.Fatal(err)
	}
	verify := func(key string) func(context.Context, vault.BlobStore) error {
		return func(ctx context.Context, st vault.BlobStore) error {
			got := read(t, st, key, 0, -1)
			if !bytes.Equal(got, data[key]) {
				return vault.Errorf(vault.ECANNOTDECRYPT, "Part failed authentication.")
			}
			return nil
		}
	}
	var refs []mirror.Ref
	for _, k := range []string{"t1/a", "t1/b", "t1/c", "t1/damaged"} {
		refs = append(refs, mirror.Ref{Key: k, Size: 4096, Verify: verify(k)})
	}
	refs = append(refs, mirror.Ref{Key: "t1/lost", Size: 10})
	opt := mirror.ScrubOptions{Refs: refsOf(refs...), Grace: time.Nanosecond}
	time.Sleep(time.Millisecond)

	rep, err := s.Scrub(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Checked != 5 || rep.Copied != 3 || rep.Repaired != 1 || rep.Lost != 1 || rep.Deleted != 1 || rep.Failed != 0 {
		t.Errorf("scrub: got %+v; want 5 checked, 3 copied, 1 repaired, 1 lost, 1 deleted", rep)
	}
	if len(rep.LostKeys) != 1 || rep.LostKeys[0] != "t1/lost" {
		t.Errorf("lost keys: got %q, want [t1/lost]", rep.LostKeys)
	}
	for _, k := range []string{"t1/a", "t1/b", "t1/c", "t1/damaged"} {
		for i, st := range []vault.BlobStore{p, m} {
			if got := read(t, st, k, 0, -1); !bytes.Equal(got, data[k]) {
				t.Errorf("%s on site %d differs after the scrub", k, i)
			}
		}
	}
	if has(t, m, "t1/unreferenced") || has(t, p, "t1/unreferenced") {
		t.Error("the unreferenced object is still there")
	}
	if !has(t, m, "t2/elsewhere") || has(t, p, "t2/elsewhere") {
		t.Error("another firm's object was touched")
	}
	st := s.MirrorStats()
	if st.LastScrub.IsZero() || st.LastScrubFindings != rep.Findings() || st.Repaired != 4 {
		t.Errorf("stats: got %+v", st)
	}

	rep, err = s.Scrub(ctx, opt)
	if err != nil || rep.Findings() != 1 || rep.Lost != 1 {
		t.Errorf("second scrub: got %+v, %v; want only the lost object again", rep, err)
	}
}
