package fs

import (
	"context"
	"errors"
	"io"

	"github.com/casevault/casevault/vault"
)

var _ vault.ChecksumStore = (*Store)(nil)

// PutChecked is Put, then reads the file back from the disk (after Put's
// fsync) and returns its checksum (vault.NewBlobChecksum), so the caller
// learns what the file holds, not what it meant to write. The bytes are
// written by this process: a local read-back is the cheap check. When the
// read-back fails, the new file is deleted (the object it replaced is gone
// all the same). Errors: those of Put and Checksum.
func (s *Store) PutChecked(ctx context.Context, key string, r io.Reader, size int64) (int64, uint64, error) {
	n, err := s.Put(ctx, key, r, size)
	if err != nil {
		return 0, 0, err
	}
	_, sum, _, err := s.Checksum(ctx, key)
	if err != nil {
		// Unchecked, the new object is not kept.
		_ = s.Delete(context.WithoutCancel(ctx), key)
		return 0, 0, err
	}
	return n, sum, nil
}

// Checksum reads the file of key and returns its size and checksum; the
// fs store keeps no checksum, so it always reads, and always knows one.
// Errors: invalid (bad key), not_found, unavailable.
func (s *Store) Checksum(ctx context.Context, key string) (vault.BlobInfo, uint64, bool, error) {
	info, err := s.Stat(ctx, key)
	if err != nil {
		return vault.BlobInfo{}, 0, false, err
	}
	rc, err := s.Get(ctx, key, 0, -1)
	if err != nil {
		return vault.BlobInfo{}, 0, false, err
	}
	defer rc.Close()
	h := vault.NewBlobChecksum()
	n, err := io.CopyBuffer(h, &readerFrom{ctx: ctx, r: rc}, make([]byte, copyBufferSize))
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return vault.BlobInfo{}, 0, false, ctxError(err)
	case err != nil:
		return vault.BlobInfo{}, 0, false, vault.WrapError(vault.EUNAVAILABLE, err, "Cannot read the object.")
	}
	info.Size = n
	return info, h.Sum64(), true, nil
}
