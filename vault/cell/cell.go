// Package cell routes the vault's metadata to the cells of its regions.
//
// Each region is a cell with its own metadata database (a vault/sqlite DB
// under the region's own directory); a firm's rows are written only in its
// region's cell. The service database holds what no firm owns: the setup
// token, the sign-in throttle's keyed hashes and the directory, which maps
// firm ids to regions and keyed email indexes to the regions whose cells
// have a user with that email, and nothing else. Router implements
// vault.Store over them: every call about a firm goes to its cell, calls
// about no firm in particular ask each served cell, and a firm whose region
// this process does not serve answers unavailable, never silently another
// cell.
package cell

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/sqlite"
)

// Router is the vault.Store of a process that serves the cells in Cells.
// It is safe for concurrent use once built.
type Router struct {
	// Service is the service-wide database: setup token, throttle,
	// directory.
	Service *sqlite.DB
	// Cells are the served cells' databases, by region name.
	Cells map[string]*sqlite.DB
	// Indexer computes the directory's email indexes
	// (vault.DirectoryEmailIndex, under the service-wide key); set it
	// before the first call.
	Indexer vault.Indexer

	setupMu sync.Mutex // serialises setup: the token and the first firm

	// frozen holds the firms a move has frozen in this process (move.go):
	// they answer unavailable until thawed. Never persisted.
	frozen sync.Map // tenant id → struct{}
}

var (
	_ vault.Store         = (*Router)(nil)
	_ vault.ThrottleStore = (*Router)(nil)
	_ vault.SinkStore     = (*Router)(nil)
)

// New returns a Router over the service database and the served cells.
func New(service *sqlite.DB, cells map[string]*sqlite.DB) *Router {
	return &Router{Service: service, Cells: cells}
}

// Regions returns the served regions, sorted.
func (r *Router) Regions() []string {
	names := make([]string, 0, len(r.Cells))
	for n := range r.Cells {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// notServed is the error of a firm whose cell this process does not serve.
func notServed(region string) error {
	return vault.Errorf(vault.EUNAVAILABLE, "This firm's region (%s) is not served by this server.", region)
}

// Region returns the region of firm tenantID from the directory, or of the
// firm ctx is creating. Errors: not_found.
func (r *Router) Region(ctx context.Context, tenantID string) (string, error) {
	if tenantID == "" {
		return "", vault.Errorf(vault.ENOTFOUND, "Tenant not found.")
	}
	region, err := r.Service.DirectoryRegion(ctx, tenantID)
	if vault.IsCode(err, vault.ENOTFOUND) {
		// A firm being created is in no directory yet; its creation
		// carries its region (and is recorded in its log first).
		if nr, _, ok := vault.NewTenantKeysetsFrom(ctx, tenantID); ok {
			return nr, nil
		}
	}
	return region, err
}

// Cell returns the database of firm tenantID's cell, the one the
// directory names. Errors: not_found (unknown firm), unavailable (cell not
// served here, or the firm is frozen by a move).
func (r *Router) Cell(ctx context.Context, tenantID string) (*sqlite.DB, error) {
	if r.Frozen(tenantID) {
		return nil, errFrozen
	}
	return r.homeCell(ctx, tenantID)
}

// homeCell is Cell without the freeze.
func (r *Router) homeCell(ctx context.Context, tenantID string) (*sqlite.DB, error) {
	region, err := r.Region(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return r.regionCell(region)
}

func (r *Router) regionCell(region string) (*sqlite.DB, error) {
	db, ok := r.Cells[region]
	if !ok {
		return nil, notServed(region)
	}
	return db, nil
}

// each calls fn with every served cell, in region order, and joins the
// errors of those that fail.
func (r *Router) each(fn func(region string, db *sqlite.DB) error) error {
	var errs []error
	for _, name := range r.Regions() {
		if err := fn(name, r.Cells[name]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// Repair makes the directory agree with the served cells after a crash
// between writing one and the other: firms a served cell holds are entered
// with their users' email indexes, and entries of a served region whose
// cell lacks the firm are removed. Main runs it at open, once the cells
// can open their sealed fields (SetSealer) and Indexer is set.
func (r *Router) Repair(ctx context.Context) error {
	dir, err := r.Service.DirectoryTenants(ctx)
	if err != nil {
		return err
	}
	// A firm being moved is in both cells, and the directory entry is the
	// move's commit point: only the move changes it (package move).
	moving, err := r.moving(ctx)
	if err != nil {
		return err
	}
	held := make(map[string]string)
	for _, region := range r.Regions() {
		db := r.Cells[region]
		ts, err := db.TenantRegions(ctx)
		if err != nil {
			return fmt.Errorf("cell %s: %w", region, err)
		}
		for id, stored := range ts {
			if moving[id] {
				continue
			}
			if stored != region {
				return fmt.Errorf("cell %s holds firm %s of region %s", region, id, stored)
			}
			held[id] = region
			if dir[id] == region {
				continue
			}
			// A firm new to the directory (split from a release before
			// cells, or created by a process that stopped before its
			// entry was written): its users' emails go in first.
			us, err := db.Users(ctx, id)
			if err != nil {
				return fmt.Errorf("cell %s: %w", region, err)
			}
			for _, u := range us {
				if u.Email == "" {
					continue // unreadable: Damage says so; it cannot sign in by email anyway
				}
				if err := r.enterEmail(ctx, u.Email, region); err != nil {
					return err
				}
			}
			if err := r.Service.PutDirectoryTenant(ctx, id, region); err != nil {
				return err
			}
		}
	}
	for id, region := range dir {
		if _, served := r.Cells[region]; served && held[id] == "" && !moving[id] {
			if err := r.Service.DeleteDirectoryTenant(ctx, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// CreateTenant enters the firm in the directory, then creates it in its
// region's cell; if that fails the entry is removed again (Repair removes
// one a crash leaves behind).
func (r *Router) CreateTenant(ctx context.Context, t *vault.Tenant, ks vault.TenantKeysets, owner *vault.User) error {
	db, err := r.regionCell(t.Region)
	if err != nil {
		return err
	}
	if err := r.enter(ctx, t, owner); err != nil {
		return err
	}
	if err := db.CreateTenant(ctx, t, ks, owner); err != nil {
		r.Service.DeleteDirectoryTenant(context.WithoutCancel(ctx), t.ID)
		return err
	}
	return nil
}

// enter records a new firm and its owner's email index in the directory.
func (r *Router) enter(ctx context.Context, t *vault.Tenant, owner *vault.User) error {
	if t == nil || t.ID == "" || owner == nil {
		return vault.Errorf(vault.EINVALID, "A firm needs an id and an owner.")
	}
	if _, err := r.Service.DirectoryRegion(ctx, t.ID); err == nil {
		return vault.Errorf(vault.ECONFLICT, "A firm with this id exists.")
	} else if !vault.IsCode(err, vault.ENOTFOUND) {
		return err
	}
	if err := r.Service.PutDirectoryTenant(ctx, t.ID, t.Region); err != nil {
		return err
	}
	return r.enterEmail(ctx, owner.Email, t.Region)
}

// enterEmail records in the directory that region's cell has a user with
// email.
func (r *Router) enterEmail(ctx context.Context, email, region string) error {
	if r.Indexer == nil {
		return vault.Errorf(vault.EINTERNAL, "The directory's indexer is not configured.")
	}
	ix, err := vault.DirectoryEmailIndex(ctx, r.Indexer, email)
	if err != nil {
		return err
	}
	return r.Service.AddDirectoryEmail(ctx, ix, region)
}

// Tenant returns one firm from its cell. Errors: not_found, unavailable.
func (r *Router) Tenant(ctx context.Context, id string) (*vault.Tenant, error) {
	db, err := r.Cell(ctx, id)
	if err != nil {
		return nil, err
	}
	return db.Tenant(ctx, id)
}

// Tenants returns the firms of every served cell, oldest first.
func (r *Router) Tenants(ctx context.Context) ([]*vault.Tenant, error) {
	var all []*vault.Tenant
	dir, err := r.Service.DirectoryTenants(ctx)
	if err != nil {
		return nil, err
	}
	err = r.each(func(region string, db *sqlite.DB) error {
		ts, err := db.Tenants(ctx)
		for _, t := range ts {
			if dir[t.ID] == region {
				all = append(all, t)
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].CreatedAt.Before(all[j].CreatedAt) })
	return all, nil
}

// HasTenants reports whether the directory knows any firm, in any region.
func (r *Router) HasTenants(ctx context.Context) (bool, error) {
	dir, err := r.Service.DirectoryTenants(ctx)
	if err != nil {
		return false, err
	}
	return len(dir) > 0, nil
}

// SetSetupToken stores the setup token's hash in the service database.
// Errors: conflict (a firm exists in any region).
func (r *Router) SetSetupToken(ctx context.Context, hash []byte) error {
	r.setupMu.Lock()
	defer r.setupMu.Unlock()
	if has, err := r.HasTenants(ctx); err != nil {
		return err
	} else if has {
		return vault.Errorf(vault.ECONFLICT, "A firm already exists; setup is closed.")
	}
	return r.Service.SetSetupToken(ctx, hash)
}

// SetupTokenHash returns the stored setup token hash. Errors: not_found.
func (r *Router) SetupTokenHash(ctx context.Context) ([]byte, error) {
	return r.Service.SetupTokenHash(ctx)
}

// SetupTenant creates the first firm with the setup token. The token is
// checked, the firm created in its cell and the token consumed while the
// setup lock is held, so one token creates at most one firm in this
// process; a firm that exists anywhere closes setup.
func (r *Router) SetupTenant(ctx context.Context, t *vault.Tenant, ks vault.TenantKeysets, owner *vault.User, hash []byte) error {
	r.setupMu.Lock()
	defer r.setupMu.Unlock()
	stored, err := r.Service.SetupTokenHash(ctx)
	if err != nil || !equalHash(stored, hash) {
		return vault.Errorf(vault.EUNAUTHORIZED, "The setup token is invalid or has already been used.")
	}
	if has, err := r.HasTenants(ctx); err != nil {
		return err
	} else if has {
		return vault.Errorf(vault.ECONFLICT, "A firm already exists; setup is closed.")
	}
	if err := r.CreateTenant(ctx, t, ks, owner); err != nil {
		return err
	}
	return r.Service.ConsumeSetupToken(context.WithoutCancel(ctx), hash)
}

// CreateUser creates the user in its firm's cell and enters its email
// index in the directory first (an extra entry only makes sign-in ask a
// cell that answers no).
func (r *Router) CreateUser(ctx context.Context, u *vault.User, walls ...*vault.Wall) error {
	region, err := r.Region(ctx, u.TenantID)
	if err != nil {
		return err
	}
	db, err := r.regionCell(region)
	if err != nil {
		return err
	}
	if err := r.enterEmail(ctx, u.Email, region); err != nil {
		return err
	}
	return db.CreateUser(ctx, u, walls...)
}

// UsersByEmailIndex asks only the cells the directory names for the
// indexes. When none of the served ones has a user and a region that is not
// served here does, it answers unavailable: the user signs in at that
// region's server.
func (r *Router) UsersByEmailIndex(ctx context.Context, indexes [][]byte) ([]*vault.User, error) {
	regions, err := r.Service.DirectoryEmailRegions(ctx, indexes)
	if err != nil {
		return nil, err
	}
	var users []*vault.User
	elsewhere := ""
	found := make(map[string][]*vault.User, len(regions))
	for _, region := range regions {
		db, ok := r.Cells[region]
		if !ok {
			elsewhere = region
			continue
		}
		if found[region], err = db.UsersByEmailIndex(ctx, indexes); err != nil {
			return nil, err
		}
	}
	// Each firm's home is read once, after every cell answered, so that a
	// move's switch between two reads cannot hide its user in both cells.
	homes := make(map[string]string)
	for _, region := range regions {
		us, err := r.homedUsers(ctx, region, found[region], homes)
		if err != nil {
			return nil, err
		}
		users = append(users, us...)
	}
	if len(users) == 0 && elsewhere != "" {
		return nil, notServed(elsewhere)
	}
	sort.SliceStable(users, func(i, j int) bool { return users[i].CreatedAt.Before(users[j].CreatedAt) })
	return users, nil
}

// TokenByHash asks each served cell for the token (one indexed lookup
// each). Errors: not_found, unavailable (the firm is frozen by a move), or
// a failing cell's error when no other has it.
func (r *Router) TokenByHash(ctx context.Context, hash []byte) (*vault.Token, error) {
	var failed error
	found := make(map[string]*vault.Token)
	var tenantID string
	for _, region := range r.Regions() {
		t, err := r.Cells[region].TokenByHash(ctx, hash)
		switch {
		case err == nil:
			found[region], tenantID = t, t.TenantID
		case vault.IsCode(err, vault.ENOTFOUND):
		default:
			failed = err
		}
	}
	if tenantID != "" {
		// A copy in the cell a firm is moving to is not its token yet;
		// the one in the cell it left is not its token any more. The
		// directory is read once, after every cell answered, so that a
		// move's switch between two reads cannot hide the token in both.
		home, err := r.Region(ctx, tenantID)
		if err != nil && !vault.IsCode(err, vault.ENOTFOUND) {
			return nil, err
		}
		if t := found[home]; t != nil {
			if r.Frozen(tenantID) {
				return nil, errFrozen
			}
			return t, nil
		}
	}
	if failed != nil {
		return nil, failed
	}
	return nil, vault.Errorf(vault.ENOTFOUND, "Token not found.")
}

// Ping checks the service database and every served cell.
func (r *Router) Ping(ctx context.Context) error {
	if err := r.Service.Ping(ctx); err != nil {
		return err
	}
	return r.each(func(_ string, db *sqlite.DB) error { return db.Ping(ctx) })
}

// Close closes the service database and every cell.
func (r *Router) Close() error {
	errs := []error{r.Service.Close()}
	for _, db := range r.Cells {
		errs = append(errs, db.Close())
	}
	return errors.Join(errs...)
}

// SetSealer sets the field sealer of every cell.
func (r *Router) SetSealer(s vault.FieldSealer) {
	for _, db := range r.Cells {
		db.Sealer = s
	}
}
