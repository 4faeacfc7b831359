package vault

import (
	"context"
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

	regionOf sync.Map  // tenant id → region name; regions never change
	auth     authState // sign-in rate limits and the dummy password hash
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

// regionStore returns the blob store of a tenant's region.
func (s *Service) regionStore(ctx context.Context, tenantID string) (BlobStore, error) {
	region, ok := s.regionOf.Load(tenantID)
	if !ok {
		t, err := s.Store.Tenant(ctx, tenantID)
		if err != nil {
			return nil, err
		}
		region = t.Region
		s.regionOf.Store(tenantID, region)
	}
	bs := s.Regions[region.(string)]
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
}

// CreateTenant creates a firm in a region with fresh keysets and its owner.
// It returns the owner's password, generated when none was given: shown once,
// stored only as a hash. Errors: invalid (name, unknown region, owner),
// conflict (owner email taken).
func (s *Service) CreateTenant(ctx context.Context, nt NewTenant) (*Tenant, *User, string, error) {
	t, owner, password, ks, err := s.newTenant(ctx, nt)
	if err != nil {
		return nil, nil, "", err
	}
	ev := operatorEvent(t.ID, ActTenantCreate, "tenant", t.ID)
	ev.Details["region"], ev.Details["owner_id"], ev.Details["owner_email"] = t.Region, owner.ID, owner.Email
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
	owner, password, err := s.newUser(t.ID, nt.Owner)
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
// generated when none was given. Errors: invalid, conflict, not_found.
func (s *Service) AddUser(ctx context.Context, tenantID string, nu NewUser) (*User, string, error) {
	if _, err := s.Store.Tenant(ctx, tenantID); err != nil {
		return nil, "", err
	}
	u, password, err := s.newUser(tenantID, nu)
	if err != nil {
		return nil, "", err
	}
	ev := operatorEvent(tenantID, ActUserCreate, "user", u.ID)
	ev.Details["email"], ev.Details["role"] = u.Email, string(u.Role)
	if err := s.act(ctx, func() error { return s.Store.CreateUser(ctx, u) }, ev); err != nil {
		return nil, "", err
	}
	return u, password, nil
}

// newUser validates nu and builds the user with its password hash.
func (s *Service) newUser(tenantID string, nu NewUser) (*User, string, error) {
	email, err := cleanEmail(nu.Email)
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
		ID: NewID(PrefixUser), TenantID: tenantID, Email: email, Name: name, Role: nu.Role,
		PasswordHash: hash, CreatedAt: now, UpdatedAt: now,
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

// CreateMatter opens a matter in the actor's firm. Owners, admins and lawyers
// may. Errors: unauthorized, forbidden, invalid.
func (s *Service) CreateMatter(ctx context.Context, actor *User, name, client string) (*Matter, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if !canCreateMatter(actor.Role) {
		return nil, Errorf(EFORBIDDEN, "Your role cannot open matters.")
	}
	name, err := cleanName("Matter name", name, true)
	if err != nil {
		return nil, err
	}
	if client, err = cleanName("Client", client, true); err != nil {
		return nil, err
	}
	m := &Matter{ID: NewID(PrefixMatter), TenantID: actor.TenantID, Name: name, Client: client, CreatedBy: actor.ID, CreatedAt: s.now()}
	ev := event(actor, ActMatterCreate, "matter", m.ID)
	ev.Details["matter_id"] = m.ID
	ev.Private["name"], ev.Private["client"] = name, client
	if err := s.act(ctx, func() error { return s.Store.CreateMatter(ctx, m) }, ev); err != nil {
		return nil, err
	}
	return m, nil
}

// Matter returns a matter of the actor's firm that no wall bars the actor
// from. Errors: not_found, forbidden (walled).
func (s *Service) Matter(ctx context.Context, actor *User, id string) (*Matter, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if !ValidID(PrefixMatter, id) {
		return nil, Errorf(ENOTFOUND, "Matter not found.")
	}
	m, err := s.Store.Matter(ctx, actor.TenantID, id)
	if err != nil {
		return nil, err
	}
	walled, err := s.walled(ctx, actor.TenantID, id, actor.ID)
	if err != nil {
		return nil, err
	}
	if walled {
		return nil, s.denial(ctx, actor, "matter", id, "", Errorf(EFORBIDDEN, "You do not have access to this matter."))
	}
	return m, nil
}

// Matters returns the matters of the actor's firm, without those a wall
// bars the actor from.
func (s *Service) Matters(ctx context.Context, actor *User) ([]*Matter, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	walled, err := s.walledMatters(ctx, actor)
	if err != nil {
		return nil, err
	}
	all, err := s.Store.Matters(ctx, actor.TenantID)
	if err != nil {
		return nil, err
	}
	visible := all[:0]
	for _, m := range all {
		if !walled[m.ID] {
			visible = append(visible, m)
		}
	}
	return visible, nil
}
