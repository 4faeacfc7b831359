package mirror

import (
	"context"

	"github.com/casevault/casevault/vault"
)

// copyChecked copies object b from src onto dst, replacing what dst held,
// checked (vault.CopyBlobChecked). Errors: those of the stores, and
// unavailable when the copy differs (it is deleted).
func copyChecked(ctx context.Context, src, dst vault.BlobStore, b vault.BlobInfo) (int64, error) {
	n, same, err := vault.CopyBlobChecked(ctx, src, dst, b)
	if err == nil && !same {
		err = vault.Errorf(vault.EUNAVAILABLE, "The copy of an object on the other site differs from the original.")
	}
	return n, err
}

// readChecksum returns the checksum of an object's bytes, streamed.
func readChecksum(ctx context.Context, st vault.BlobStore, key string) (uint64, error) {
	return vault.ReadBlobChecksum(ctx, st, key)
}
