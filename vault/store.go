package vault

import (
	"context"
	"time"
)

// DocumentFilter selects documents in one firm.
type DocumentFilter struct {
	MatterID       string // "" for every matter
	IncludeTrashed bool
	OnlyTrashed    bool
}

// Store is the metadata store: firms, users, matters, documents and versions.
// Implemented by vault/sqlite. Every lookup is scoped by tenant: asking for an
// object of another firm answers not_found, exactly as for a missing one.
// Confidential fields (matter name and client, document name) are sealed with
// the firm's FieldSealer before they are written and opened when read.
type Store interface {
	KeysetStore

	// CreateTenant inserts the firm, its wrapped keysets and its owner in
	// one transaction. Errors: conflict (owner email taken), invalid.
	CreateTenant(ctx context.Context, t *Tenant, ks TenantKeysets, owner *User) error
	// Tenant returns one firm. Errors: not_found.
	Tenant(ctx context.Context, id string) (*Tenant, error)
	// Tenants returns every firm, oldest first.
	Tenants(ctx context.Context) ([]*Tenant, error)

	// CreateUser inserts a user. Errors: conflict (email taken), not_found
	// (tenant).
	CreateUser(ctx context.Context, u *User) error
	// User returns a user of tenantID. Errors: not_found.
	User(ctx context.Context, tenantID, id string) (*User, error)
	// UserByEmail returns the user with that email (case-insensitive), in
	// any firm. Errors: not_found.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// Users returns the users of a firm, oldest first.
	Users(ctx context.Context, tenantID string) ([]*User, error)
	// UpdateUser saves name, role, password hash and disabled flag.
	// Errors: not_found.
	UpdateUser(ctx context.Context, u *User) error

	// CreateMatter inserts a matter. Errors: not_found (tenant).
	CreateMatter(ctx context.Context, m *Matter) error
	// Matter returns a matter of tenantID. Errors: not_found.
	Matter(ctx context.Context, tenantID, id string) (*Matter, error)
	// Matters returns the matters of a firm, oldest first.
	Matters(ctx context.Context, tenantID string) ([]*Matter, error)

	// CreatePendingBlob records a blob about to be written.
	CreatePendingBlob(ctx context.Context, p PendingBlob) error
	// DeletePendingBlob forgets a pending blob; missing is not an error.
	DeletePendingBlob(ctx context.Context, key string) error
	// PendingBlobs returns pending blobs created before olderThan.
	PendingBlobs(ctx context.Context, olderThan time.Time) ([]PendingBlob, error)

	// CreateDocument inserts a document with its first version (d's
	// CurrentVersion must equal v.Number, 1) and clears v's pending-blob
	// record, in one transaction. Errors: not_found (matter), conflict.
	CreateDocument(ctx context.Context, d *Document, v *Version) error
	// AddVersion inserts v as the document's next version (v.Number must be
	// the current version plus one), makes it current and clears its
	// pending-blob record, in one transaction. Errors: not_found, conflict
	// (another version won the race).
	AddVersion(ctx context.Context, v *Version) error
	// Document returns a document of tenantID, trashed or not.
	// Errors: not_found.
	Document(ctx context.Context, tenantID, id string) (*Document, error)
	// Documents returns a firm's documents matching f, oldest first.
	Documents(ctx context.Context, tenantID string, f DocumentFilter) ([]*Document, error)
	// UpdateDocument saves name, matter, trashed flag and updated time.
	// Errors: not_found (document or target matter).
	UpdateDocument(ctx context.Context, d *Document) error
	// Version returns version n of a document. Errors: not_found.
	Version(ctx context.Context, tenantID, documentID string, n int) (*Version, error)
	// Versions returns every version of a document, oldest first.
	Versions(ctx context.Context, tenantID, documentID string) ([]*Version, error)

	// Ping checks that the database answers. Errors: unavailable.
	Ping(ctx context.Context) error
}
