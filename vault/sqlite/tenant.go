package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/casevault/casevault/vault"
)

// CreateTenant inserts the firm, its wrapped keysets and its owner in one
// transaction, with the firm's name and the owner's email and name sealed
// under the new keysets. Empty ids are filled in, and a zero CreatedAt is
// set from the clock. Errors: invalid, internal (no Sealer).
func (db *DB) CreateTenant(ctx context.Context, t *vault.Tenant, ks vault.TenantKeysets, owner *vault.User) error {
	if err := checkNewTenant(t, ks, owner); err != nil {
		return err
	}
	sealed, err := db.sealNewTenant(ctx, t, ks, owner)
	if err != nil {
		return err
	}

	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	if err := insertTenant(ctx, tx, t, ks, owner, sealed); err != nil {
		return err
	}
	return tx.commit()
}

// sealedTenant holds the sealed fields of a new firm and its owner.
type sealedTenant struct {
	name  []byte
	owner sealedUserFields
}

// sealNewTenant seals a new firm's name and its owner's email and name.
// The firm's row is not written yet, so the key manager is handed ks, the
// keysets about to be stored with it, through the context
// (vault.WithNewTenantKeysets), as for the firm's creation event.
func (db *DB) sealNewTenant(ctx context.Context, t *vault.Tenant, ks vault.TenantKeysets, owner *vault.User) (*sealedTenant, error) {
	ctx = vault.WithNewTenantKeysets(ctx, t.ID, t.Region, ks)
	name, err := db.seal(ctx, t.ID, tenantNameRef(t.ID), t.Name)
	if err != nil {
		return nil, err
	}
	of, err := db.sealUser(ctx, owner)
	if err != nil {
		return nil, err
	}
	return &sealedTenant{name: name, owner: of}, nil
}

// checkNewTenant validates a new firm and its owner, filling in empty ids,
// the owner's tenant and role.
func checkNewTenant(t *vault.Tenant, ks vault.TenantKeysets, owner *vault.User) error {
	if t == nil || owner == nil {
		return vault.Errorf(vault.EINVALID, "Tenant and owner required.")
	}
	if err := checkID(&t.ID, vault.PrefixTenant, "tenant"); err != nil {
		return err
	}
	switch {
	case t.Name == "":
		return vault.Errorf(vault.EINVALID, "Tenant name required.")
	case t.Region == "":
		return vault.Errorf(vault.EINVALID, "Tenant region required.")
	case len(ks.Document) == 0 || len(ks.Field) == 0:
		return vault.Errorf(vault.EINVALID, "Tenant keysets required.")
	}
	if owner.TenantID == "" {
		owner.TenantID = t.ID
	} else if owner.TenantID != t.ID {
		return vault.Errorf(vault.EINVALID, "Owner belongs to another tenant.")
	}
	if owner.Role == "" {
		owner.Role = vault.RoleOwner
	} else if owner.Role != vault.RoleOwner {
		return vault.Errorf(vault.EINVALID, "The first user of a tenant must be its owner.")
	}
	return validateUser(owner)
}

// insertTenant inserts a firm checked by checkNewTenant and its owner in tx.
func insertTenant(ctx context.Context, tx *tx, t *vault.Tenant, ks vault.TenantKeysets, owner *vault.User, sealed *sealedTenant) error {
	stamp(&t.CreatedAt, tx.now)
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO tenants (id, name, region, doc_keyset, field_keyset, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		t.ID, sealed.name, t.Region, ks.Document, ks.Field, formatTime(t.CreatedAt),
	); err != nil {
		return fmt.Errorf("insert tenant: %w", formatError(err))
	}
	return insertUser(ctx, tx, owner, sealed.owner)
}

// tenantColumns is the column list scanTenant reads.
const tenantColumns = `id, name, region, created_at`

// Tenant returns one firm with its name opened; a name that does not open
// is left "" and marked in the firm's Damage. Errors: not_found, internal
// (no Sealer).
func (db *DB) Tenant(ctx context.Context, id string) (*vault.Tenant, error) {
	row := db.db.QueryRowContext(ctx, `
		SELECT `+tenantColumns+`
		FROM tenants
		WHERE id = ?`, id)
	st, err := scanTenant(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vault.Errorf(vault.ENOTFOUND, "Tenant not found.")
	} else if err != nil {
		return nil, fmt.Errorf("tenant: %w", formatError(err))
	}
	if err := db.openTenant(ctx, st); err != nil {
		return nil, err
	}
	return st.t, nil
}

// Tenants returns every firm, oldest first, with their names opened; one
// that does not open is left "" and marked, and the others still read.
// Errors: internal (no Sealer).
func (db *DB) Tenants(ctx context.Context) ([]*vault.Tenant, error) {
	sealed, err := queryAll(ctx, db.db, "tenants", scanTenant, `
		SELECT `+tenantColumns+`
		FROM tenants
		ORDER BY created_at, rowid`)
	if err != nil {
		return nil, err
	}
	a := make([]*vault.Tenant, 0, len(sealed))
	for _, st := range sealed {
		if err := db.openTenant(ctx, st); err != nil {
			return nil, err
		}
		a = append(a, st.t)
	}
	return a, nil
}

// TenantKeysets returns the tenant's region and its wrapped keysets.
// Errors: not_found.
func (db *DB) TenantKeysets(ctx context.Context, tenantID string) (string, vault.TenantKeysets, error) {
	var region string
	var ks vault.TenantKeysets
	err := db.db.QueryRowContext(ctx, `
		SELECT region, doc_keyset, field_keyset
		FROM tenants
		WHERE id = ?`, tenantID,
	).Scan(&region, &ks.Document, &ks.Field)
	if errors.Is(err, sql.ErrNoRows) {
		return "", vault.TenantKeysets{}, vault.Errorf(vault.ENOTFOUND, "Tenant not found.")
	} else if err != nil {
		return "", vault.TenantKeysets{}, fmt.Errorf("tenant keysets: %w", formatError(err))
	}
	return region, ks, nil
}

// ReplaceTenantKeysets stores next in place of prev, atomically, failing with
// conflict if the stored keysets are no longer prev.
// Errors: not_found, conflict, invalid (empty next).
func (db *DB) ReplaceTenantKeysets(ctx context.Context, tenantID string, prev, next vault.TenantKeysets) error {
	if len(next.Document) == 0 || len(next.Field) == 0 {
		return vault.Errorf(vault.EINVALID, "Tenant keysets required.")
	}

	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	// Compare in Go rather than in the WHERE clause, so a stale prev and a
	// missing tenant are told apart within the one transaction.
	var cur vault.TenantKeysets
	err = tx.QueryRowContext(ctx, `
		SELECT doc_keyset, field_keyset
		FROM tenants
		WHERE id = ?`, tenantID,
	).Scan(&cur.Document, &cur.Field)
	if errors.Is(err, sql.ErrNoRows) {
		return vault.Errorf(vault.ENOTFOUND, "Tenant not found.")
	} else if err != nil {
		return fmt.Errorf("replace tenant keysets: %w", formatError(err))
	}
	if !bytes.Equal(cur.Document, prev.Document) || !bytes.Equal(cur.Field, prev.Field) {
		return vault.Errorf(vault.ECONFLICT, "Tenant keys were changed concurrently.")
	}

	if _, err := tx.ExecContext(ctx, `
		UPDATE tenants
		SET doc_keyset = ?, field_keyset = ?
		WHERE id = ?`,
		next.Document, next.Field, tenantID,
	); err != nil {
		return fmt.Errorf("replace tenant keysets: %w", formatError(err))
	}
	return tx.commit()
}

// readTenant is a firm as read, before its name is opened.
type readTenant struct {
	t    *vault.Tenant
	name []byte
}

// scanTenant reads the columns of tenantColumns.
func scanTenant(s scanner) (*readTenant, error) {
	rt := &readTenant{t: &vault.Tenant{}}
	if err := s.Scan(&rt.t.ID, &rt.name, &rt.t.Region, timeValue{&rt.t.CreatedAt}); err != nil {
		return nil, err
	}
	return rt, nil
}

// openTenant opens the sealed name of rt into rt.t, marking it in the
// firm's Damage when it fails authentication.
func (db *DB) openTenant(ctx context.Context, rt *readTenant) error {
	var err error
	rt.t.Name, err = db.openOrMark(ctx, rt.t.ID, tenantNameRef(rt.t.ID), rt.name, &rt.t.Damage)
	return err
}

// tenantNameRef names the sealed name cell of a firm.
func tenantNameRef(id string) vault.FieldRef {
	return vault.FieldRef{Table: "tenants", Column: "name", RowID: id}
}
