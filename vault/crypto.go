package vault

import (
	"context"
	"io"
	"strings"
)

// TenantKeysets holds a firm's keysets, each wrapped by its region's master
// key with the tenant and region bound as associated data. Only package keys
// can unwrap them.
type TenantKeysets struct {
	Document []byte // streaming-AEAD keyset for document bytes
	Field    []byte // AEAD keyset for confidential database fields
}

// FieldRef names the database cell a sealed field belongs to. It is bound to
// the ciphertext as associated data, so a value copied to another row, column
// or firm fails to open.
type FieldRef struct {
	Table  string
	Column string
	RowID  string
}

// FieldSealer encrypts and decrypts confidential database fields with a
// firm's field key.
type FieldSealer interface {
	// SealField encrypts plaintext for the cell ref of tenantID.
	// Errors: not_found (unknown tenant), cannot_decrypt (the firm's keysets
	// do not unwrap), unavailable, internal.
	SealField(ctx context.Context, tenantID string, ref FieldRef, plaintext string) ([]byte, error)
	// OpenField decrypts a sealed field. Errors: cannot_decrypt (tampered,
	// moved, or keys destroyed), not_found (unknown tenant), internal.
	OpenField(ctx context.Context, tenantID string, ref FieldRef, ciphertext []byte) (string, error)
}

// RangeFetcher returns the ciphertext bytes [offset, offset+length) of a blob.
type RangeFetcher func(ctx context.Context, offset, length int64) (io.ReadCloser, error)

// DocumentCipher encrypts document bytes with a firm's streaming-AEAD key in
// independently authenticated parts (docs/FORMAT.md), so that uploads of any
// length stream in constant memory and a byte range decrypts only the parts
// it overlaps.
type DocumentCipher interface {
	// EncryptDocument reads plaintext from src until EOF and writes the
	// ciphertext to dst. Errors: invalid (bad ref), not_found (unknown
	// tenant), cannot_decrypt (the firm's keysets do not unwrap), internal,
	// or the error of src or dst.
	EncryptDocument(ctx context.Context, ref DocRef, src io.Reader, dst io.Writer) (Sealed, error)

	// DecryptRange returns a reader of plaintext bytes [offset, offset+length)
	// of the blob described by s, fetching only the ciphertext of the parts
	// the range overlaps. A part's plaintext is released only after the
	// whole part authenticates. Damage in the header or the first part
	// fails the call itself; damage further on fails Read. When ctx
	// carries an AlternateFetch (a store with a second site), a part or
	// header that fails is fetched from it and served if it authenticates
	// there. Errors: invalid
	// (range out of bounds), not_found, cannot_decrypt, unavailable (store).
	DecryptRange(ctx context.Context, ref DocRef, s Sealed, offset, length int64, fetch RangeFetcher) (io.ReadCloser, error)
}

// KeyManager is the whole key boundary the Service needs. Implemented by
// keys.Manager.
type KeyManager interface {
	FieldSealer
	DocumentCipher

	// NewTenantKeysets generates fresh keysets for a new firm and returns
	// them wrapped by region's master key. Nothing is stored.
	// Errors: invalid (unknown region), unavailable, internal.
	NewTenantKeysets(ctx context.Context, tenantID, region string) (TenantKeysets, error)

	// RotateTenantKeys adds a new primary key to both of the firm's keysets
	// and stores them; data written before still decrypts.
	// Errors: not_found, conflict (concurrent rotation), internal.
	RotateTenantKeys(ctx context.Context, tenantID string) error
}

// KeysetStore is where wrapped keysets live; implemented by vault/sqlite and
// used by package keys.
type KeysetStore interface {
	// TenantKeysets returns the tenant's region and its wrapped keysets.
	// Errors: not_found.
	TenantKeysets(ctx context.Context, tenantID string) (region string, ks TenantKeysets, err error)
	// ReplaceTenantKeysets stores next in place of prev, atomically, failing
	// with conflict if the stored keysets are no longer prev.
	// Errors: not_found, conflict.
	ReplaceTenantKeysets(ctx context.Context, tenantID string, prev, next TenantKeysets) error
}

// Purposes of keyed blind indexes, so that an index of one kind of value
// never equals an index of another.
const (
	IndexEmail  = "email"  // a normalised email address
	IndexSource = "source" // a client address, as sourceKey normalises it
	IndexLogin  = "login"  // a sign-in throttle key: account and source
)

// Indexer computes keyed blind indexes: deterministic keyed hashes
// (HMAC-SHA256 under a key wrapped by a region's master key) that let the
// database find a row by a value it never stores, such as a user by email.
// Without the key an index reveals nothing about the value and cannot be
// tested against guesses. Implemented by keys.Indexer.
type Indexer interface {
	// Index returns the 32-byte index of value for purpose under region's
	// index key, or under the service-wide index key when region is "".
	// Errors: invalid (unknown region or purpose), unavailable, internal.
	Index(ctx context.Context, region, purpose, value string) ([]byte, error)
	// Regions returns the regions that have an index key, sorted.
	Regions() []string
}

// EmailIndex returns the blind index by which the store finds the users of
// region's firms with email: the IndexEmail index, under region's key, of
// the address trimmed and lower-cased (the form cleanEmail stores). An
// address has one index per region, and the same index in every firm of a
// region, which is what the store's uniqueness within a firm and sign-in
// across firms rely on. Errors: as Indexer.Index.
func EmailIndex(ctx context.Context, ix Indexer, region, email string) ([]byte, error) {
	if ix == nil {
		return nil, Errorf(EINTERNAL, "Blind indexer is not configured.")
	}
	return ix.Index(ctx, region, IndexEmail, normalEmail(email))
}

// normalEmail is the form of an address that is indexed and compared.
func normalEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }
