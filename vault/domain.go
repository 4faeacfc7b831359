package vault

import (
	"crypto/rand"
	"strings"
	"time"
)

// Role is a user's role within one firm.
type Role string

// The roles of a firm's users.
const (
	RoleOwner   Role = "owner"
	RoleAdmin   Role = "admin"
	RoleLawyer  Role = "lawyer"
	RoleAuditor Role = "auditor"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	switch r {
	case RoleOwner, RoleAdmin, RoleLawyer, RoleAuditor:
		return true
	}
	return false
}

// Tenant is a firm. Its region is fixed at creation: every byte of its
// ciphertext lives in that region's store, wrapped by that region's master key.
// Its name is sealed with its own field key.
type Tenant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name,omitempty"` // "" only when Damage says it is unreadable
	Region    string    `json:"region"`
	CreatedAt time.Time `json:"created_at"`
	Damage
}

// User is an account of one firm. An email is unique within its firm only:
// the same address may have an account in several firms, each belonging to
// its firm alone, and nothing one firm does with an address reveals or
// blocks another firm's account. Email and Name are sealed with the firm's
// field key; the store finds a user by email only through EmailIndex.
type User struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	Email    string `json:"email,omitempty"` // "" only when Damage says it is unreadable
	Name     string `json:"name,omitempty"`  // likewise
	// EmailIndex is the keyed blind index of the email (see EmailIndex),
	// unique within the firm.
	EmailIndex   []byte    `json:"-"`
	Role         Role      `json:"role"`
	PasswordHash string    `json:"-"`
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`

	// MustChangePassword is set by a password reset: until the user
	// changes the one-time password, they may only do that or sign out.
	MustChangePassword bool `json:"must_change_password"`
	// MFAEnrolmentRequired is set by Authenticate when the firm's MFA
	// policy applies to the user, who has no second factor and did not sign
	// in through the firm's single sign-on: until they enrol one, they may
	// only enrol, read their own account and sign out.
	MFAEnrolmentRequired bool `json:"mfa_enrolment_required,omitempty"`
	// CreatedBy is the user who created the account, ActorOperator, or ""
	// for an account older than this record.
	CreatedBy string `json:"created_by,omitempty"`
	// Lineage says who gave the account its password and its power; the
	// wall rules (see RemoveWall) read it.
	Lineage
	Damage
}

// Lineage records who last handed an account its password and its power,
// so that an account a walled user controls never counts as independent of
// them. Each By is a user id, ActorOperator, or "" when unknown (accounts
// older than this record).
type Lineage struct {
	// CredentialsBy issued the current password (the creator, or whoever
	// last reset it) at CredentialsAt. A user changing their own password
	// changes neither: whoever knew the old one may have changed it.
	CredentialsBy string    `json:"-"`
	CredentialsAt time.Time `json:"-"`
	// PromotedBy last raised the account's role (to admin or owner) or
	// enabled it, at PromotedAt; the creator until then.
	PromotedBy string    `json:"-"`
	PromotedAt time.Time `json:"-"`
}

// FirmChoice is one firm a sign-in may continue into, offered (with the
// error code ECHOOSEFIRM) when an email and password open accounts in
// several firms.
type FirmChoice struct {
	TenantID string `json:"tenant_id"`
	Name     string `json:"name"` // "" when the firm's name cannot be decrypted
}

// Matter is a client matter: a folder of documents. Name and Client are
// client-confidential and stored encrypted with the firm's field key. A
// closed matter is read-only: its documents can be read but not changed,
// and nothing is added to it or moved out of it.
type Matter struct {
	ID        string     `json:"id"`
	TenantID  string     `json:"tenant_id"`
	Name      string     `json:"name,omitempty"`   // "" only when Damage says it is unreadable
	Client    string     `json:"client,omitempty"` // likewise
	Closed    bool       `json:"closed"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	Damage
}

// Document is a named document in a matter. Name and ContentType are
// stored encrypted. The content lives in versions; CurrentVersion is the
// newest one.
type Document struct {
	ID             string     `json:"id"`
	TenantID       string     `json:"tenant_id"`
	MatterID       string     `json:"matter_id"`
	Name           string     `json:"name,omitempty"` // "" only when Damage says it is unreadable
	ContentType    string     `json:"content_type"`
	CurrentVersion int        `json:"version"`
	Size           int64      `json:"size"` // plaintext size of the current version
	Trashed        bool       `json:"trashed"`
	TrashedAt      *time.Time `json:"trashed_at,omitempty"`
	CreatedBy      string     `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	Damage
}

// Version is one immutable content version of a document.
type Version struct {
	TenantID   string `json:"-"`
	DocumentID string `json:"document_id"`
	Number     int    `json:"version"`
	// Sealed describes the ciphertext: sizes, part size and the key that
	// encrypted it.
	Sealed
	BlobKey     string    `json:"-"`
	ContentType string    `json:"content_type"` // sealed; "" when Damage says it is unreadable
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	Damage
}

// Sealed describes one encrypted blob as written by a DocumentCipher.
type Sealed struct {
	Size           int64  `json:"size"`            // plaintext bytes
	CiphertextSize int64  `json:"ciphertext_size"` // bytes in the blob store
	PartSize       int    `json:"-"`               // plaintext bytes per part
	PartCipherSize int    `json:"-"`               // ciphertext bytes per full part
	KeyID          uint32 `json:"key_id"`          // primary key id at encryption time
}

// DocRef names the immutable identity that a document version's ciphertext is
// bound to. It never holds names or storage keys.
type DocRef struct {
	TenantID   string
	DocumentID string
	Version    int
}

// PendingBlob records a blob that is being written and is not yet part of any
// committed version. Rows left behind by a crash let the janitor delete
// orphans.
type PendingBlob struct {
	Key       string
	TenantID  string
	Region    string
	CreatedAt time.Time
}

// ID prefixes, so an id says what it names.
const (
	PrefixTenant   = "ten"
	PrefixUser     = "usr"
	PrefixMatter   = "mat"
	PrefixDocument = "doc"
	PrefixBlob     = "blb"
	PrefixGrant    = "grt"
	PrefixExport   = "exp"
)

// NewID returns a new random 128-bit identifier with the given prefix,
// like "doc_mfrggzdfmztwq2lknnwg23tpob".
func NewID(prefix string) string {
	return prefix + "_" + strings.ToLower(rand.Text())
}

// ValidID reports whether id looks like an id made by NewID with prefix. It
// lets callers reject garbage before it reaches a query.
func ValidID(prefix, id string) bool {
	rest, ok := strings.CutPrefix(id, prefix+"_")
	if !ok || len(rest) != 26 {
		return false
	}
	for _, c := range rest {
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}
