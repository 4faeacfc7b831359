package mirror_test

import (
	"context"
	"io"
	"sync/atomic"

	"github.com/casevault/casevault/vault"
)

// flaky wraps a real store and fails on demand: the whole site down, a
// Put that stops after some bytes, a read that breaks after some bytes.
// For the fan-out's and the fallback's logic only; the MinIO tests in
// cmd/casevault kill real servers.
type flaky struct {
	vault.ChecksumStore
	down         atomic.Bool
	putFailAt    atomic.Int64 // > 0: Put fails after this many bytes
	getBreakAt   atomic.Int64 // > 0: a Get's reader fails after this many bytes
	putsStarted  atomic.Int64
	putFailAtEnd atomic.Bool // Put reads the whole stream, then fails, keeping nothing
	deleteDown   atomic.Bool // Delete fails
}

func unavailable() error { return vault.Errorf(vault.EUNAVAILABLE, "Site down.") }

func (f *flaky) Put(ctx context.Context, key string, r io.Reader, size int64) (int64, error) {
	f.putsStarted.Add(1)
	if f.down.Load() {
		return 0, unavailable()
	}
	if n := f.putFailAt.Load(); n > 0 {
		r = &failAfter{r: r, n: n}
	}
	if f.putFailAtEnd.Load() {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return 0, err
		}
		return 0, unavailable()
	}
	return f.ChecksumStore.Put(ctx, key, r, size)
}

func (f *flaky) PutChecked(ctx context.Context, key string, r io.Reader, size int64) (int64, uint64, error) {
	if f.down.Load() {
		return 0, 0, unavailable()
	}
	return f.ChecksumStore.PutChecked(ctx, key, r, size)
}

func (f *flaky) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if f.down.Load() {
		return nil, unavailable()
	}
	rc, err := f.ChecksumStore.Get(ctx, key, off, n)
	if err != nil {
		return nil, err
	}
	if k := f.getBreakAt.Load(); k > 0 {
		return &breakAfter{rc: rc, n: k}, nil
	}
	return rc, nil
}

func (f *flaky) Stat(ctx context.Context, key string) (vault.BlobInfo, error) {
	if f.down.Load() {
		return vault.BlobInfo{}, unavailable()
	}
	return f.ChecksumStore.Stat(ctx, key)
}

func (f *flaky) Checksum(ctx context.Context, key string) (vault.BlobInfo, uint64, bool, error) {
	if f.down.Load() {
		return vault.BlobInfo{}, 0, false, unavailable()
	}
	return f.ChecksumStore.Checksum(ctx, key)
}

func (f *flaky) Delete(ctx context.Context, key string) error {
	if f.down.Load() || f.deleteDown.Load() {
		return unavailable()
	}
	return f.ChecksumStore.Delete(ctx, key)
}

func (f *flaky) List(ctx context.Context, prefix string, fn func(vault.BlobInfo) error) error {
	if f.down.Load() {
		return unavailable()
	}
	return f.ChecksumStore.List(ctx, prefix, fn)
}

func (f *flaky) Ping(ctx context.Context) error {
	if f.down.Load() {
		return unavailable()
	}
	return f.ChecksumStore.Ping(ctx)
}

// failAfter fails a Put's source after n bytes, as a dying connection does.
type failAfter struct {
	r io.Reader
	n int64
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, unavailable()
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

// breakAfter is a reader that fails after n bytes.
type breakAfter struct {
	rc io.ReadCloser
	n  int64
}

func (b *breakAfter) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, vault.Errorf(vault.EUNAVAILABLE, "Connection reset.")
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.rc.Read(p)
	b.n -= int64(n)
	return n, err
}

func (b *breakAfter) Close() error { return b.rc.Close() }
