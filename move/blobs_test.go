package move_test

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/casevault/casevault/move"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/fs"
)

// TestMover_BadCopyChecked makes the new store keep different bytes than
// it was sent and tell the checksum of what it keeps, as a store does:
// the checksum of the bytes read from the old store differs, so the move
// stops with unavailable, the bad copy is deleted, and the firm is still
// served from us. (TestMover_BadCopy does the same with a store that can
// tell no checksum, whose copies are read back.)
func TestMover_BadCopyChecked(t *testing.T) {
	ctx := context.Background()
	c := openCells(t, t.TempDir())
	f := newFirm(t, c, "us", "badsum", 2)
	mv := c.mover()
	bad := &corruptingChecked{Store: c.stores["ca"].(*fs.Store)}
	mv.Stores = map[string]vault.BlobStore{"us": c.stores["us"], "ca": bad}
	if _, err := mv.Run(ctx, f.id, "ca", move.StepDone); vault.ErrorCode(err) != vault.EUNAVAILABLE {
		t.Fatalf("Run with a corrupting store: %v, want unavailable", err)
	}
	if bad.puts == 0 {
		t.Fatal("the corrupting store's PutChecked was never called")
	}
	checkServed(t, c, f, "us")
	n := 0
	c.stores["ca"].List(ctx, f.id+"/", func(vault.BlobInfo) error { n++; return nil })
	if got, want := n, 0; got != want {
		t.Errorf("objects of the firm left in ca after the bad copy: got %d, want %d", got, want)
	}
}

// corruptingChecked is an fs store that flips the first byte of what
// PutChecked stores; its checksums are the file's, as fs computes them.
type corruptingChecked struct {
	*fs.Store
	mu   sync.Mutex
	puts int
}

func (s *corruptingChecked) PutChecked(ctx context.Context, key string, r io.Reader, size int64) (int64, uint64, error) {
	s.mu.Lock()
	s.puts++
	s.mu.Unlock()
	return s.Store.PutChecked(ctx, key, &flipFirst{r: r}, size)
}

// TestMover_ReadsOnce counts what a move asks of the stores (fs stores,
// which tell a checksum by reading the file themselves). In one run every
// object is read once from the old store and written once to the new one
// with PutChecked, and the mover never reads a copy back: the second pass,
// after the freeze, skips what the first copied and checked. A rerun
// after copy_blobs (a new run, which remembers nothing) finds every object
// in the new store and compares the two stores' checksums, copying none.
func TestMover_ReadsOnce(t *testing.T) {
	ctx := context.Background()
	c := openCells(t, t.TempDir())
	counted := func() (*countingStore, *countingStore, *move.Mover) {
		from, to := &countingStore{Store: c.stores["us"].(*fs.Store)}, &countingStore{Store: c.stores["ca"].(*fs.Store)}
		mv := c.mover()
		mv.Stores = map[string]vault.BlobStore{"us": from, "ca": to}
		return from, to, mv
	}
	const objects = 6
	t.Run("OneRun", func(t *testing.T) {
		f := newFirm(t, c, "us", "once", objects-1)
		addDocument(t, c, f, 3<<20)
		from, to, mv := counted()
		res, err := mv.Run(ctx, f.id, "ca", move.StepDone)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := res.Blobs.Copied, objects; got != want {
			t.Errorf("copied %d objects, want %d", got, want)
		}
		for _, n := range []struct {
			what      string
			got, want int
		}{
			{"old store Get", from.gets, objects},
			{"old store Checksum", from.sums, 0},
			{"new store PutChecked", to.checked, objects},
			{"new store Put", to.puts, 0},
			{"new store Get", to.gets, 0},
			{"new store Checksum", to.sums, 0},
		} {
			if n.got != n.want {
				t.Errorf("%s: got %d calls, want %d", n.what, n.got, n.want)
			}
		}
		checkServed(t, c, f, "ca")
	})
	t.Run("Rerun", func(t *testing.T) {
		f := newFirm(t, c, "us", "twice", objects-1)
		addDocument(t, c, f, 3<<20)
		if _, err := c.mover().Run(ctx, f.id, "ca", move.StepCopyBlobs); err != nil {
			t.Fatal(err)
		}
		from, to, mv := counted()
		res, err := mv.Run(ctx, f.id, "ca", move.StepDone)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := res.Blobs.Copied, 0; got != want {
			t.Errorf("rerun copied %d objects, want %d", got, want)
		}
		for _, n := range []struct {
			what      string
			got, want int
		}{
			{"old store Get", from.gets, 0},
			{"old store Checksum", from.sums, objects},
			{"new store PutChecked", to.checked, 0},
			{"new store Get", to.gets, 0},
			{"new store Checksum", to.sums, objects},
		} {
			if n.got != n.want {
				t.Errorf("%s: got %d calls, want %d", n.what, n.got, n.want)
			}
		}
		checkServed(t, c, f, "ca")
	})
}

// countingStore is an fs store that counts the calls made to it.
type countingStore struct {
	*fs.Store
	mu                        sync.Mutex
	gets, puts, sums, checked int
}

func (s *countingStore) count(n *int) {
	s.mu.Lock()
	*n++
	s.mu.Unlock()
}

func (s *countingStore) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	s.count(&s.gets)
	return s.Store.Get(ctx, key, offset, length)
}

func (s *countingStore) Put(ctx context.Context, key string, r io.Reader, size int64) (int64, error) {
	s.count(&s.puts)
	return s.Store.Put(ctx, key, r, size)
}

func (s *countingStore) PutChecked(ctx context.Context, key string, r io.Reader, size int64) (int64, uint64, error) {
	s.count(&s.checked)
	return s.Store.PutChecked(ctx, key, r, size)
}

func (s *countingStore) Checksum(ctx context.Context, key string) (vault.BlobInfo, uint64, bool, error) {
	s.count(&s.sums)
	return s.Store.Checksum(ctx, key)
}
