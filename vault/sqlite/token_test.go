package sqlite_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/sqlite"
)

// hashOf returns the SHA-256 of s, standing in for a token secret's hash.
func hashOf(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// MustCreateToken creates a token of kind for u with the hash of secret.
func MustCreateToken(tb testing.TB, db *sqlite.DB, u *vault.User, kind, secret string, expiresAt *time.Time) *vault.Token {
	tb.Helper()
	tok := &vault.Token{TenantID: u.TenantID, UserID: u.ID, Kind: kind, Name: "t-" + secret, ExpiresAt: expiresAt}
	if err := db.CreateToken(context.Background(), tok, hashOf(secret)); err != nil {
		tb.Fatalf("CreateToken: %v", err)
	}
	return tok
}

func TestDB_CreateToken(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	tenant, owner := MustCreateTenant(t, db, "Firm")
	other, otherOwner := MustCreateTenant(t, db, "Other")

	t.Run("OK", func(t *testing.T) {
		zone := time.FixedZone("UTC+2", 2*60*60)
		exp := time.Date(2026, 11, 26, 14, 0, 0, 5, zone)
		tok := &vault.Token{TenantID: tenant.ID, UserID: owner.ID, Kind: vault.TokenAPI, Name: "Nightly export", ExpiresAt: &exp}
		if err := db.CreateToken(ctx, tok, hashOf("secret-1")); err != nil {
			t.Fatalf("CreateToken: %v", err)
		}
		if !vault.ValidID(vault.PrefixToken, tok.ID) || !tok.CreatedAt.Equal(now) {
			t.Errorf("token = %+v, want a new id and CreatedAt %v", tok, now)
		}
		got, err := db.TokenByHash(ctx, hashOf("secret-1"))
		if err != nil {
			t.Fatalf("TokenByHash: %v", err)
		}
		if got.ID != tok.ID || got.TenantID != tenant.ID || got.UserID != owner.ID || got.Kind != vault.TokenAPI ||
			got.Name != "Nightly export" || !got.CreatedAt.Equal(now) || got.LastUsedAt != nil ||
			got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) || got.ExpiresAt.Location() != time.UTC {
			t.Errorf("TokenByHash = %+v, want %+v", got, tok)
		}

		session := MustCreateToken(t, db, owner, vault.TokenSession, "secret-2", nil)
		got, err = db.TokenByHash(ctx, hashOf("secret-2"))
		if err != nil || got.ID != session.ID || got.ExpiresAt != nil || got.Kind != vault.TokenSession {
			t.Errorf("TokenByHash = %+v, %v; want session %s without expiry", got, err, session.ID)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		// A user of another firm is not found, exactly like a missing one.
		for _, tt := range []struct{ name, tenantID, userID string }{
			{"OtherFirmsUser", tenant.ID, otherOwner.ID},
			{"OtherFirm", other.ID, owner.ID},
			{"MissingUser", tenant.ID, vault.NewID(vault.PrefixUser)},
			{"MissingTenant", vault.NewID(vault.PrefixTenant), owner.ID},
		} {
			t.Run(tt.name, func(t *testing.T) {
				err := db.CreateToken(ctx, &vault.Token{TenantID: tt.tenantID, UserID: tt.userID, Kind: vault.TokenSession}, hashOf(tt.name))
				wantCode(t, err, vault.ENOTFOUND)
			})
		}
		_, err := db.TokenByHash(ctx, hashOf("never issued"))
		wantCode(t, err, vault.ENOTFOUND)
	})

	t.Run("ErrConflict", func(t *testing.T) {
		MustCreateToken(t, db, owner, vault.TokenSession, "dup", nil)
		err := db.CreateToken(ctx, &vault.Token{TenantID: otherOwner.TenantID, UserID: otherOwner.ID, Kind: vault.TokenSession}, hashOf("dup"))
		wantCode(t, err, vault.ECONFLICT)
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			tok  vault.Token
			hash []byte
		}{
			{"Kind", vault.Token{TenantID: tenant.ID, UserID: owner.ID, Kind: "root"}, hashOf("a")},
			{"NoKind", vault.Token{TenantID: tenant.ID, UserID: owner.ID}, hashOf("b")},
			{"NoUser", vault.Token{TenantID: tenant.ID, Kind: vault.TokenAPI}, hashOf("c")},
			{"ShortHash", vault.Token{TenantID: tenant.ID, UserID: owner.ID, Kind: vault.TokenAPI}, []byte("short")},
			{"BadID", vault.Token{ID: "tok_1", TenantID: tenant.ID, UserID: owner.ID, Kind: vault.TokenAPI}, hashOf("d")},
		} {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, db.CreateToken(ctx, &tt.tok, tt.hash), vault.EINVALID)
			})
		}
		wantCode(t, db.CreateToken(ctx, nil, hashOf("e")), vault.EINVALID)
	})
}

func TestDB_Tokens(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	tenant, owner := MustCreateTenant(t, db, "Firm")
	colleague := MustCreateUser(t, db, tenant.ID, vault.RoleLawyer)
	_, otherOwner := MustCreateTenant(t, db, "Other")

	soon, later := now.Add(time.Hour), now.Add(48*time.Hour)
	a := MustCreateToken(t, db, owner, vault.TokenSession, "a", &soon)
	now = now.Add(time.Second)
	b := MustCreateToken(t, db, owner, vault.TokenAPI, "b", nil)
	now = now.Add(time.Second)
	c := MustCreateToken(t, db, owner, vault.TokenAPI, "c", &later)
	revoked := MustCreateToken(t, db, owner, vault.TokenAPI, "r", nil)
	if err := db.RevokeToken(ctx, owner.TenantID, owner.ID, revoked.ID); err != nil {
		t.Fatal(err)
	}
	MustCreateToken(t, db, colleague, vault.TokenSession, "col", nil)
	MustCreateToken(t, db, otherOwner, vault.TokenSession, "oth", nil)

	ids := func(at time.Time) string {
		t.Helper()
		toks, err := db.Tokens(ctx, tenant.ID, owner.ID, at)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, x := range toks {
			ids = append(ids, x.ID)
		}
		return fmt.Sprint(ids)
	}
	if got, want := ids(now), fmt.Sprint([]string{a.ID, b.ID, c.ID}); got != want {
		t.Errorf("Tokens = %s, want %s", got, want)
	}
	// A token is expired from its expiry on.
	if got, want := ids(soon.Add(-time.Nanosecond)), fmt.Sprint([]string{a.ID, b.ID, c.ID}); got != want {
		t.Errorf("Tokens just before expiry = %s, want %s", got, want)
	}
	if got, want := ids(soon), fmt.Sprint([]string{b.ID, c.ID}); got != want {
		t.Errorf("Tokens at expiry = %s, want %s", got, want)
	}
	if got, want := ids(later.Add(time.Hour)), fmt.Sprint([]string{b.ID}); got != want {
		t.Errorf("Tokens later = %s, want %s", got, want)
	}
	// Another firm's tenant id finds nothing.
	if toks, err := db.Tokens(ctx, otherOwner.TenantID, owner.ID, now); err != nil || len(toks) != 0 {
		t.Errorf("Tokens(other firm) = %d, %v; want none", len(toks), err)
	}
}

func TestDB_RevokeToken(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	tenant, owner := MustCreateTenant(t, db, "Firm")
	colleague := MustCreateUser(t, db, tenant.ID, vault.RoleLawyer)
	other, otherOwner := MustCreateTenant(t, db, "Other")
	tok := MustCreateToken(t, db, owner, vault.TokenSession, "mine", nil)

	t.Run("ErrNotFound", func(t *testing.T) {
		for _, tt := range []struct{ name, tenantID, userID, id string }{
			{"Colleague", tenant.ID, colleague.ID, tok.ID},
			{"OtherFirm", other.ID, otherOwner.ID, tok.ID},
			{"OtherFirmSameUser", other.ID, owner.ID, tok.ID},
			{"Missing", tenant.ID, owner.ID, vault.NewID(vault.PrefixToken)},
		} {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, db.RevokeToken(ctx, tt.tenantID, tt.userID, tt.id), vault.ENOTFOUND)
			})
		}
		if _, err := db.TokenByHash(ctx, hashOf("mine")); err != nil {
			t.Fatalf("token gone after failed revokes: %v", err)
		}
	})

	if err := db.RevokeToken(ctx, tenant.ID, owner.ID, tok.ID); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	_, err := db.TokenByHash(ctx, hashOf("mine"))
	wantCode(t, err, vault.ENOTFOUND)
	wantCode(t, db.RevokeToken(ctx, tenant.ID, owner.ID, tok.ID), vault.ENOTFOUND)
	// A revoked token's hash stays taken: a secret is never reused.
	err = db.CreateToken(ctx, &vault.Token{TenantID: tenant.ID, UserID: owner.ID, Kind: vault.TokenSession}, hashOf("mine"))
	wantCode(t, err, vault.ECONFLICT)
}

func TestDB_TokenLive(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	tenant, owner := MustCreateTenant(t, db, "Firm")
	other, _ := MustCreateTenant(t, db, "Other")
	past := now.Add(-time.Hour)
	tok := MustCreateToken(t, db, owner, vault.TokenSession, "live", nil)
	expired := MustCreateToken(t, db, owner, vault.TokenAPI, "expired", &past)

	for _, tt := range []struct {
		name, tenantID, id string
		want               bool
	}{
		{"Live", tenant.ID, tok.ID, true},
		{"Expired", tenant.ID, expired.ID, true}, // expiry is the caller's to judge
		{"OtherFirm", other.ID, tok.ID, false},
		{"Missing", tenant.ID, vault.NewID(vault.PrefixToken), false},
	} {
		if got, err := db.TokenLive(ctx, tt.tenantID, tt.id); err != nil || got != tt.want {
			t.Errorf("%s: TokenLive = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
	if err := db.RevokeToken(ctx, tenant.ID, owner.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := db.TokenLive(ctx, tenant.ID, tok.ID); err != nil || got {
		t.Errorf("revoked: TokenLive = %v, %v; want false", got, err)
	}
}

func TestDB_RevokeUserTokens(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	tenant, owner := MustCreateTenant(t, db, "Firm")
	colleague := MustCreateUser(t, db, tenant.ID, vault.RoleLawyer)
	_, otherOwner := MustCreateTenant(t, db, "Other")

	s1 := MustCreateToken(t, db, owner, vault.TokenSession, "s1", nil)
	MustCreateToken(t, db, owner, vault.TokenSession, "s2", nil)
	MustCreateToken(t, db, owner, vault.TokenAPI, "a1", nil)
	MustCreateToken(t, db, colleague, vault.TokenSession, "c1", nil)
	MustCreateToken(t, db, otherOwner, vault.TokenSession, "o1", nil)

	live := func(secret string) bool {
		t.Helper()
		_, err := db.TokenByHash(ctx, hashOf(secret))
		if err != nil && !vault.IsCode(err, vault.ENOTFOUND) {
			t.Fatal(err)
		}
		return err == nil
	}

	// Sessions but one.
	n, err := db.RevokeUserTokens(ctx, tenant.ID, owner.ID, vault.TokenSession, s1.ID)
	if err != nil || n != 1 {
		t.Fatalf("RevokeUserTokens = %d, %v; want 1", n, err)
	}
	if !live("s1") || live("s2") || !live("a1") || !live("c1") || !live("o1") {
		t.Fatal("wrong tokens revoked")
	}
	// Everything, of every kind.
	n, err = db.RevokeUserTokens(ctx, tenant.ID, owner.ID, "", "")
	if err != nil || n != 2 {
		t.Fatalf("RevokeUserTokens = %d, %v; want 2", n, err)
	}
	if live("s1") || live("a1") || !live("c1") || !live("o1") {
		t.Fatal("wrong tokens revoked")
	}
	// Nothing left; another firm's id revokes nothing.
	if n, err := db.RevokeUserTokens(ctx, tenant.ID, owner.ID, "", ""); err != nil || n != 0 {
		t.Fatalf("RevokeUserTokens again = %d, %v; want 0", n, err)
	}
	if n, err := db.RevokeUserTokens(ctx, tenant.ID, otherOwner.ID, "", ""); err != nil || n != 0 || !live("o1") {
		t.Fatalf("RevokeUserTokens(other firm's user) = %d, %v; want 0", n, err)
	}
}

func TestDB_TouchToken(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	tenant, owner := MustCreateTenant(t, db, "Firm")
	other, _ := MustCreateTenant(t, db, "Other")
	tok := MustCreateToken(t, db, owner, vault.TokenAPI, "x", nil)

	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.FixedZone("UTC-5", -5*60*60))
	if err := db.TouchToken(ctx, tenant.ID, tok.ID, at); err != nil {
		t.Fatalf("TouchToken: %v", err)
	}
	got, err := db.TokenByHash(ctx, hashOf("x"))
	if err != nil {
		t.Fatal(err)
	}
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(at) || got.LastUsedAt.Location() != time.UTC {
		t.Errorf("LastUsedAt = %v, want %v in UTC", got.LastUsedAt, at)
	}
	wantCode(t, db.TouchToken(ctx, other.ID, tok.ID, at), vault.ENOTFOUND)
	wantCode(t, db.TouchToken(ctx, tenant.ID, vault.NewID(vault.PrefixToken), at), vault.ENOTFOUND)
}

// The schema itself refuses a token that points at another firm's user, and
// stores no secret.
func TestDB_TokenSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "casevault.db")
	db := MustOpenDBAt(t, path)
	tenant, owner := MustCreateTenant(t, db, "Firm")
	_, otherOwner := MustCreateTenant(t, db, "Other")
	tok := MustCreateToken(t, db, owner, vault.TokenSession, "the-secret", nil)

	raw := rawDB(t, path)
	_, err := raw.ExecContext(ctx, `
		INSERT INTO tokens (id, tenant_id, user_id, kind, hash, created_at)
		VALUES (?, ?, ?, 'session', ?, '2026-01-01T00:00:00.000000000Z')`,
		vault.NewID(vault.PrefixToken), tenant.ID, otherOwner.ID, hashOf("cross"))
	if err == nil {
		t.Fatal("inserted a token for another firm's user")
	}
	var hash []byte
	if err := raw.QueryRowContext(ctx, `SELECT hash FROM tokens WHERE id = ?`, tok.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(hash, hashOf("the-secret")) {
		t.Errorf("stored hash = %x, want the SHA-256 of the secret", hash)
	}
	plan := ""
	rows, err := raw.QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT id FROM tokens WHERE hash = ? AND revoked_at IS NULL`, hash)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan += detail + "\n"
	}
	if !strings.Contains(plan, "tokens_hash") {
		t.Errorf("lookup by hash does not use the hash index:\n%s", plan)
	}
}

func TestDB_PurgeTokens(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	_, owner := MustCreateTenant(t, db, "Firm")
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	expired := MustCreateToken(t, db, owner, vault.TokenSession, "expired", &past)
	live := MustCreateToken(t, db, owner, vault.TokenSession, "live", &future)
	forever := MustCreateToken(t, db, owner, vault.TokenAPI, "forever", nil)
	revoked := MustCreateToken(t, db, owner, vault.TokenAPI, "revoked", nil)
	if err := db.RevokeToken(ctx, owner.TenantID, owner.ID, revoked.ID); err != nil {
		t.Fatal(err)
	}
	// Nothing expired or revoked before an hour ago.
	if n, err := db.PurgeTokens(ctx, now.Add(-2*time.Hour)); err != nil || n != 0 {
		t.Fatalf("purge before anything ended: %d, %v", n, err)
	}
	if n, err := db.PurgeTokens(ctx, now.Add(time.Minute)); err != nil || n != 2 {
		t.Fatalf("purge = %d, %v; want the expired and the revoked token", n, err)
	}
	for _, tok := range []*vault.Token{expired, revoked} {
		if _, err := db.TokenByHash(ctx, hashOf(strings.TrimPrefix(tok.Name, "t-"))); vault.ErrorCode(err) != vault.ENOTFOUND {
			t.Errorf("token %s still there: %v", tok.Name, err)
		}
	}
	for _, tok := range []*vault.Token{live, forever} {
		if _, err := db.TokenByHash(ctx, hashOf(strings.TrimPrefix(tok.Name, "t-"))); err != nil {
			t.Errorf("token %s purged: %v", tok.Name, err)
		}
	}
}
