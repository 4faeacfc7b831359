package vault

import (
	"context"
	"io"
)

// AlternateReader is implemented by a BlobStore that holds every object on
// two sites (vault/mirror). Every part of a document is authenticated as
// it is decrypted; when a part read through Get fails, the reader asks for
// the same bytes from the other site, and a copy that authenticates there
// is served and the damaged one repaired.
type AlternateReader interface {
	// GetAlternate is Get from the site other than the one Get reads
	// first. Errors: as Get.
	GetAlternate(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	// RepairFromAlternate notes that the copy of key Get reads first
	// failed authentication where the other site's passed: the store
	// re-copies the object from the other site, in the background, and
	// keeps it pending (for scrub) when that cannot complete.
	RepairFromAlternate(key string)
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
