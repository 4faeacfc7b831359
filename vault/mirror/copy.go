package mirror

import (
	"context"
	"io"

	"github.com/casevault/casevault/vault"
)

// copyChecked copies object b from src onto dst, replacing what dst held,
// and checks the copy: the checksum of the bytes read from src (computed
// as they stream through) must equal the checksum dst tells of what it
// now holds (vault.ChecksumStore.PutChecked), or of the copy read back.
// A copy that differs is deleted. Errors: those of the stores, and
// unavailable when the copy differs.
func copyChecked(ctx context.Context, src, dst vault.BlobStore, b vault.BlobInfo) (int64, error) {
	rc, err := src.Get(ctx, b.Key, 0, -1)
	if err != nil {
		return 0, err
	}
	h := vault.NewBlobChecksum()
	in := io.TeeReader(rc, h)
	var (
		n   int64
		got uint64
	)
	if cs, ok := dst.(vault.ChecksumStore); ok {
		n, got, err = cs.PutChecked(ctx, b.Key, in, b.Size)
		rc.Close()
	} else {
		n, err = dst.Put(ctx, b.Key, in, b.Size)
		rc.Close()
		if err == nil {
			got, err = readChecksum(ctx, dst, b.Key)
		}
	}
	if err != nil {
		return 0, err
	}
	if n != b.Size || got != h.Sum64() {
		dst.Delete(context.WithoutCancel(ctx), b.Key)
		return 0, vault.Errorf(vault.EUNAVAILABLE, "The copy of an object on the other site differs from the original.")
	}
	return n, nil
}

// readChecksum returns the checksum of an object's bytes, streamed.
func readChecksum(ctx context.Context, st vault.BlobStore, key string) (uint64, error) {
	rc, err := st.Get(ctx, key, 0, -1)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	h := vault.NewBlobChecksum()
	bp := chunks.Get().(*[]byte)
	defer chunks.Put(bp)
	if _, err := io.CopyBuffer(h, rc, *bp); err != nil {
		return 0, vault.WrapError(vault.EUNAVAILABLE, err, "Cannot read an object.")
	}
	return h.Sum64(), nil
}
