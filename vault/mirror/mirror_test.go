package mirror_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/blobtest"
	"github.com/casevault/casevault/vault/fs"
	"github.com/casevault/casevault/vault/mirror"
)

func newSite(tb testing.TB, name string) *flaky {
	tb.Helper()
	s, err := fs.New(filepath.Join(tb.TempDir(), name))
	if err != nil {
		tb.Fatal(err)
	}
	return &flaky{ChecksumStore: s}
}

func newMirror(tb testing.TB, required bool) (*mirror.Store, *flaky, *flaky) {
	tb.Helper()
	p, m := newSite(tb, "primary"), newSite(tb, "mirror")
	return mirror.New(p, m, mirror.Options{Required: required, Log: zerolog.Nop(), RetryAfter: time.Millisecond}), p, m
}

func TestStore(t *testing.T) {
	blobtest.TestStore(t, func(t *testing.T) vault.BlobStore {
		s, _, _ := newMirror(t, true)
		return s
	})
}

func randomBytes(tb testing.TB, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func has(tb testing.TB, st vault.BlobStore, key string) bool {
	tb.Helper()
	_, err := st.Stat(context.Background(), key)
	if err != nil && !vault.IsCode(err, vault.ENOTFOUND) {
		tb.Fatal(err)
	}
	return err == nil
}

func read(tb testing.TB, st vault.BlobStore, key string, off, n int64) []byte {
	tb.Helper()
	rc, err := st.Get(context.Background(), key, off, n)
	if err != nil {
		tb.Fatalf("Get %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		tb.Fatalf("reading %s: %v", key, err)
	}
	return b
}

// TestStore_PutRequired: with require_mirror, a site that fails at once or
// in the middle of the stream fails the Put with unavailable and leaves the
// object on neither site.
func TestStore_PutRequired(t *testing.T) {
	ctx := context.Background()
	data := randomBytes(t, 3<<20)
	for _, tc := range []struct {
		name   string
		break_ func(p, m *flaky)
	}{
		{"PrimaryDown", func(p, _ *flaky) { p.down.Store(true) }},
		{"MirrorDown", func(_, m *flaky) { m.down.Store(true) }},
		{"PrimaryDiesMidStream", func(p, _ *flaky) { p.putFailAt.Store(1 << 20) }},
		{"MirrorDiesMidStream", func(_, m *flaky) { m.putFailAt.Store(1 << 20) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, p, m := newMirror(t, true)
			tc.break_(p, m)
			_, err := s.Put(ctx, "t1/blob", bytes.NewReader(data), -1)
			if !vault.IsCode(err, vault.EUNAVAILABLE) {
				t.Fatalf("Put: got %v, want unavailable", err)
			}
			p.down.Store(false)
			m.down.Store(false)
			if has(t, p, "t1/blob") || has(t, m, "t1/blob") {
				t.Errorf("after a failed Put: primary holds it %v, mirror %v; want neither", has(t, p, "t1/blob"), has(t, m, "t1/blob"))
			}
			// The vault's discard of the failed upload succeeds.
			if err := s.Delete(ctx, "t1/blob"); err != nil {
				t.Errorf("Delete after a failed Put: %v", err)
			}
			if got := s.MirrorStats().Pending; got != 0 {
				t.Errorf("pending: got %d, want 0", got)
			}
		})
	}
}

// TestStore_PutDiscard: an upload that fails after the mirror kept the
// whole object leaves nothing behind once the vault discards it, even when
// the primary fails only at the end of the stream (the mirror's Put
// succeeded, and its size then differs from the primary's), and even when
// deleting the mirror's copy fails the first time (the vault's Delete must
// still reach the site, not take it for empty).
func TestStore_PutDiscard(t *testing.T) {
	ctx := context.Background()
	data := randomBytes(t, 1<<20)
	for _, required := range []bool{true, false} {
		t.Run(fmt.Sprintf("Required=%v/PrimaryFailsAtEnd", required), func(t *testing.T) {
			s, p, m := newMirror(t, required)
			p.putFailAtEnd.Store(true)
			if _, err := s.Put(ctx, "t1/blob", bytes.NewReader(data), -1); err == nil {
				t.Fatal("Put: got nil error, want the primary's failure")
			}
			if has(t, m, "t1/blob") {
				t.Error("the mirror kept the object of a failed upload")
			}
		})
		t.Run(fmt.Sprintf("Required=%v/DiscardFails", required), func(t *testing.T) {
			s, p, m := newMirror(t, required)
			p.putFailAtEnd.Store(true)
			m.deleteDown.Store(true)
			if _, err := s.Put(ctx, "t1/blob", bytes.NewReader(data), -1); err == nil {
				t.Fatal("Put: got nil error, want the primary's failure")
			}
			if !has(t, m, "t1/blob") {
				t.Fatal("the mirror's delete was down, yet its copy is gone: the test breaks nothing")
			}
			m.deleteDown.Store(false)
			if err := s.Delete(ctx, "t1/blob"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if has(t, m, "t1/blob") {
				t.Error("after the vault's Delete, the mirror still holds the failed upload's object")
			}
		})
	}
}

// TestStore_PutNotRequired: without require_mirror, a mirror failure
// leaves the object on the primary and pending; a primary failure fails
// the Put and leaves nothing on the mirror.
func TestStore_PutNotRequired(t *testing.T) {
	ctx := context.Background()
	data := randomBytes(t, 1<<20+17)
	t.Run("MirrorDown", func(t *testing.T) {
		s, p, m := newMirror(t, false)
		m.down.Store(true)
		n, err := s.Put(ctx, "t1/blob", bytes.NewReader(data), int64(len(data)))
		if err != nil || n != int64(len(data)) {
			t.Fatalf("Put: got %d, %v; want %d, nil", n, err, len(data))
		}
		if got, want := s.MirrorStats().Pending, int64(1); got != want {
			t.Errorf("pending: got %d, want %d", got, want)
		}
		m.down.Store(false)
		if !has(t, p, "t1/blob") || has(t, m, "t1/blob") {
			t.Fatal("want the object on the primary only")
		}
		rep, err := s.Scrub(ctx, mirror.ScrubOptions{Refs: refsOf(mirror.Ref{Key: "t1/blob", Size: -1})})
		if err != nil || rep.Copied != 1 {
			t.Fatalf("scrub: got %+v, %v; want 1 copied", rep, err)
		}
		if got := s.MirrorStats().Pending; got != 0 {
			t.Errorf("pending after scrub: got %d, want 0", got)
		}
		if !bytes.Equal(read(t, m, "t1/blob", 0, -1), data) {
			t.Error("the mirror's copy differs")
		}
	})
	t.Run("PrimaryDiesMidStream", func(t *testing.T) {
		s, p, m := newMirror(t, false)
		p.putFailAt.Store(100 << 10)
		if _, err := s.Put(ctx, "t1/blob", bytes.NewReader(data), -1); err == nil {
			t.Fatal("Put succeeded without the primary")
		}
		if has(t, p, "t1/blob") || has(t, m, "t1/blob") {
			t.Error("a failed Put left an object")
		}
	})
	t.Run("SourceFails", func(t *testing.T) {
		s, p, m := newMirror(t, true)
		_, err := s.Put(ctx, "t1/blob", io.MultiReader(bytes.NewReader(data), &failAfter{}), -1)
		if !vault.IsCode(err, vault.EUNAVAILABLE) {
			t.Errorf("Put: got %v, want the source's error", err)
		}
		if has(t, p, "t1/blob") || has(t, m, "t1/blob") {
			t.Error("a failed Put left an object")
		}
	})
}

// refsOf is a ScrubOptions.Refs naming refs, of firm t1.
func refsOf(refs ...mirror.Ref) func(context.Context) ([]mirror.Ref, map[string]bool, error) {
	return func(context.Context) ([]mirror.Ref, map[string]bool, error) {
		return refs, map[string]bool{"t1": true}, nil
	}
}

// TestStore_GetFallback: a primary that is down, lacks the object or
// breaks in the middle of a read is replaced by the mirror, and the reader
// sees every byte without an error.
func TestStore_GetFallback(t *testing.T) {
	ctx := context.Background()
	data := randomBytes(t, 2<<20+5)
	s, p, _ := newMirror(t, true)
	if _, err := s.Put(ctx, "t1/blob", bytes.NewReader(data), -1); err != nil {
		t.Fatal(err)
	}
	p.getBreakAt.Store(700 << 10)
	if got := read(t, s, "t1/blob", 0, -1); !bytes.Equal(got, data) {
		t.Fatalf("read breaking mid-stream: got %d bytes, want %d equal", len(got), len(data))
	}
	if got := read(t, s, "t1/blob", 1000, 1<<20); !bytes.Equal(got, data[1000:1000+1<<20]) {
		t.Fatal("range breaking mid-stream differs")
	}
	p.getBreakAt.Store(0)
	p.down.Store(true)
	if got := read(t, s, "t1/blob", 0, -1); !bytes.Equal(got, data) {
		t.Fatal("read with the primary down differs")
	}
	if info, err := s.Stat(ctx, "t1/blob"); err != nil || info.Size != int64(len(data)) {
		t.Fatalf("Stat with the primary down: got %+v, %v", info, err)
	}
	p.down.Store(false)
	if err := p.ChecksumStore.Delete(ctx, "t1/blob"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, s, "t1/blob", 0, -1); !bytes.Equal(got, data) {
		t.Fatal("read with the primary's object gone differs")
	}
	if st := s.MirrorStats(); st.Fallbacks < 4 || st.Pending != 1 {
		t.Errorf("stats: got %+v, want >= 4 fallbacks and 1 pending", st)
	}
}

// TestStore_DeleteSiteDown: a delete that does not reach a site stays
// pending, and the scrub finishes it without bringing the object back.
func TestStore_DeleteSiteDown(t *testing.T) {
	ctx := context.Background()
	s, p, m := newMirror(t, true)
	if _, err := s.Put(ctx, "t1/gone", bytes.NewReader([]byte("ciphertext")), -1); err != nil {
		t.Fatal(err)
	}
	m.down.Store(true)
	if err := s.Delete(ctx, "t1/gone"); err != nil {
		t.Fatalf("Delete with the mirror down: %v", err)
	}
	if got := s.MirrorStats().Pending; got != 1 {
		t.Errorf("pending: got %d, want 1", got)
	}
	m.down.Store(false)
	rep, err := s.Scrub(ctx, mirror.ScrubOptions{Refs: refsOf()})
	if err != nil || rep.Deleted != 1 || rep.Copied != 0 {
		t.Fatalf("scrub: got %+v, %v; want 1 deleted, 0 copied", rep, err)
	}
	if has(t, p, "t1/gone") || has(t, m, "t1/gone") {
		t.Error("the deleted object came back")
	}
	rep, err = s.Scrub(ctx, mirror.ScrubOptions{Refs: refsOf()})
	if err != nil || rep.Findings() != 0 {
		t.Errorf("second scrub: got %+v, %v; want nothing found", rep, err)
	}
}

// TestStore_List: the listing is the union of both sites, in key order,
// each key once; a site that is down is left out.
func TestStore_List(t *testing.T) {
	ctx := context.Background()
	s, p, m := newMirror(t, true)
	for _, k := range []string{"t1/a", "t1/c", "t1/e"} {
		if _, err := s.Put(ctx, k, bytes.NewReader([]byte(k)), -1); err != nil {
			t.Fatal(err)
		}
	}
	p.ChecksumStore.Put(ctx, "t1/b", bytes.NewReader([]byte("b")), -1) // primary only
	m.ChecksumStore.Put(ctx, "t1/d", bytes.NewReader([]byte("d")), -1) // mirror only
	p.ChecksumStore.Delete(ctx, "t1/e")                                // the primary lost it
	list := func() []string {
		var keys []string
		if err := s.List(ctx, "t1/", func(b vault.BlobInfo) error { keys = append(keys, b.Key); return nil }); err != nil {
			t.Fatal(err)
		}
		return keys
	}
	if got, want := fmt.Sprint(list()), "[t1/a t1/b t1/c t1/d t1/e]"; got != want {
		t.Errorf("List: got %s, want %s", got, want)
	}
	p.down.Store(true)
	if got, want := fmt.Sprint(list()), "[t1/a t1/c t1/d t1/e]"; got != want {
		t.Errorf("List with the primary down: got %s, want %s", got, want)
	}
	m.down.Store(true)
	if err := s.List(ctx, "t1/", func(vault.BlobInfo) error { return nil }); !vault.IsCode(err, vault.EUNAVAILABLE) {
		t.Errorf("List with both down: got %v, want unavailable", err)
	}
}
