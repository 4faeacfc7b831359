package vault

import (
	"context"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// DefaultPendingGrace is how old an unfinished upload's blob must be before
// the janitor deletes it.
const DefaultPendingGrace = 24 * time.Hour

// Service enforces CaseVault's rules over the metadata store, the key
// manager and the region blob stores. Handlers and the CLI call it; it calls
// nothing above it.
type Service struct {
	Store   Store
	Keys    KeyManager
	Regions map[string]BlobStore // region name → its one blob store
	// Audit is the append-only audit log. Every access and change is
	// recorded there before it takes effect; without it nothing happens.
	Audit AuditLog
	// AuditReader reads the audit log for owners, admins and auditors.
	AuditReader AuditReader
	// Indexer computes the keyed blind indexes by which values the
	// database never stores in the clear (emails, sign-in sources) are
	// found.
	Indexer Indexer

	// SSODiscover, when set, checks at save time that a firm's single
	// sign-on issuer answers its discovery document (package sso).
	SSODiscover func(ctx context.Context, issuer string) error

	// Now is the clock; tests replace it.
	Now func() time.Time
	// Log receives operational events (never names, contents or keys).
	Log zerolog.Logger
	// PasswordParams are the argon2id costs for new password hashes.
	PasswordParams PasswordParams
	// PendingGrace is the age after which CleanupPending deletes the blob
	// of an upload that never committed.
	PendingGrace time.Duration
	// MaxDocumentSize caps one upload's plaintext bytes; 0 means no cap.
	MaxDocumentSize int64
	// SessionTTL is how long a session token from Login lasts; 0 means
	// DefaultSessionTTL.
	SessionTTL time.Duration
	// Passkeys (issue #16): the WebAuthn relying party and the ceremonies
	// in flight (see vault/passkey.go).
	WebAuthn   WebAuthnConfig
	ceremonies ceremonies
	// Residency, when set, builds a firm's signed residency report
	// (docs/RESIDENCY.md); cmd/casevault sets it. ResidencyReport serves
	// it to owners, admins and auditors.
	Residency func(ctx context.Context, tenantID string) ([]byte, error)
	// Throttle slows password guessing at sign-in and password change.
	// Nil means the database-backed throttle over Store (a ThrottleStore)
	// and Indexer, which survives restarts and is shared by every process
	// on the database.
	Throttle Throttle
	// SinkChanged, when set, is called after a firm's checkpoint sink is
	// set or removed (it wakes the delivery worker); it must not block.
	SinkChanged func()
	// Notifier, when set, is told about alerts, breach-register changes
	// and failed drills (email, webhooks); see Notice. Nil: nobody is.
	Notifier Notifier
	// Detector, when set, evaluates the breach-detection rules on every
	// event of a firm that the audit log appends; WithDetection sets it.
	Detector Detector
	// RegionCountries maps a region to its ISO 3166-1 country code
	// (config: regions.NAME.country); the HIPAA add-on needs "US".
	RegionCountries map[string]string
	// AgreementTexts holds the business associate agreement's versions as
	// baa/vN.md; nil means the shipped ones (package compliance).
	AgreementTexts fs.FS

	regionOf sync.Map  // tenant id → region name; a move clears it (ForgetRegion)
	auth     authState // the dummy password hash and the users lock

	damageMu   sync.Mutex
	damageSeen map[damageKey]string // damaged objects reported → their unreadable fields
	// afterFunc starts the timer of a read's re-check watchdog; nil means
	// time.AfterFunc. Tests replace it to drive the watchdog by hand.
	afterFunc func(time.Duration, func()) recheckTimer
}

// NewService returns a Service with default settings.
func NewService(store Store, keys KeyManager, regions map[string]BlobStore, log zerolog.Logger) *Service {
	return &Service{
		Store:          store,
		Keys:           keys,
		Regions:        regions,
		Now:            time.Now,
		Log:            log.With().Str("component", "vault").Logger(),
		PasswordParams: DefaultPasswordParams,
		PendingGrace:   DefaultPendingGrace,
		SessionTTL:     DefaultSessionTTL,
	}
}

func (s *Service) now() time.Time { return s.Now().UTC() }

// RegionNames returns the configured regions, sorted.
func (s *Service) RegionNames() []string {
	names := make([]string, 0, len(s.Regions))
	for name := range s.Regions {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// tenantRegion returns the region of a tenant. Errors: not_found.
func (s *Service) tenantRegion(ctx context.Context, tenantID string) (string, error) {
	if region, ok := s.regionOf.Load(tenantID); ok {
		return region.(string), nil
	}
	t, err := s.Store.Tenant(ctx, tenantID)
	if err != nil {
		return "", err
	}
	s.regionOf.Store(tenantID, t.Region)
	return t.Region, nil
}

// ForgetRegion drops the remembered region of firm tenantID, so that the
// next request reads it again: a move calls it once the firm's region
// changed.
func (s *Service) ForgetRegion(tenantID string) { s.regionOf.Delete(tenantID) }

// regionStore returns the blob store of a tenant's region.
func (s *Service) regionStore(ctx context.Context, tenantID string) (BlobStore, error) {
	region, err := s.tenantRegion(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	bs := s.Regions[region]
	if bs == nil {
		// A firm's data must never be written anywhere but its region.
		return nil, Errorf(EUNAVAILABLE, "This firm's region %q is not configured on this server.", region)
	}
	return bs, nil
}

// NewTenant is the input for creating a firm.
type NewTenant struct {
	Name   string
	Region string
	Owner  NewUser
}

// NewUser is the input for creating a user. An empty Password means one is
// generated and returned once.
type NewUser struct {
	Email    string
	Name     string
	Role     Role
	Password string
	// OneTime, with no Password, makes the generated password one-time:
	// the user must replace it at their first sign-in
	// (User.MustChangePassword), as after a password reset. The web UI's
	// users page asks for it; the JSON API does not.
	OneTime bool
}

// CreateTenant creates a firm in a region with fresh keysets and its owner.
// It returns the owner's password, generated when none was given: shown once,
// stored only as a hash. The owner's email may have accounts in other
// firms: they are other accounts, and nothing of them shows here.
// Errors: invalid (name, unknown region, owner).
func (s *Service) CreateTenant(ctx context.Context, nt NewTenant) (*Tenant, *User, string, error) {
	t, owner, password, ks, err := s.newTenant(ctx, nt)
	if err != nil {
		return nil, nil, "", err
	}
	ctx = WithNewTenantKeysets(ctx, t.ID, t.Region, ks)
	ev := operatorEvent(t.ID, ActTenantCreate, "tenant", t.ID)
	ev.Details["region"], ev.Details["owner_id"], ev.Private["owner_email"] = t.Region, owner.ID, owner.Email
	if err := s.act(ctx, func() error { return s.Store.CreateTenant(ctx, t, ks, owner) }, ev); err != nil {
		return nil, nil, "", err
	}
	s.Log.Info().Str("tenant_id", t.ID).Str("region", t.Region).Msg("tenant created")
	return t, owner, password, nil
}

// newTenant validates nt and builds the firm, its owner (with the owner's
// password, generated when none was given) and its fresh wrapped keysets.
// Nothing is stored.
func (s *Service) newTenant(ctx context.Context, nt NewTenant) (*Tenant, *User, string, TenantKeysets, error) {
	name, err := cleanName("Firm name", nt.Name, true)
	if err != nil {
		return nil, nil, "", TenantKeysets{}, err
	}
	if _, ok := s.Regions[nt.Region]; !ok {
		return nil, nil, "", TenantKeysets{}, Errorf(EINVALID, "Unknown region %q; configured regions: %s.", nt.Region, strings.Join(s.RegionNames(), ", "))
	}
	t := &Tenant{ID: NewID(PrefixTenant), Name: name, Region: nt.Region, CreatedAt: s.now()}
	nt.Owner.Role = RoleOwner
	owner, password, err := s.newUser(ctx, t.ID, t.Region, nt.Owner, ActorOperator)
	if err != nil {
		return nil, nil, "", TenantKeysets{}, err
	}
	ks, err := s.Keys.NewTenantKeysets(ctx, t.ID, t.Region)
	if err != nil {
		return nil, nil, "", TenantKeysets{}, err
	}
	return t, owner, password, ks, nil
}

// Tenant returns one firm. Errors: not_found.
func (s *Service) Tenant(ctx context.Context, id string) (*Tenant, error) {
	return s.Store.Tenant(ctx, id)
}

// Tenants returns every firm (an operator's view: no content).
func (s *Service) Tenants(ctx context.Context) ([]*Tenant, error) { return s.Store.Tenants(ctx) }

// AddUser creates a user in a firm as the operator. It returns the password,
// generated when none was given. Errors: invalid, conflict (email taken in
// this firm), not_found.
func (s *Service) AddUser(ctx context.Context, tenantID string, nu NewUser) (*User, string, error) {
	region, err := s.tenantRegion(ctx, tenantID)
	if err != nil {
		return nil, "", err
	}
	u, password, err := s.newUser(ctx, tenantID, region, nu, ActorOperator)
	if err != nil {
		return nil, "", err
	}
	ev := operatorEvent(tenantID, ActUserCreate, "user", u.ID)
	ev.Private["email"], ev.Details["role"] = u.Email, string(u.Role)
	if err := s.act(ctx, func() error { return s.Store.CreateUser(ctx, u) }, ev); err != nil {
		return nil, "", err
	}
	return u, password, nil
}

// newUser validates nu and builds the user of a firm in region with its
// password hash and email index, created by by (a user id or
// ActorOperator), who also issued its password and gave its role. Its work
// is the same whether or not the email has accounts in other firms: it
// never looks.
func (s *Service) newUser(ctx context.Context, tenantID, region string, nu NewUser, by string) (*User, string, error) {
	email, err := cleanEmail(nu.Email)
	if err != nil {
		return nil, "", err
	}
	index, err := EmailIndex(ctx, s.Indexer, region, email)
	if err != nil {
		return nil, "", err
	}
	name := strings.TrimSpace(nu.Name)
	if name == "" {
		name = email[:strings.IndexByte(email, '@')]
	}
	if name, err = cleanName("Name", name, true); err != nil {
		return nil, "", err
	}
	if !nu.Role.Valid() {
		return nil, "", Errorf(EINVALID, "Role %q is not one of owner, admin, lawyer, auditor.", nu.Role)
	}
	password := nu.Password
	if password == "" {
		password = GeneratePassword()
	} else if err := checkPassword(password); err != nil {
		return nil, "", err
	}
	hash, err := HashPassword(password, s.PasswordParams)
	if err != nil {
		return nil, "", WrapError(EINTERNAL, err, "Cannot hash password.")
	}
	now := s.now()
	return &User{
		ID: NewID(PrefixUser), TenantID: tenantID, Email: email, EmailIndex: index, Name: name, Role: nu.Role,
		PasswordHash: hash, CreatedAt: now, UpdatedAt: now, CreatedBy: by,
		Lineage: Lineage{CredentialsBy: by, CredentialsAt: now, PromotedBy: by, PromotedAt: now},
	}, password, nil
}

// RotateKeys adds a new primary key to a firm's keysets; everything written
// before still decrypts. Errors: not_found, conflict.
func (s *Service) RotateKeys(ctx context.Context, tenantID string) error {
	if _, err := s.Store.Tenant(ctx, tenantID); err != nil {
		return err
	}
	ev := operatorEvent(tenantID, ActKeysRotate, "tenant", tenantID)
	if err := s.act(ctx, func() error { return s.Keys.RotateTenantKeys(ctx, tenantID) }, ev); err != nil {
		return err
	}
	s.Log.Info().Str("tenant_id", tenantID).Msg("tenant keys rotated")
	return nil
}
