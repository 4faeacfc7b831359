package vault

import (
	"context"
	"io"
	"sync/atomic"
)

// AlternateReader is implemented by a BlobStore that holds every object on
// two sites (vault/mirror). Every part of a document is authenticated as
// it is decrypted; when a part read through Get fails, the reader asks for
// the same bytes from the other site, and a copy that authenticates there
// is served and the damaged one repaired.
type AlternateReader interface {
	// GetAlternate is Get from the other site than the one that served
	// the read traced in ctx (WithReadTrace), or, with no trace, than the
	// one Get reads first. Errors: as Get.
	GetAlternate(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	// RepairFromAlternate notes that the copy of key that served the read
	// traced in ctx (or, with no trace, the one Get reads first) failed
	// authentication where the other site's passed: the store re-copies
	// the object from the other site onto it, in the background, and
	// keeps it pending (for scrub) when that cannot complete.
	RepairFromAlternate(ctx context.Context, key string)
}

// ReadTrace records which of a blob's copies served a read through Get,
// for a store that holds two (vault/mirror): when a part of it fails to
// authenticate, that copy is the damaged one, and only the other may be
// copied over it — whichever site the store would read first by then. It
// is safe for concurrent use; the last copy noted wins.
//
// The copy a part was re-read from (NoteAlternate) is the one a repair
// copies from: only a copy that authenticated is ever copied over another.
type ReadTrace struct{ site, alt atomic.Int32 } // 0: none yet; else the site + 1

// Note records that site served the read.
func (t *ReadTrace) Note(site int) { t.site.Store(int32(site) + 1) }

// Site returns the site noted last, and false before any.
func (t *ReadTrace) Site() (int, bool) {
	v := t.site.Load()
	return int(v) - 1, v > 0
}

// NoteAlternate records that a part was re-read from site.
func (t *ReadTrace) NoteAlternate(site int) { t.alt.Store(int32(site) + 1) }

// Alternate returns the site a part was re-read from last, and false
// before any.
func (t *ReadTrace) Alternate() (int, bool) {
	v := t.alt.Load()
	return int(v) - 1, v > 0
}

type readTraceKey struct{}

// WithReadTrace returns ctx carrying t: Get of a two-site store notes in
// it which site served.
func WithReadTrace(ctx context.Context, t *ReadTrace) context.Context {
	return context.WithValue(ctx, readTraceKey{}, t)
}

// ReadTraceFrom returns the ReadTrace ctx carries, or nil.
func ReadTraceFrom(ctx context.Context) *ReadTrace {
	t, _ := ctx.Value(readTraceKey{}).(*ReadTrace)
	return t
}

// AlternateFetch is a second source of a blob's ciphertext for
// DocumentCipher.DecryptRange, carried by its context (WithAlternateFetch):
// a part (or the header) that fails to authenticate from the first
// fetcher is fetched again from Fetch, and when that copy authenticates,
// Served is called once and the read goes on.
type AlternateFetch struct {
	Fetch  RangeFetcher
	Served func()
}

type alternateKey struct{}

// WithAlternateFetch returns ctx carrying a.
func WithAlternateFetch(ctx context.Context, a AlternateFetch) context.Context {
	return context.WithValue(ctx, alternateKey{}, a)
}

// AlternateFetchFrom returns the AlternateFetch ctx carries, if any.
func AlternateFetchFrom(ctx context.Context) (AlternateFetch, bool) {
	a, ok := ctx.Value(alternateKey{}).(AlternateFetch)
	return a, ok && a.Fetch != nil
}
