package move

import (
	"context"
	"sync"
	"time"

	"github.com/casevault/casevault/vault"
)

// BlobStats count a run's object copies.
type BlobStats struct {
	Copied  int   `json:"copied"`  // objects written to the new store
	Skipped int   `json:"skipped"` // objects already there, identical, before the freeze
	Removed int   `json:"removed"` // objects of the new store the old one no longer has
	Bytes   int64 `json:"bytes"`   // bytes written to the new store
}

// copyBlobs copies every object of the firm to the new store.
func (r *run) copyBlobs(ctx context.Context) error {
	_, err := r.mirror(ctx, false)
	return err
}

// copyNewBlobs copies the objects added since copyBlobs, now that the firm
// is frozen, and removes from the new store those the old one no longer
// has (an upload that never committed, swept meanwhile).
func (r *run) copyNewBlobs(ctx context.Context) error {
	_, err := r.mirror(ctx, true)
	return err
}

// mirror streams every object under the firm's prefix from the old store
// to the new one with Workers copies at once, each checked (copyChecked):
// the new store holds as many bytes, with the same checksum, as were read
// from the old one. An object already there and identical is skipped, and
// so, without a request, is one this run copied and checked before whose
// listing in the old store is unchanged (same size and modification time:
// the vault never writes a blob key twice, so an object replaced since
// would be a new one). Memory stays constant (a copy buffer per worker;
// the stores stream), apart from the run's record of its copies (a key, a
// size and a time per object) and the set of keys when prune is set.
func (r *run) mirror(ctx context.Context, prune bool) (map[string]bool, error) {
	workers := r.mv.Workers
	if workers < 1 {
		workers = 4
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan vault.BlobInfo)
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		seen     map[string]bool
	)
	if prune {
		seen = make(map[string]bool)
	}
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		mu.Unlock()
	}
	// Large objects hold a store's multipart buffers while they copy: at
	// most bigAtOnce of them copy at once, so memory stays the same
	// whatever the firm's objects are.
	big := make(chan struct{}, bigAtOnce)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range jobs {
				if b.Size >= bigObject {
					big <- struct{}{}
				}
				n, copied, err := r.copyOnce(ctx, b)
				if b.Size >= bigObject {
					<-big
				}
				if err != nil {
					fail(err)
					continue
				}
				mu.Lock()
				if copied {
					r.res.Blobs.Copied++
					r.res.Blobs.Bytes += n
				} else if !prune {
					// The second pass finds most objects there: only the
					// first pass's finds are news.
					r.res.Blobs.Skipped++
				}
				mu.Unlock()
			}
		}()
	}
	listErr := r.from.List(ctx, r.prefix, func(b vault.BlobInfo) error {
		if seen != nil {
			seen[b.Key] = true
		}
		select {
		case jobs <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if listErr != nil {
		return nil, listErr
	}
	if !prune {
		return nil, nil
	}
	var stale []string
	if err := r.to.List(ctx, r.prefix, func(b vault.BlobInfo) error {
		if !seen[b.Key] {
			stale = append(stale, b.Key)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	for _, k := range stale {
		if err := r.to.Delete(ctx, k); err != nil {
			return nil, err
		}
		r.res.Blobs.Removed++
	}
	return seen, nil
}

// Objects of bigObject bytes or more are large; bigAtOnce of them copy at
// once (an S3 store's PutChecked of one holds 2 × 8 MiB of part buffers).
const (
	bigObject = 16 << 20
	bigAtOnce = 2
)

// copyOnce is copyChecked unless this run copied and checked b already
// and the old store lists it unchanged.
func (r *run) copyOnce(ctx context.Context, b vault.BlobInfo) (int64, bool, error) {
	if r.copies.has(b) {
		return 0, false, nil
	}
	n, copied, err := copyChecked(ctx, r.from, r.to, b)
	if err == nil {
		r.copies.add(b)
	}
	return n, copied, err
}

// copyLog records the objects a run copied and checked, as the old store
// listed them. It is safe for concurrent use.
type copyLog struct {
	mu   sync.Mutex
	seen map[string]listed
}

type listed struct {
	size int64
	mod  time.Time
}

func (c *copyLog) has(b vault.BlobInfo) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.seen[b.Key]
	return ok && l.size == b.Size && l.mod.Equal(b.ModTime) && !b.ModTime.IsZero()
}

func (c *copyLog) add(b vault.BlobInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = make(map[string]listed)
	}
	c.seen[b.Key] = listed{b.Size, b.ModTime}
}

// copyChecked copies one object from src to dst unless dst holds it
// already, identical, and checks the copy. It returns the bytes written
// and whether it wrote.
//
// The check: the checksum of the bytes read from src (vault.NewBlobChecksum,
// computed as they stream through) equals the checksum of what dst holds,
// as dst itself tells it (vault.ChecksumStore.PutChecked: an S3 server's
// answer for the bytes it received and verified, a file read back); a dst
// that cannot tell is read back. An object already in dst with the same
// size is identical when its checksum there (kept by dst, or read) equals
// the old object's (kept by src, or read).
func copyChecked(ctx context.Context, src, dst vault.BlobStore, b vault.BlobInfo) (int64, bool, error) {
	if have, err := dst.Stat(ctx, b.Key); err == nil && have.Size == b.Size {
		got, err := checksumOf(ctx, dst, b.Key)
		if err != nil {
			return 0, false, err
		}
		want, err := checksumOf(ctx, src, b.Key)
		if err != nil {
			return 0, false, err
		}
		if got == want {
			return 0, false, nil
		}
	} else if err != nil && !vault.IsCode(err, vault.ENOTFOUND) {
		return 0, false, err
	}
	n, same, err := vault.CopyBlobChecked(ctx, src, dst, b)
	if err != nil {
		return 0, false, err
	}
	if !same {
		return 0, false, vault.Errorf(vault.EUNAVAILABLE, "The copy of an object in the new store differs from the original; rerun the move.")
	}
	return n, true, nil
}

// checksumOf returns the checksum of an object: the one store keeps, when
// it keeps one, or that of its bytes, read.
func checksumOf(ctx context.Context, store vault.BlobStore, key string) (uint64, error) {
	if cs, ok := store.(vault.ChecksumStore); ok {
		_, sum, ok, err := cs.Checksum(ctx, key)
		if err != nil || ok {
			return sum, err
		}
	}
	return readChecksum(ctx, store, key)
}

// readChecksum returns the checksum of an object's bytes, streamed.
func readChecksum(ctx context.Context, store vault.BlobStore, key string) (uint64, error) {
	return vault.ReadBlobChecksum(ctx, store, key)
}
