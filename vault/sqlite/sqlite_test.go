package sqlite_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/sqlite"
)

// MustOpenDB returns an open DB on a new file under tb.TempDir(), with a
// test sealer wired to it the way the key manager is in production. It is
// closed when the test ends.
func MustOpenDB(tb testing.TB) *sqlite.DB {
	tb.Helper()
	return MustOpenDBAt(tb, filepath.Join(tb.TempDir(), "casevault.db"))
}

// MustOpenDBAt opens the DB at path, like MustOpenDB.
func MustOpenDBAt(tb testing.TB, path string) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		tb.Fatalf("Open(%q): %v", path, err)
	}
	db.Sealer = &FakeSealer{Keys: db}
	tb.Cleanup(func() { db.Close() })
	return db
}

// MustCloseDB closes db. Fatal on error.
func MustCloseDB(tb testing.TB, db *sqlite.DB) {
	tb.Helper()
	if err := db.Close(); err != nil {
		tb.Fatalf("Close: %v", err)
	}
}

// FakeSealer is a test-only vault.FieldSealer. It really transforms bytes:
// plaintext is XORed with a SHA-256 keystream derived from the tenant's
// stored field keyset, a random nonce, the tenant and the FieldRef, and an
// HMAC tag over all of them makes a value fail to open in any other cell,
// firm, or after the keyset is replaced. Like keys.Manager, it reads keysets
// from the store it seals for.
type FakeSealer struct {
	Keys vault.KeysetStore
}

const fakeNonceSize, fakeTagSize = 16, 16

// SealField implements vault.FieldSealer.
func (s *FakeSealer) SealField(ctx context.Context, tenantID string, ref vault.FieldRef, plaintext string) ([]byte, error) {
	key, err := s.key(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]byte, fakeNonceSize, fakeNonceSize+len(plaintext)+fakeTagSize)
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	ad := fakeAD(tenantID, ref)
	ct := fakeXOR(key, out[:fakeNonceSize], ad, []byte(plaintext))
	out = append(out, ct...)
	return append(out, fakeTag(key, ad, out)...), nil
}

// OpenField implements vault.FieldSealer.
func (s *FakeSealer) OpenField(ctx context.Context, tenantID string, ref vault.FieldRef, ciphertext []byte) (string, error) {
	key, err := s.key(ctx, tenantID)
	if err != nil {
		return "", err
	}
	if len(ciphertext) < fakeNonceSize+fakeTagSize {
		return "", vault.Errorf(vault.ECANNOTDECRYPT, "Cannot decrypt field.")
	}
	ad := fakeAD(tenantID, ref)
	body, tag := ciphertext[:len(ciphertext)-fakeTagSize], ciphertext[len(ciphertext)-fakeTagSize:]
	if !hmac.Equal(tag, fakeTag(key, ad, body)) {
		return "", vault.Errorf(vault.ECANNOTDECRYPT, "Cannot decrypt field.")
	}
	return string(fakeXOR(key, body[:fakeNonceSize], ad, body[fakeNonceSize:])), nil
}

func (s *FakeSealer) key(ctx context.Context, tenantID string) ([]byte, error) {
	_, ks, err := s.Keys.TenantKeysets(ctx, tenantID)
	if vault.IsCode(err, vault.ENOTFOUND) {
		// A firm being created, as keys.Manager reads it.
		if _, nks, ok := vault.NewTenantKeysetsFrom(ctx, tenantID); ok {
			return nks.Field, nil
		}
	}
	if err != nil {
		return nil, err
	}
	return ks.Field, nil
}

// fakeAD encodes the tenant and cell unambiguously.
func fakeAD(tenantID string, ref vault.FieldRef) []byte {
	var b []byte
	for _, s := range []string{tenantID, ref.Table, ref.Column, ref.RowID} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}

func fakeXOR(key, nonce, ad, in []byte) []byte {
	out := make([]byte, len(in))
	for i := 0; i < len(in); i += sha256.Size {
		h := sha256.New()
		h.Write(key)
		h.Write(nonce)
		h.Write(ad)
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(i)))
		block := h.Sum(nil)
		for j := 0; j < sha256.Size && i+j < len(in); j++ {
			out[i+j] = in[i+j] ^ block[j]
		}
	}
	return out
}

func fakeTag(key, ad, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(ad)
	m.Write(body)
	return m.Sum(nil)[:fakeTagSize]
}

// randomBytes returns n random bytes, standing in for a wrapped keyset.
func randomBytes(tb testing.TB, n int) []byte {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return b
}

// newKeysets returns fresh stand-in wrapped keysets.
func newKeysets(tb testing.TB) vault.TenantKeysets {
	tb.Helper()
	return vault.TenantKeysets{Document: randomBytes(tb, 48), Field: randomBytes(tb, 32)}
}

// testIndex stands in for the service's blind index of an email (a keyed
// hash of the lower-cased address): the store only ever compares indexes.
func testIndex(email string) []byte {
	sum := sha256.Sum256([]byte("test email index\x00" + strings.ToLower(strings.TrimSpace(email))))
	return sum[:]
}

// newUser returns an unsaved user of tenantID with email and its index.
func newUser(tenantID, email string, role vault.Role) *vault.User {
	return &vault.User{TenantID: tenantID, Email: email, EmailIndex: testIndex(email), Name: "User", Role: role, PasswordHash: "$argon2id$x"}
}

// sameUser reports whether two users hold the same values.
func sameUser(a, b *vault.User) bool { return reflect.DeepEqual(a, b) }

// MustCreateTenant creates a firm in region "us" with a new owner.
func MustCreateTenant(tb testing.TB, db *sqlite.DB, name string) (*vault.Tenant, *vault.User) {
	tb.Helper()
	t := &vault.Tenant{Name: name, Region: "us"}
	email := strings.ToLower(vault.NewID("owner")) + "@example.com"
	owner := &vault.User{Email: email, EmailIndex: testIndex(email), Name: "Owner of " + name}
	if err := db.CreateTenant(context.Background(), t, newKeysets(tb), owner); err != nil {
		tb.Fatalf("CreateTenant(%q): %v", name, err)
	}
	return t, owner
}

// MustCreateUser creates a user of tenantID with the given role.
func MustCreateUser(tb testing.TB, db *sqlite.DB, tenantID string, role vault.Role) *vault.User {
	tb.Helper()
	u := newUser(tenantID, vault.NewID("u")+"@example.com", role)
	u.PasswordHash = ""
	if err := db.CreateUser(context.Background(), u); err != nil {
		tb.Fatalf("CreateUser: %v", err)
	}
	return u
}

// MustCreateMatter creates a matter of u's firm.
func MustCreateMatter(tb testing.TB, db *sqlite.DB, u *vault.User, name, client string) *vault.Matter {
	tb.Helper()
	m := &vault.Matter{TenantID: u.TenantID, Name: name, Client: client, CreatedBy: u.ID}
	if err := db.CreateMatter(context.Background(), m); err != nil {
		tb.Fatalf("CreateMatter: %v", err)
	}
	return m
}

// newVersion returns version n of document d, with a fresh blob key recorded
// as pending (as the Service does before writing a blob) when d's firm exists.
func newVersion(tb testing.TB, db *sqlite.DB, d *vault.Document, n int, createdBy string) *vault.Version {
	tb.Helper()
	v := &vault.Version{
		TenantID:   d.TenantID,
		DocumentID: d.ID,
		Number:     n,
		Sealed: vault.Sealed{
			Size:           int64(1000 * n),
			CiphertextSize: int64(1000*n + 64),
			PartSize:       65536,
			PartCipherSize: 65536 + 32,
			KeyID:          0xfffffff0 + uint32(n),
		},
		BlobKey:     d.TenantID + "/" + d.ID + "/" + vault.NewID(vault.PrefixBlob),
		ContentType: "application/pdf",
		CreatedBy:   createdBy,
	}
	ctx := context.Background()
	if t, err := db.Tenant(ctx, d.TenantID); err == nil {
		if err := db.CreatePendingBlob(ctx, vault.PendingBlob{Key: v.BlobKey, TenantID: t.ID, Region: t.Region}); err != nil {
			tb.Fatalf("CreatePendingBlob: %v", err)
		}
	}
	return v
}

// MustCreateDocument creates a document named name in m, with version 1.
func MustCreateDocument(tb testing.TB, db *sqlite.DB, m *vault.Matter, createdBy, name string) (*vault.Document, *vault.Version) {
	tb.Helper()
	d := &vault.Document{
		ID:             vault.NewID(vault.PrefixDocument),
		TenantID:       m.TenantID,
		MatterID:       m.ID,
		Name:           name,
		CurrentVersion: 1,
		CreatedBy:      createdBy,
	}
	v := newVersion(tb, db, d, 1, createdBy)
	if err := db.CreateDocument(context.Background(), d, v); err != nil {
		tb.Fatalf("CreateDocument: %v", err)
	}
	return d, v
}

// wantCode fails unless err carries code.
func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := vault.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

// rawDB opens the file at path with the plain driver and foreign keys on,
// for checks that look under the Store's abstraction.
func rawDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestOpen(t *testing.T) {
	db := MustOpenDB(t)
	if err := db.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	MustCloseDB(t, db)

	t.Run("ErrInvalid", func(t *testing.T) {
		for _, path := range []string{"", ":memory:", "file:x.db", filepath.Join(t.TempDir(), "a?b.db")} {
			_, err := sqlite.Open(context.Background(), path)
			if got, want := vault.ErrorCode(err), vault.EINVALID; got != want {
				t.Errorf("Open(%q) code = %q (%v), want %q", path, got, err, want)
			}
		}
	})

	t.Run("CreatesDirectoryAndPrivateFile", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nested", "dir", "casevault.db")
		MustOpenDBAt(t, path)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
			t.Errorf("file mode = %v, want %v", got, want)
		}
	})
}

// TestOpen_TempStoreInMemory: SQLite's temporary files would be written
// to the system's temp directory, outside the database's cell; every
// connection keeps them in memory (temp_store 2).
func TestOpen_TempStoreInMemory(t *testing.T) {
	db := MustOpenDB(t)
	for i := range 3 {
		got, err := db.Pragma(context.Background(), "temp_store")
		if err != nil || got != "2" {
			t.Errorf("connection %d: temp_store = %q (%v), want 2 (memory)", i, got, err)
		}
	}
}

func TestDB_Ping(t *testing.T) {
	db := MustOpenDB(t)
	MustCloseDB(t, db)
	wantCode(t, db.Ping(context.Background()), vault.EUNAVAILABLE)
}

func TestOpen_Migrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "casevault.db")
	db := MustOpenDBAt(t, path)
	tenant, _ := MustCreateTenant(t, db, "Firm")
	MustCloseDB(t, db)

	raw := rawDB(t, path)
	countMigrations := func() (n int) {
		t.Helper()
		if err := raw.QueryRow(`SELECT COUNT(*) FROM migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	first := countMigrations()
	if first == 0 {
		t.Fatal("no migrations recorded")
	}

	// Reopening applies nothing twice and keeps the data.
	for range 2 {
		db = MustOpenDBAt(t, path)
		if _, err := db.Tenant(ctx, tenant.ID); err != nil {
			t.Fatalf("Tenant after reopen: %v", err)
		}
		MustCloseDB(t, db)
	}
	if got, want := countMigrations(), first; got != want {
		t.Errorf("migrations after reopen = %d, want %d", got, want)
	}

	var mode string
	if err := raw.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if got, want := mode, "wal"; got != want {
		t.Errorf("journal_mode = %q, want %q", got, want)
	}
}

func TestDB_SealerRequired(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	_, owner := MustCreateTenant(t, db, "Firm")
	m := MustCreateMatter(t, db, owner, "Matter", "Client")
	d, _ := MustCreateDocument(t, db, m, owner.ID, "Doc.pdf")

	db.Sealer = nil
	err := db.CreateMatter(ctx, &vault.Matter{TenantID: owner.TenantID, Name: "X", CreatedBy: owner.ID})
	wantCode(t, err, vault.EINTERNAL)
	_, err = db.Matter(ctx, m.TenantID, m.ID)
	wantCode(t, err, vault.EINTERNAL)
	_, err = db.Document(ctx, d.TenantID, d.ID)
	wantCode(t, err, vault.EINTERNAL)
	wantCode(t, db.UpdateDocument(ctx, d), vault.EINTERNAL)
}

// Names are sealed before they reach SQLite, so no file SQLite writes (the
// database, its WAL or shared memory) holds them, and neither do errors.
func TestDB_NoPlaintextOnDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := MustOpenDBAt(t, filepath.Join(dir, "casevault.db"))
	const marker = "ZQXJ-Privileged-Marker"

	_, owner := MustCreateTenant(t, db, "Firm")
	m := MustCreateMatter(t, db, owner, "Matter "+marker, "Client "+marker)
	m2 := MustCreateMatter(t, db, owner, "Other "+marker, "Other client "+marker)
	d, v := MustCreateDocument(t, db, m, owner.ID, "Doc "+marker+".pdf")
	d.Name, d.MatterID = "Renamed "+marker+".pdf", m2.ID
	if err := db.UpdateDocument(ctx, d); err != nil {
		t.Fatalf("UpdateDocument: %v", err)
	}
	// Errors carry no names either.
	d2 := &vault.Document{TenantID: d.TenantID, MatterID: m.ID, Name: "Dup " + marker, CurrentVersion: 1, CreatedBy: owner.ID}
	v2 := newVersion(t, db, d2, 1, owner.ID)
	v2.BlobKey = v.BlobKey
	err := db.CreateDocument(ctx, d2, v2)
	wantCode(t, err, vault.ECONFLICT)
	if strings.Contains(err.Error(), marker) {
		t.Errorf("error %q contains the marker", err)
	}
	got, err := db.Document(ctx, d.TenantID, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != d.Name {
		t.Fatalf("Name = %q, want %q", got.Name, d.Name)
	}

	check := func() {
		t.Helper()
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		if len(files) == 0 {
			t.Fatal("no database files")
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte(marker)) || bytes.Contains(b, []byte("ZQXJ")) {
				t.Errorf("%s contains plaintext", filepath.Base(f))
			}
		}
	}
	check() // with the -wal and -shm files present
	MustCloseDB(t, db)
	check() // after the checkpoint on close
}

func TestDB_TimesUTC(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	zone := time.FixedZone("UTC-7", -7*60*60)
	now := time.Date(2026, 3, 4, 5, 6, 7, 123456789, zone)
	db.Now = func() time.Time { return now }

	tenant, owner := MustCreateTenant(t, db, "Firm")
	m := MustCreateMatter(t, db, owner, "Matter", "Client")
	d, v := MustCreateDocument(t, db, m, owner.ID, "Doc.pdf")

	gotT, err := db.Tenant(ctx, tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	gotU, err := db.User(ctx, owner.TenantID, owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	gotM, err := db.Matter(ctx, m.TenantID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	gotD, err := db.Document(ctx, d.TenantID, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	gotV, err := db.Version(ctx, v.TenantID, v.DocumentID, 1)
	if err != nil {
		t.Fatal(err)
	}
	for name, tm := range map[string]time.Time{
		"tenant.CreatedAt":   gotT.CreatedAt,
		"user.CreatedAt":     gotU.CreatedAt,
		"user.UpdatedAt":     gotU.UpdatedAt,
		"matter.CreatedAt":   gotM.CreatedAt,
		"document.CreatedAt": gotD.CreatedAt,
		"document.UpdatedAt": gotD.UpdatedAt,
		"version.CreatedAt":  gotV.CreatedAt,
	} {
		if !tm.Equal(now) {
			t.Errorf("%s = %v, want %v", name, tm, now)
		}
		if got := tm.Location(); got != time.UTC {
			t.Errorf("%s location = %v, want UTC", name, got)
		}
	}

	// A caller's time in another zone comes back as the same instant, in UTC.
	trashed := time.Date(2026, 5, 6, 23, 30, 0, 42, zone)
	gotD.Trashed, gotD.TrashedAt = true, &trashed
	if err := db.UpdateDocument(ctx, gotD); err != nil {
		t.Fatal(err)
	}
	gotD, err = db.Document(ctx, d.TenantID, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if gotD.TrashedAt == nil || !gotD.TrashedAt.Equal(trashed) || gotD.TrashedAt.Location() != time.UTC {
		t.Errorf("TrashedAt = %v, want %v in UTC", gotD.TrashedAt, trashed.UTC())
	}
}
