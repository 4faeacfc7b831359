package s3

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"io"

	"github.com/minio/minio-go/v7"

	"github.com/casevault/casevault/vault"
)

var _ vault.ChecksumStore = (*Store)(nil)

// checkedStreams is how many part buffers a PutChecked of a large object
// fills and sends at once: two, one filling while the other goes up.
const checkedStreams = 2

// PutChecked is Put with a full-object CRC64NVME checksum
// (vault.NewBlobChecksum) computed by minio-go from the bytes as it sends
// them: after the body of a single PUT (a trailer), or with each part of
// a multipart upload and, merged, with its completion. The server
// computes the checksum of what it received and refuses the upload
// (BadDigest) when the two differ; PutChecked returns the checksum the
// server answers, and the server keeps it with the object (Checksum).
// From a server that answers none (and for an object of unknown size,
// size -1), it reads the object back and returns the checksum of what it
// reads. An object larger than a part goes up from checkedStreams part
// buffers at once, its known size notwithstanding, so that reading its
// next part (from another store, say) overlaps sending the last; it takes
// that much of UploadMemory. The body is sent unsigned (UNSIGNED-PAYLOAD, as minio-go always
// does over TLS): the checksum covers it. Errors: those of Put.
func (s *Store) PutChecked(ctx context.Context, key string, r io.Reader, size int64) (int64, uint64, error) {
	if size < 0 {
		// minio-go's checksum of an upload of unknown size goes wrong
		// when the stream is empty; read such an object back instead.
		n, err := s.Put(ctx, key, r, size)
		if err != nil {
			return 0, 0, err
		}
		_, sum, err := s.readChecksum(ctx, key)
		if err != nil {
			s.discard(ctx, key)
			return 0, 0, err
		}
		return n, sum, nil
	}
	// The checksum covers the body, so the body need not be signed too
	// (over TLS minio-go never signs it): no SHA-256 of every chunk.
	opts := minio.PutObjectOptions{Checksum: minio.ChecksumCRC64NVME, DisableContentSha256: true}
	n, info, err := s.put(ctx, s.checked, key, r, size, checkedStreams, opts)
	if err != nil {
		return 0, 0, err
	}
	if sum, ok := decodeCRC64(info.ChecksumCRC64NVME); ok {
		return n, sum, nil
	}
	_, sum, err := s.readChecksum(ctx, key)
	if err != nil {
		s.discard(ctx, key)
		return 0, 0, err
	}
	return n, sum, nil
}

// discard deletes an object stored but left unchecked: a failed
// PutChecked keeps nothing under key (the object it replaced is gone all
// the same).
func (s *Store) discard(ctx context.Context, key string) {
	_ = s.client.RemoveObject(context.WithoutCancel(ctx), s.bucket, key, minio.RemoveObjectOptions{})
}

// Checksum returns the object's size and the full-object CRC64NVME the
// server keeps with it (a HEAD request with x-amz-checksum-mode), and
// false when it keeps none: an object not stored by PutChecked. It does
// not read the object (an empty one's is known without). Errors: invalid (bad key), not_found, unavailable.
func (s *Store) Checksum(ctx context.Context, key string) (vault.BlobInfo, uint64, bool, error) {
	if err := vault.CheckBlobKey(key); err != nil {
		return vault.BlobInfo{}, 0, false, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{Checksum: true})
	if err != nil {
		return vault.BlobInfo{}, 0, false, mapError(err, "Cannot read the object.")
	}
	info := vault.BlobInfo{Key: key, Size: oi.Size, ModTime: oi.LastModified.UTC()}
	if oi.Size == 0 {
		return info, 0, true, nil // no bytes, no checksum sent: known all the same
	}
	if oi.ChecksumMode != "" && oi.ChecksumMode != minio.ChecksumFullObjectMode.String() {
		return info, 0, false, nil
	}
	sum, ok := decodeCRC64(oi.ChecksumCRC64NVME)
	return info, sum, ok, nil
}

// readChecksum reads the object and returns its size and checksum.
func (s *Store) readChecksum(ctx context.Context, key string) (int64, uint64, error) {
	rc, err := s.Get(ctx, key, 0, -1)
	if err != nil {
		return 0, 0, err
	}
	defer rc.Close()
	h := vault.NewBlobChecksum()
	n, err := io.Copy(h, rc)
	if err != nil {
		return 0, 0, mapError(err, "Cannot read the object.")
	}
	return n, h.Sum64(), nil
}

// decodeCRC64 decodes S3's base64 of a CRC64NVME (8 bytes, big-endian).
func decodeCRC64(s string) (uint64, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(b), true
}
