package sqlite_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
)

func TestDB_CreateMatter(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	tenant, owner := MustCreateTenant(t, db, "Firm")
	_, otherOwner := MustCreateTenant(t, db, "Other")

	t.Run("OK", func(t *testing.T) {
		m := &vault.Matter{TenantID: tenant.ID, Name: "Acme v. Roadrunner", Client: "Acme Corp.", CreatedBy: owner.ID}
		if err := db.CreateMatter(ctx, m); err != nil {
			t.Fatalf("CreateMatter: %v", err)
		}
		if !vault.ValidID(vault.PrefixMatter, m.ID) {
			t.Errorf("ID = %q, want a new matter id", m.ID)
		}
		got, err := db.Matter(ctx, tenant.ID, m.ID)
		if err != nil {
			t.Fatalf("Matter: %v", err)
		}
		if *got != *m {
			t.Errorf("Matter = %+v, want %+v", got, m)
		}
	})

	t.Run("EmptyClient", func(t *testing.T) {
		m := MustCreateMatter(t, db, owner, "Internal", "")
		got, err := db.Matter(ctx, tenant.ID, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Client != "" {
			t.Errorf("Client = %q, want empty", got.Client)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			m    vault.Matter
		}{
			{"Tenant", vault.Matter{TenantID: vault.NewID(vault.PrefixTenant), Name: "M", CreatedBy: owner.ID}},
			{"CreatorOfOtherTenant", vault.Matter{TenantID: tenant.ID, Name: "M", CreatedBy: otherOwner.ID}},
			{"Creator", vault.Matter{TenantID: tenant.ID, Name: "M", CreatedBy: vault.NewID(vault.PrefixUser)}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, db.CreateMatter(ctx, &tt.m), vault.ENOTFOUND)
			})
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			m    vault.Matter
		}{
			{"NoTenant", vault.Matter{Name: "M", CreatedBy: owner.ID}},
			{"NoName", vault.Matter{TenantID: tenant.ID, CreatedBy: owner.ID}},
			{"NoCreator", vault.Matter{TenantID: tenant.ID, Name: "M"}},
			{"BadID", vault.Matter{ID: "doc_x", TenantID: tenant.ID, Name: "M", CreatedBy: owner.ID}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, db.CreateMatter(ctx, &tt.m), vault.EINVALID)
			})
		}
	})
}

func TestDB_Matter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "casevault.db")
	db := MustOpenDBAt(t, path)
	tenant, owner := MustCreateTenant(t, db, "Firm")
	other, otherOwner := MustCreateTenant(t, db, "Other")
	m1 := MustCreateMatter(t, db, owner, "First", "Client 1")
	m2 := MustCreateMatter(t, db, owner, "Second", "Client 2")
	om := MustCreateMatter(t, db, otherOwner, "Theirs", "Their client")

	t.Run("ErrNotFound", func(t *testing.T) {
		for _, tt := range []struct{ name, tenantID, id string }{
			{"Missing", tenant.ID, vault.NewID(vault.PrefixMatter)},
			{"OtherTenant", tenant.ID, om.ID},
			{"OtherTenantReverse", other.ID, m1.ID},
		} {
			t.Run(tt.name, func(t *testing.T) {
				m, err := db.Matter(ctx, tt.tenantID, tt.id)
				wantCode(t, err, vault.ENOTFOUND)
				if m != nil {
					t.Errorf("Matter = %+v, want nil", m)
				}
			})
		}
	})

	t.Run("Matters", func(t *testing.T) {
		got, err := db.Matters(ctx, tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []*vault.Matter{m1, m2}
		if len(got) != len(want) {
			t.Fatalf("len(Matters) = %d, want %d", len(got), len(want))
		}
		for i := range want {
			if *got[i] != *want[i] {
				t.Errorf("Matters[%d] = %+v, want %+v", i, got[i], want[i])
			}
		}
	})

	t.Run("SealedAtRest", func(t *testing.T) {
		raw := rawDB(t, path)
		var name, client []byte
		if err := raw.QueryRow(`SELECT name, client FROM matters WHERE id = ?`, m1.ID).Scan(&name, &client); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(name, []byte("First")) || bytes.Contains(client, []byte("Client 1")) {
			t.Errorf("stored name %q / client %q hold plaintext", name, client)
		}
	})

	// A sealed value is bound to its cell: copying it to another column,
	// row or firm makes it unreadable rather than show the wrong name. The
	// read still returns the row, with the field empty and marked.
	t.Run("ErrCannotDecrypt", func(t *testing.T) {
		raw := rawDB(t, path)
		for _, tt := range []struct{ name, query string }{
			{"Column", `UPDATE matters SET name = client WHERE id = ?`},
			{"Row", `UPDATE matters SET name = (SELECT name FROM matters WHERE id = '` + m1.ID + `') WHERE id = ?`},
			{"Tenant", `UPDATE matters SET name = (SELECT name FROM matters WHERE id = '` + om.ID + `') WHERE id = ?`},
		} {
			t.Run(tt.name, func(t *testing.T) {
				victim := MustCreateMatter(t, db, owner, "Victim", "Victim client")
				if _, err := raw.Exec(tt.query, victim.ID); err != nil {
					t.Fatal(err)
				}
				got, err := db.Matter(ctx, tenant.ID, victim.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Error != vault.ECANNOTDECRYPT || got.Unreadable != "name" || got.Name != "" || got.Client != "Victim client" {
					t.Errorf("damaged matter = %+v, want name unreadable and client read", got)
				}
				all, err := db.Matters(ctx, tenant.ID)
				if err != nil {
					t.Fatalf("Matters with a damaged row: %v", err)
				}
				for _, m := range all {
					if (m.ID == victim.ID && !m.Damaged()) || (m.ID == m1.ID && (m.Damaged() || m.Name != m1.Name)) {
						t.Errorf("listed %s (%q) damaged %v", m.ID, m.Name, m.Damaged())
					}
				}
			})
		}
	})
}

// The schema itself refuses rows that point into another firm, whatever code
// writes them: every reference is a composite (tenant_id, id) foreign key.
func TestSchema_CrossTenantReferences(t *testing.T) {
	path := filepath.Join(t.TempDir(), "casevault.db")
	db := MustOpenDBAt(t, path)
	_, owner := MustCreateTenant(t, db, "Firm")
	_, otherOwner := MustCreateTenant(t, db, "Other")
	m := MustCreateMatter(t, db, owner, "M", "C")
	om := MustCreateMatter(t, db, otherOwner, "OM", "OC")
	d, _ := MustCreateDocument(t, db, m, owner.ID, "d.pdf")
	raw := rawDB(t, path)

	for _, tt := range []struct{ name, query string }{
		{"DocumentInOtherTenantsMatter", `UPDATE documents SET matter_id = '` + om.ID + `' WHERE id = '` + d.ID + `'`},
		{"MatterByOtherTenantsUser", `UPDATE matters SET created_by = '` + otherOwner.ID + `' WHERE id = '` + m.ID + `'`},
		{"VersionOfOtherTenantsDocument", `UPDATE versions SET tenant_id = '` + otherOwner.TenantID + `' WHERE document_id = '` + d.ID + `'`},
		{"UserOfUnknownTenant", `UPDATE users SET tenant_id = 'ten_missing' WHERE id = '` + owner.ID + `'`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := raw.Exec(tt.query); err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
				t.Errorf("Exec = %v, want a FOREIGN KEY error", err)
			}
		})
	}
}

func TestDB_UpdateMatter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "casevault.db")
	db := MustOpenDBAt(t, path)
	tenant, owner := MustCreateTenant(t, db, "Firm")
	_, otherOwner := MustCreateTenant(t, db, "Other")
	raw := rawDB(t, path)

	t.Run("RenameAndClose", func(t *testing.T) {
		m := MustCreateMatter(t, db, owner, "Old", "Old client")
		m.Name, m.Client, m.Closed = "New", "New client", true
		if err := db.UpdateMatter(ctx, m); err != nil {
			t.Fatal(err)
		}
		got, err := db.Matter(ctx, tenant.ID, m.ID)
		if err != nil || got.Name != "New" || got.Client != "New client" || !got.Closed || got.ClosedAt == nil || !got.ClosedAt.Equal(*m.ClosedAt) {
			t.Fatalf("Matter = %+v, %v", got, err)
		}
		got.Closed = false
		if err := db.UpdateMatter(ctx, got); err != nil {
			t.Fatal(err)
		}
		if got, _ = db.Matter(ctx, tenant.ID, m.ID); got.Closed || got.ClosedAt != nil {
			t.Fatalf("reopened = %+v", got)
		}
	})

	// A damaged field is left as stored when the matter is saved, so
	// closing a damaged matter does not overwrite the evidence; a rename
	// replaces it.
	t.Run("DamagedFieldKept", func(t *testing.T) {
		m := MustCreateMatter(t, db, owner, "Victim", "Victim client")
		if _, err := raw.Exec(`UPDATE matters SET name = client WHERE id = ?`, m.ID); err != nil {
			t.Fatal(err)
		}
		var before []byte
		raw.QueryRow(`SELECT name FROM matters WHERE id = ?`, m.ID).Scan(&before)
		got, err := db.Matter(ctx, tenant.ID, m.ID)
		if err != nil || got.Readable("name") {
			t.Fatalf("Matter = %+v, %v; want the name unreadable", got, err)
		}
		got.Closed = true
		if err := db.UpdateMatter(ctx, got); err != nil {
			t.Fatal(err)
		}
		var after []byte
		raw.QueryRow(`SELECT name FROM matters WHERE id = ?`, m.ID).Scan(&after)
		if !bytes.Equal(before, after) {
			t.Error("saving a damaged matter rewrote its damaged name")
		}
		if got, _ = db.Matter(ctx, tenant.ID, m.ID); !got.Closed || got.Readable("name") || got.Client != "Victim client" {
			t.Errorf("after close = %+v", got)
		}
		got.Name, got.Unreadable, got.Error = "Repaired", "", ""
		if err := db.UpdateMatter(ctx, got); err != nil {
			t.Fatal(err)
		}
		if got, _ = db.Matter(ctx, tenant.ID, m.ID); got.Name != "Repaired" || got.Damaged() {
			t.Errorf("after rename = %+v", got)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		om := MustCreateMatter(t, db, otherOwner, "Theirs", "C")
		wantCode(t, db.UpdateMatter(ctx, &vault.Matter{ID: om.ID, TenantID: tenant.ID, Name: "Mine", Client: "C"}), vault.ENOTFOUND)
		wantCode(t, db.UpdateMatter(ctx, &vault.Matter{ID: vault.NewID(vault.PrefixMatter), TenantID: tenant.ID, Name: "X", Client: "C"}), vault.ENOTFOUND)
		if got, _ := db.Matter(ctx, om.TenantID, om.ID); got.Name != "Theirs" {
			t.Errorf("other firm's matter = %+v", got)
		}
	})
}

// A closed matter refuses every change to its documents inside the write
// transaction, whatever the caller checked before.
func TestDB_ClosedMatter(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	_, owner := MustCreateTenant(t, db, "Firm")
	closed := MustCreateMatter(t, db, owner, "Closed", "C")
	open := MustCreateMatter(t, db, owner, "Open", "C")
	d, _ := MustCreateDocument(t, db, closed, owner.ID, "in.pdf")
	od, _ := MustCreateDocument(t, db, open, owner.ID, "out.pdf")
	closed.Closed = true
	if err := db.UpdateMatter(ctx, closed); err != nil {
		t.Fatal(err)
	}

	nd := &vault.Document{ID: vault.NewID(vault.PrefixDocument), TenantID: closed.TenantID, MatterID: closed.ID, Name: "new.pdf", CurrentVersion: 1, CreatedBy: owner.ID}
	wantCode(t, db.CreateDocument(ctx, nd, newVersion(t, db, nd, 1, owner.ID)), vault.ECONFLICT)
	wantCode(t, db.AddVersion(ctx, newVersion(t, db, d, 2, owner.ID)), vault.ECONFLICT)
	renamed := *d
	renamed.Name = "renamed.pdf"
	wantCode(t, db.UpdateDocument(ctx, &renamed), vault.ECONFLICT)
	out := *d
	out.MatterID = open.ID
	wantCode(t, db.UpdateDocument(ctx, &out), vault.ECONFLICT)
	in := *od
	in.MatterID = closed.ID
	wantCode(t, db.UpdateDocument(ctx, &in), vault.ECONFLICT)

	if got, _ := db.Document(ctx, d.TenantID, d.ID); got.Name != "in.pdf" || got.MatterID != closed.ID || got.CurrentVersion != 1 {
		t.Errorf("document in the closed matter = %+v", got)
	}
	if docs, _ := db.Documents(ctx, closed.TenantID, vault.DocumentFilter{MatterID: closed.ID}); len(docs) != 1 {
		t.Errorf("closed matter holds %d documents, want 1", len(docs))
	}
}
