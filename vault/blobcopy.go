package vault

import (
	"context"
	"io"
	"sync"
)

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// CopyBlobChecked copies object b from src onto dst, replacing what dst
// held, and checks the copy: the checksum of the bytes read from src
// (NewBlobChecksum, computed as they stream through) must equal the
// checksum dst tells of what it now holds (ChecksumStore.PutChecked: an S3
// server's answer for the bytes it received and verified, a file read
// back), or, from a dst that cannot tell, that of the copy read back. A
// copy that differs is deleted and reported by same false, with no error;
// the caller says what to do about it (a move, a mirror's repair).
// Errors: those of the stores.
func CopyBlobChecked(ctx context.Context, src, dst BlobStore, b BlobInfo) (n int64, same bool, err error) {
	rc, err := src.Get(ctx, b.Key, 0, -1)
	if err != nil {
		return 0, false, err
	}
	h := NewBlobChecksum()
	in := io.TeeReader(rc, h)
	var got uint64
	if cs, ok := dst.(ChecksumStore); ok {
		n, got, err = cs.PutChecked(ctx, b.Key, in, b.Size)
		rc.Close()
	} else {
		n, err = dst.Put(ctx, b.Key, in, b.Size)
		rc.Close()
		if err == nil {
			got, err = ReadBlobChecksum(ctx, dst, b.Key)
		}
	}
	if err != nil {
		return 0, false, err
	}
	if n != b.Size || got != h.Sum64() {
		dst.Delete(context.WithoutCancel(ctx), b.Key)
		return 0, false, nil
	}
	return n, true, nil
}

// ReadBlobChecksum returns the checksum (NewBlobChecksum) of an object's
// bytes, read through. Errors: those of Get, unavailable (a failed read).
func ReadBlobChecksum(ctx context.Context, st BlobStore, key string) (uint64, error) {
	rc, err := st.Get(ctx, key, 0, -1)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	h := NewBlobChecksum()
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	if _, err := io.CopyBuffer(h, rc, *bp); err != nil {
		return 0, WrapError(EUNAVAILABLE, err, "Cannot read an object.")
	}
	return h.Sum64(), nil
}
