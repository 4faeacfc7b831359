package cell

import (
	"context"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/sqlite"
)

// While a firm moves between cells (package move) it is in both for a
// while: the copy in the cell it moves to before the switch, the rows left
// in the cell it left after it. The directory entry decides which is the
// firm: Cell routes by it alone, and the calls that ask every cell drop
// rows of a firm from a cell the directory does not name.

// errFrozen is the answer about a firm a move has frozen.
var errFrozen = vault.Errorf(vault.EUNAVAILABLE, "This firm is being moved to another region; try again in a minute.")

// Freeze makes firm tenantID answer unavailable in this process until
// Thaw: its rows, keysets aside, are not read or written, so that a move
// copies them unchanged. It is kept in memory only, so a crash never
// leaves a firm frozen.
func (r *Router) Freeze(tenantID string) { r.frozen.Store(tenantID, struct{}{}) }

// Thaw lifts Freeze.
func (r *Router) Thaw(tenantID string) { r.frozen.Delete(tenantID) }

// Frozen reports whether a move has frozen firm tenantID in this process.
func (r *Router) Frozen(tenantID string) bool {
	_, ok := r.frozen.Load(tenantID)
	return ok
}

// ServingRegion is Region for serving requests: a frozen firm answers
// unavailable. The audit router routes by it, so that no event of a
// frozen firm is appended to a log the move is carrying over; the audit
// signers and anchors use Region, which the move itself needs.
// Errors: not_found, unavailable.
func (r *Router) ServingRegion(ctx context.Context, tenantID string) (string, error) {
	if r.Frozen(tenantID) {
		return "", errFrozen
	}
	return r.Region(ctx, tenantID)
}

// moving returns the firms with a move in progress.
func (r *Router) moving(ctx context.Context) (map[string]bool, error) {
	ms, err := r.Service.Moves(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(ms))
	for _, m := range ms {
		out[m.TenantID] = true
	}
	return out, nil
}

// homed returns a test of whether a row of a firm found in region's cell
// is the firm's: the directory names that region and no move froze it.
func (r *Router) homed(ctx context.Context) (func(region, tenantID string) bool, error) {
	dir, err := r.Service.DirectoryTenants(ctx)
	if err != nil {
		return nil, err
	}
	return func(region, tenantID string) bool {
		return dir[tenantID] == region && !r.Frozen(tenantID)
	}, nil
}

// homedUsers keeps the users found in region's cell whose firm lives
// there. A user of a frozen firm makes the answer unavailable, so that
// sign-in says "try again" instead of "no such account". homes caches
// each firm's region ("" for none) across the calls of one lookup.
func (r *Router) homedUsers(ctx context.Context, region string, us []*vault.User, homes map[string]string) ([]*vault.User, error) {
	out := us[:0]
	for _, u := range us {
		home, ok := homes[u.TenantID]
		if !ok {
			var err error
			home, err = r.Region(ctx, u.TenantID)
			if vault.IsCode(err, vault.ENOTFOUND) {
				home = ""
			} else if err != nil {
				return nil, err
			}
			homes[u.TenantID] = home
		}
		if home == "" {
			continue
		}
		if home != region {
			continue
		}
		if r.Frozen(u.TenantID) {
			return nil, errFrozen
		}
		out = append(out, u)
	}
	return out, nil
}

// Switch makes region to the home of firm tenantID in the directory, in
// one statement: the commit point of a move. From then on Cell routes the
// firm to that cell only. Errors: not_found (to is not served here), as
// sqlite.PutDirectoryTenant.
func (r *Router) Switch(ctx context.Context, tenantID, to string) error {
	if _, ok := r.Cells[to]; !ok {
		return notServed(to)
	}
	return r.Service.PutDirectoryTenant(ctx, tenantID, to)
}

// CellOf returns the database of a served region's cell, for the move,
// which reads and writes both cells of a firm directly.
// Errors: unavailable (not served).
func (r *Router) CellOf(region string) (*sqlite.DB, error) { return r.regionCell(region) }

// EnterEmails records in the directory that region's cell has users with
// emails: a move's copy of a firm, before the switch (an extra entry only
// makes sign-in ask a cell that answers no). ix computes the directory's
// email index. Errors: as the indexer and the service database.
func (r *Router) EnterEmails(ctx context.Context, ix vault.Indexer, region string, emails []string) error {
	for _, email := range emails {
		dirIx, err := vault.DirectoryEmailIndex(ctx, ix, email)
		if err != nil {
			return err
		}
		if err := r.Service.AddDirectoryEmail(ctx, dirIx, region); err != nil {
			return err
		}
	}
	return nil
}

// ForgetEmails removes the directory's entries of region for those of
// emails that no user of region's cell has any more but firm tenantID's
// (which moved out): the cleanup of a move.
func (r *Router) ForgetEmails(ctx context.Context, ix vault.Indexer, region, tenantID string, emails []string) error {
	db, err := r.regionCell(region)
	if err != nil {
		return err
	}
	for _, email := range emails {
		userIx, err := vault.EmailIndex(ctx, ix, region, email)
		if err != nil {
			return err
		}
		if held, err := db.HasEmailIndex(ctx, userIx, tenantID); err != nil {
			return err
		} else if held {
			continue
		}
		// The directory's index of the email: under the service-wide key.
		dirIx, err := vault.DirectoryEmailIndex(ctx, ix, email)
		if err != nil {
			return err
		}
		if err := r.Service.DeleteDirectoryEmail(ctx, dirIx, region); err != nil {
			return err
		}
	}
	return nil
}
