package vault

import (
	"context"
	"hash"
	"io"
	"time"

	"github.com/minio/crc64nvme"
)

// BlobInfo describes one stored object.
type BlobInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// BlobStore stores ciphertext objects for one region. Implementations:
// vault/fs (a local directory) and vault/s3 (any S3-compatible server).
// Keys are slash-separated and made only of [a-z0-9_/-] (ValidBlobKey);
// they never carry names, and no key is a prefix directory of another (the
// fs store cannot hold both "a" and "a/b"). A store never sees plaintext.
type BlobStore interface {
	// Put stores the bytes read from r under key. size is the exact number of
	// bytes r yields, or -1 when unknown; memory use stays bounded either
	// way. The object becomes visible only when complete: a failed or
	// cancelled Put leaves nothing new under key (Put on an existing key
	// replaces it atomically). Returns the bytes stored.
	// Errors: invalid (bad key, size mismatch), unavailable (also for a
	// cancelled ctx), internal.
	Put(ctx context.Context, key string, r io.Reader, size int64) (int64, error)

	// Get returns length bytes starting at offset; length < 0 reads to the
	// end, and a range past the end is cut there (offset == size yields no
	// bytes). Errors: not_found, invalid (bad key, offset beyond the end),
	// unavailable.
	Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)

	// Stat returns the object's size. Errors: not_found, invalid (bad key),
	// unavailable.
	Stat(ctx context.Context, key string) (BlobInfo, error)

	// Delete removes key. Deleting a missing key is not an error.
	// Errors: invalid (bad key), unavailable, internal.
	Delete(ctx context.Context, key string) error

	// List calls fn for every object whose key starts with prefix, in key
	// order, stopping at fn's first error. Errors: invalid (bad prefix),
	// unavailable, internal.
	List(ctx context.Context, prefix string, fn func(BlobInfo) error) error

	// Ping checks that the store is reachable and writable.
	// Errors: unavailable.
	Ping(ctx context.Context) error
}

// ChecksumStore is a BlobStore that tells, as it stores an object, a
// checksum of the bytes it now holds, computed on its own side: a move
// (package move) checks each copy against the checksum of the bytes it
// read from the old store without reading the copy back. The checksum is
// CRC-64/NVME over the whole object (NewBlobChecksum; S3's full-object
// CRC64NVME). vault/fs and vault/s3 implement it.
type ChecksumStore interface {
	BlobStore

	// PutChecked is Put, and also returns the checksum of the object as
	// the store holds it once stored: vault/s3 sends the checksum with the
	// bytes, the server refuses them when the bytes it received do not
	// match (BadDigest), and PutChecked returns the checksum the server
	// answers (or, from a server that answers none and for a size of -1,
	// that of the object read back); vault/fs reads the file back after
	// its fsync. A PutChecked that fails keeps nothing under key (an
	// object it replaced is gone all the same). Errors: those of Put.
	PutChecked(ctx context.Context, key string, r io.Reader, size int64) (int64, uint64, error)

	// Checksum returns the object's size and checksum as the store holds
	// it, and false when the store keeps none for it (vault/s3: an object
	// not stored by PutChecked with its size given). Errors: not_found, invalid (bad key),
	// unavailable.
	Checksum(ctx context.Context, key string) (BlobInfo, uint64, bool, error)
}

// NewBlobChecksum returns a hash of ChecksumStore's checksum: CRC-64/NVME,
// the polynomial S3 calls CRC64NVME, over the whole object.
func NewBlobChecksum() hash.Hash64 { return crc64nvme.New() }

// Region is a residency region: a name such as "us" or "ca" and the one blob
// store that holds the ciphertext of the firms that live there.
type Region struct {
	Name  string
	Store BlobStore
}

// MemoryBudget describes a bound on memory that grows with the number of
// transfers at once (an S3 store's upload buffers, the key manager's
// read-ahead), for monitoring.
type MemoryBudget struct {
	Limit   int64 // bytes
	InUse   int64 // bytes held now
	Waiting int64 // transfers waiting for memory now (uploads only)
	Denied  int64 // transfers that went ahead without the extra memory, since start (read-ahead only)
}
