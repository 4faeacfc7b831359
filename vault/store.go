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

// Store is the metadata store: firms, users, sign-in tokens, matters,
// documents and versions. Implemented by vault/sqlite. Every lookup is scoped
// by tenant: asking for an object of another firm answers not_found, exactly
// as for a missing one.
// Every identifying string — firm names, users' emails and names, token
// names, matter names and clients, document names and content types — is
// sealed with the firm's FieldSealer before it is written and opened when
// read; a field that does not open is left "" and marked in its object's
// Damage, so one damaged row never fails a listing. Users are found by
// email only through their EmailIndex.
type Store interface {
	KeysetStore

	// CreateTenant inserts the firm, its wrapped keysets and its owner in
	// one transaction, sealing the firm's name and the owner's email and
	// name with the new keysets. Errors: invalid.
	CreateTenant(ctx context.Context, t *Tenant, ks TenantKeysets, owner *User) error
	// Tenant returns one firm. Errors: not_found.
	Tenant(ctx context.Context, id string) (*Tenant, error)
	// Tenants returns every firm, oldest first.
	Tenants(ctx context.Context) ([]*Tenant, error)

	// CreateUser inserts a user (EmailIndex required) and, in the same
	// transaction, walls on that user (those it inherits from its walled
	// creator). Errors: conflict (a user of the same firm has the same
	// EmailIndex; users of other firms never conflict), not_found (tenant,
	// a wall's matter), invalid.
	CreateUser(ctx context.Context, u *User, walls ...*Wall) error
	// User returns a user of tenantID. Errors: not_found.
	User(ctx context.Context, tenantID, id string) (*User, error)
	// UsersByEmailIndex returns the users, of any firm, whose EmailIndex
	// is one of indexes (an address's index under each region's key),
	// enabled or not, oldest first; none is not an error.
	UsersByEmailIndex(ctx context.Context, indexes [][]byte) ([]*User, error)
	// Users returns the users of a firm, oldest first.
	Users(ctx context.Context, tenantID string) ([]*User, error)
	// UpdateUser saves name, role, password hash, disabled flag, lineage
	// and must-change flag; never the email, firm or creator. A name u's
	// Damage marks unreadable is left as stored. Errors: not_found.
	UpdateUser(ctx context.Context, u *User) error

	// CreateMatter inserts an open matter. Errors: not_found (tenant).
	CreateMatter(ctx context.Context, m *Matter) error
	// Matter returns a matter of tenantID. Errors: not_found.
	Matter(ctx context.Context, tenantID, id string) (*Matter, error)
	// Matters returns the matters of a firm, open and closed, oldest first.
	Matters(ctx context.Context, tenantID string) ([]*Matter, error)
	// UpdateMatter saves name, client and closed state (a zero ClosedAt
	// of a closed matter is set from the clock). Errors: not_found.
	UpdateMatter(ctx context.Context, m *Matter) error

	// CreatePendingBlob records a blob about to be written.
	CreatePendingBlob(ctx context.Context, p PendingBlob) error
	// DeletePendingBlob forgets a pending blob; missing is not an error.
	DeletePendingBlob(ctx context.Context, key string) error
	// PendingBlobs returns pending blobs created before olderThan.
	PendingBlobs(ctx context.Context, olderThan time.Time) ([]PendingBlob, error)

	// CreateDocument inserts a document with its first version (d's
	// CurrentVersion must equal v.Number, 1) and clears v's pending-blob
	// record, in one transaction. Errors: not_found (matter), conflict
	// (also: the matter is closed).
	CreateDocument(ctx context.Context, d *Document, v *Version) error
	// AddVersion inserts v as the document's next version (v.Number must be
	// the current version plus one), makes it current and clears its
	// pending-blob record, in one transaction. Errors: not_found, conflict
	// (another version won the race, or the document's matter is closed).
	AddVersion(ctx context.Context, v *Version) error
	// Document returns a document of tenantID, trashed or not.
	// Errors: not_found.
	Document(ctx context.Context, tenantID, id string) (*Document, error)
	// Documents returns a firm's documents matching f, oldest first.
	Documents(ctx context.Context, tenantID string, f DocumentFilter) ([]*Document, error)
	// UpdateDocument saves name, matter, trashed flag and updated time.
	// Errors: not_found (document or target matter), conflict (the
	// document's matter or the target is closed).
	UpdateDocument(ctx context.Context, d *Document) error
	// Version returns version n of a document. Errors: not_found.
	Version(ctx context.Context, tenantID, documentID string, n int) (*Version, error)
	// Versions returns every version of a document, oldest first.
	Versions(ctx context.Context, tenantID, documentID string) ([]*Version, error)

	// CreateToken inserts a sign-in token together with the SHA-256 hash
	// of its secret; the secret itself is never stored. An empty ID is
	// filled in and a zero CreatedAt is set from the clock. Errors:
	// not_found (no such user in the token's firm), conflict (hash in use),
	// invalid.
	CreateToken(ctx context.Context, t *Token, hash []byte) error
	// TokenByHash returns the unrevoked token whose secret hashes to hash,
	// expired or not: the caller judges expiry by its own clock.
	// Errors: not_found (unknown or revoked).
	TokenByHash(ctx context.Context, hash []byte) (*Token, error)
	// TokenLive reports whether token id of tenantID exists and is
	// unrevoked, expired or not (the caller judges expiry): what a read in
	// flight re-checks of the token that started it.
	TokenLive(ctx context.Context, tenantID, id string) (bool, error)
	// Tokens returns a user's tokens that are unrevoked and unexpired at
	// now, oldest first.
	Tokens(ctx context.Context, tenantID, userID string, now time.Time) ([]*Token, error)
	// RevokeToken revokes one of a user's tokens. Errors: not_found
	// (missing, another user's or firm's, or already revoked).
	RevokeToken(ctx context.Context, tenantID, userID, id string) error
	// RevokeUserTokens revokes a user's unrevoked tokens of kind ("" for
	// every kind), except the one with id keepID ("" for none), and returns
	// how many it revoked.
	RevokeUserTokens(ctx context.Context, tenantID, userID, kind, keepID string) (int, error)
	// PurgeTokens deletes the tokens that expired or were revoked before
	// before, and returns how many.
	PurgeTokens(ctx context.Context, before time.Time) (int, error)
	// TouchToken records that a token was used at at. Errors: not_found.
	TouchToken(ctx context.Context, tenantID, id string, at time.Time) error

	// HasTenants reports whether any firm exists.
	HasTenants(ctx context.Context) (bool, error)
	// SetSetupToken stores the hash of the one-time setup token, replacing
	// any earlier one. Errors: conflict (a firm already exists).
	SetSetupToken(ctx context.Context, hash []byte) error
	// SetupTokenHash returns the stored setup token hash.
	// Errors: not_found (none issued, or already used).
	SetupTokenHash(ctx context.Context) ([]byte, error)
	// SetupTenant creates the first firm exactly as CreateTenant does and
	// consumes the setup token, in one transaction: the token is used at
	// most once. Errors: unauthorized (no stored setup token, or hash is not
	// its hash), conflict (a firm already exists), invalid.
	SetupTenant(ctx context.Context, t *Tenant, ks TenantKeysets, owner *User, hash []byte) error

	// CreateGrant inserts a grant (ID, TenantID, UserID, exactly one of
	// DocumentID and MatterID, canonical Permissions, CreatedBy required;
	// a zero CreatedAt is set from the clock). The user, the creator and the
	// document or matter must all belong to the grant's firm.
	// Errors: invalid, not_found (tenant, user, creator, document or matter
	// of another firm or missing), conflict (an unrevoked grant with the
	// same user, object, permissions and expiry exists: the caller fetches
	// it with Grants).
	CreateGrant(ctx context.Context, g *Grant) error
	// Grant returns one grant of tenantID, in any state. Errors: not_found.
	Grant(ctx context.Context, tenantID, id string) (*Grant, error)
	// Grants returns the grants of tenantID matching f, oldest first.
	Grants(ctx context.Context, tenantID string, f GrantFilter) ([]*Grant, error)
	// AccessGrants returns userID's grants active at at on documentID or on
	// matterID (either may be ""): the facts one authorization check needs,
	// in one indexed query.
	AccessGrants(ctx context.Context, tenantID, userID, documentID, matterID string, at time.Time) ([]*Grant, error)
	// RevokeGrant marks a grant revoked by the user by at time at.
	// Errors: not_found (missing or another firm's), conflict (already
	// revoked).
	RevokeGrant(ctx context.Context, tenantID, id, by string, at time.Time) error

	// UnrecordedExpiries returns up to limit unrevoked grants of any firm
	// that expired at or before at and whose expiry is not yet marked
	// recorded, oldest expiry first.
	UnrecordedExpiries(ctx context.Context, at time.Time, limit int) ([]*Grant, error)
	// MarkExpiryRecorded notes that a grant's expiry is in the audit log.
	// Errors: not_found.
	MarkExpiryRecorded(ctx context.Context, tenantID, id string, at time.Time) error

	// CreateWall inserts a wall (TenantID, MatterID, UserID, CreatedBy
	// required; a zero CreatedAt is set from the clock). Errors: invalid,
	// not_found (matter, user or creator missing or of another firm),
	// conflict (the wall exists).
	CreateWall(ctx context.Context, w *Wall) error
	// DeleteWall removes a wall. Errors: not_found.
	DeleteWall(ctx context.Context, tenantID, matterID, userID string) error
	// Walls returns the walls of tenantID matching f, oldest first.
	Walls(ctx context.Context, tenantID string, f WallFilter) ([]*Wall, error)

	// Multi-factor sign-in (issue #16: TOTP, recovery codes, MFA
	// challenges, the firm's MFA policy, firm-wide API token oversight).
	//
	// PutTOTP stores a new, unconfirmed TOTP secret for a user, sealed
	// with the firm's field key, replacing an unconfirmed one.
	// Errors: not_found (user), conflict (a confirmed one exists).
	PutTOTP(ctx context.Context, tenantID, userID, secret string) error
	// TOTP returns a user's TOTP factor, confirmed or not.
	// Errors: not_found, cannot_decrypt.
	TOTP(ctx context.Context, tenantID, userID string) (*TOTPFactor, error)
	// ConfirmTOTP marks a user's TOTP factor confirmed at step and
	// replaces their recovery codes with hashes, in one transaction.
	// Errors: not_found (no unconfirmed factor), conflict (step used).
	ConfirmTOTP(ctx context.Context, tenantID, userID string, step int64, codeHashes [][]byte) error
	// UseTOTPStep records that a code for step was accepted, only if step
	// is after the last one accepted. Errors: not_found (no confirmed
	// factor), conflict (step at or before the last one).
	UseTOTPStep(ctx context.Context, tenantID, userID string, step int64) error
	// DeleteMFA removes a user's TOTP factor and recovery codes and
	// reports whether there was a factor.
	DeleteMFA(ctx context.Context, tenantID, userID string) (bool, error)
	// ReplaceRecoveryCodes replaces a user's recovery codes with hashes.
	ReplaceRecoveryCodes(ctx context.Context, tenantID, userID string, codeHashes [][]byte) error
	// UseRecoveryCode marks the user's unused recovery code with hash
	// used. Errors: not_found (no such unused code).
	UseRecoveryCode(ctx context.Context, tenantID, userID string, hash []byte) error
	// HasRecoveryCode reports whether the user holds an unused recovery
	// code with hash.
	HasRecoveryCode(ctx context.Context, tenantID, userID string, hash []byte) (bool, error)
	// RecoveryCodesLeft counts a user's unused recovery codes.
	RecoveryCodesLeft(ctx context.Context, tenantID, userID string) (int, error)
	// CreateMFAChallenge stores a challenge with the SHA-256 hash of its
	// secret. Errors: not_found (user), conflict (hash in use).
	CreateMFAChallenge(ctx context.Context, c *MFAChallengeRecord, hash []byte) error
	// MFAChallengeByHash returns the challenge whose secret hashes to hash,
	// expired or not. Errors: not_found.
	MFAChallengeByHash(ctx context.Context, hash []byte) (*MFAChallengeRecord, error)
	// FailMFAChallenge counts a wrong proof against challenge id and
	// returns the failures so far. Errors: not_found.
	FailMFAChallenge(ctx context.Context, tenantID, id string) (int, error)
	// DeleteMFAChallenge deletes challenge id; exactly one caller
	// succeeds, so a challenge is used once. Errors: not_found.
	DeleteMFAChallenge(ctx context.Context, tenantID, id string) error
	// MFAPolicy returns the firm's policy (MFAPolicyOff when none is set).
	MFAPolicy(ctx context.Context, tenantID string) (string, error)
	// SetMFAPolicy stores the firm's policy. Errors: not_found (firm).
	SetMFAPolicy(ctx context.Context, tenantID, policy, by string) error
	// FirmAPITokens returns the firm's unrevoked, unexpired API tokens,
	// every user's, oldest first.
	FirmAPITokens(ctx context.Context, tenantID string, now time.Time) ([]*Token, error)

	// Passkeys (issue #16: WebAuthn credentials, the firm's passkey
	// sign-in setting).
	// CreatePasskey stores a passkey, its name sealed.
	// Errors: not_found (user), conflict (credential id taken).
	CreatePasskey(ctx context.Context, p *Passkey) error
	// Passkeys lists a user's passkeys, oldest first.
	Passkeys(ctx context.Context, tenantID, userID string) ([]*Passkey, error)
	// PasskeyByCredentialID finds the passkey with a WebAuthn credential
	// id, in its firm's home cell. Errors: not_found.
	PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*Passkey, error)
	// UsePasskey records a sign-in: the new sign count and credential.
	// Errors: not_found.
	UsePasskey(ctx context.Context, tenantID, id string, signCount uint32, credential []byte) error
	// DeletePasskey deletes a user's passkey. Errors: not_found.
	DeletePasskey(ctx context.Context, tenantID, userID, id string) error
	// PasskeySignIn reports whether the firm lets passkeys replace passwords.
	PasskeySignIn(ctx context.Context, tenantID string) (bool, error)
	// SetPasskeySignIn stores that setting. Errors: not_found (firm).
	SetPasskeySignIn(ctx context.Context, tenantID string, on bool, by string) error

	// Ping checks that the database answers. Errors: unavailable.
	Ping(ctx context.Context) error
}
