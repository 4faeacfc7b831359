package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

// TestDB_IdentitySealed checks that firm names, users' emails and names,
// token names and content types are stored sealed, each bound to its cell,
// and that a damaged one marks its own row and no other: listings still
// read, with the damaged row's id and Error cannot_decrypt.
func TestDB_IdentitySealed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "casevault.db")
	db := MustOpenDBAt(t, path)
	tenant := &vault.Tenant{Name: "Marker Firm Zq7", Region: "us"}
	owner := newUser("", "marker-zq7@firm.example", vault.RoleOwner)
	owner.Name = "Marker Owner Zq7"
	if err := db.CreateTenant(ctx, tenant, newKeysets(t), owner); err != nil {
		t.Fatal(err)
	}
	other, _ := MustCreateTenant(t, db, "Other firm")
	lawyer := newUser(tenant.ID, "lawyer-zq7@firm.example", vault.RoleLawyer)
	lawyer.Name = "Marker Lawyer Zq7"
	if err := db.CreateUser(ctx, lawyer); err != nil {
		t.Fatal(err)
	}
	tok := &vault.Token{TenantID: tenant.ID, UserID: owner.ID, Kind: vault.TokenAPI, Name: "Marker Token Zq7"}
	if err := db.CreateToken(ctx, tok, hashOf("secret 1")); err != nil {
		t.Fatal(err)
	}
	tok2 := &vault.Token{TenantID: tenant.ID, UserID: owner.ID, Kind: vault.TokenAPI, Name: "Second token"}
	if err := db.CreateToken(ctx, tok2, hashOf("secret 2")); err != nil {
		t.Fatal(err)
	}
	m := MustCreateMatter(t, db, owner, "M", "C")
	d, v1 := MustCreateDocument(t, db, m, owner.ID, "d.pdf")
	v2 := newVersion(t, db, d, 2, owner.ID)
	v2.ContentType = "application/x-marker-zq7"
	if err := db.AddVersion(ctx, v2); err != nil {
		t.Fatal(err)
	}
	// Closing moves the WAL into the file; no marker is in either.
	MustCloseDB(t, db)
	if hits := markersIn(t, path, []string{"zq7"}); len(hits) > 0 {
		t.Errorf("plaintext in the database: %v", hits)
	}
	db = MustOpenDBAt(t, path)
	raw := rawDB(t, path)

	// break overwrites one sealed cell with another cell's ciphertext, as
	// someone with the file could.
	breakCell := func(t *testing.T, query string, args ...any) {
		t.Helper()
		if _, err := raw.Exec(query, args...); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("DamagedUser", func(t *testing.T) {
		breakCell(t, `UPDATE users SET email = name WHERE id = ?`, lawyer.ID)
		users, err := db.Users(ctx, tenant.ID)
		if err != nil {
			t.Fatalf("Users with one damaged row: %v", err)
		}
		if len(users) != 2 || users[0].Damaged() || users[0].Email != owner.Email {
			t.Fatalf("Users = %+v", users)
		}
		got := users[1]
		if got.ID != lawyer.ID || got.Error != vault.ECANNOTDECRYPT || got.Email != "" || got.Readable("email") ||
			got.Name != lawyer.Name || !got.Readable("name") {
			t.Errorf("damaged user = %+v", got)
		}
		// Still found, and still usable: only the email's text is lost.
		found, err := db.UsersByEmailIndex(ctx, [][]byte{lawyer.EmailIndex})
		if err != nil || len(found) != 1 || found[0].ID != lawyer.ID {
			t.Errorf("UsersByEmailIndex = %+v, %v", found, err)
		}
		// A rename saves the name and leaves the damaged email as stored.
		got.Name = "Renamed"
		if err := db.UpdateUser(ctx, got); err != nil {
			t.Fatal(err)
		}
		again, err := db.User(ctx, tenant.ID, lawyer.ID)
		if err != nil || again.Name != "Renamed" || again.Readable("email") {
			t.Errorf("after UpdateUser = %+v, %v", again, err)
		}
	})

	t.Run("DamagedToken", func(t *testing.T) {
		breakCell(t, `UPDATE tokens SET name = (SELECT name FROM tokens WHERE id = ?) WHERE id = ?`, tok2.ID, tok.ID)
		toks, err := db.Tokens(ctx, tenant.ID, owner.ID, time.Now())
		if err != nil {
			t.Fatalf("Tokens with one damaged row: %v", err)
		}
		if len(toks) != 2 || toks[0].ID != tok.ID || toks[0].Error != vault.ECANNOTDECRYPT || toks[0].Name != "" ||
			toks[1].Damaged() || toks[1].Name != "Second token" {
			t.Errorf("Tokens = %+v, %+v", toks[0], toks[1])
		}
		// The token still signs in.
		if got, err := db.TokenByHash(ctx, hashOf("secret 1")); err != nil || got.ID != tok.ID {
			t.Errorf("TokenByHash of the damaged token = %+v, %v", got, err)
		}
	})

	t.Run("DamagedTenant", func(t *testing.T) {
		breakCell(t, `UPDATE tenants SET name = (SELECT name FROM tenants WHERE id = ?) WHERE id = ?`, other.ID, tenant.ID)
		ts, err := db.Tenants(ctx)
		if err != nil {
			t.Fatalf("Tenants with one damaged row: %v", err)
		}
		if len(ts) != 2 || ts[0].ID != tenant.ID || ts[0].Error != vault.ECANNOTDECRYPT || ts[0].Name != "" || ts[0].Region != "us" ||
			ts[1].Damaged() || ts[1].Name != other.Name {
			t.Errorf("Tenants = %+v, %+v", ts[0], ts[1])
		}
	})

	t.Run("DamagedContentType", func(t *testing.T) {
		breakCell(t, `UPDATE versions SET content_type = (SELECT content_type FROM versions WHERE document_id = ? AND number = 2)
			WHERE document_id = ? AND number = 1`, d.ID, d.ID)
		vs, err := db.Versions(ctx, tenant.ID, d.ID)
		if err != nil {
			t.Fatalf("Versions with one damaged row: %v", err)
		}
		if len(vs) != 2 || vs[0].Error != vault.ECANNOTDECRYPT || vs[0].ContentType != "" ||
			vs[1].Damaged() || vs[1].ContentType != "application/x-marker-zq7" {
			t.Errorf("Versions = %+v, %+v", vs[0], vs[1])
		}
		if v, err := db.Version(ctx, tenant.ID, d.ID, 1); err != nil || v.BlobKey != v1.BlobKey || !v.Damaged() {
			t.Errorf("Version 1 = %+v, %v", v, err)
		}
		got, err := db.Document(ctx, tenant.ID, d.ID)
		if err != nil || got.ContentType != "application/x-marker-zq7" || got.Damaged() {
			t.Errorf("Document = %+v, %v", got, err)
		}
	})

	t.Run("ContentTypeFromDocument", func(t *testing.T) {
		// A version added without a content type takes the document's.
		v3 := newVersion(t, db, d, 3, owner.ID)
		v3.ContentType = ""
		if err := db.AddVersion(ctx, v3); err != nil {
			t.Fatal(err)
		}
		got, err := db.Version(ctx, tenant.ID, d.ID, 3)
		if err != nil || got.ContentType != "application/x-marker-zq7" || v3.ContentType != got.ContentType {
			t.Errorf("version 3 = %+v, %v", got, err)
		}
	})
}
