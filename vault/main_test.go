package vault_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

// env is a whole vault over real parts (vaulttest.Vault: a SQLite file, Tink
// keys wrapped by file master keys, local-directory region stores, all under
// one temp dir) on a clock that starts at a fixed time.
type env struct {
	*vaulttest.Vault
	clock *clock
}

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newEnv opens a vault with regions us and ca on fs stores, unless stores
// are given.
func newEnv(tb testing.TB, stores map[string]vault.BlobStore) *env {
	tb.Helper()
	dir := tb.TempDir()
	return openEnv(tb, dir, stores)
}

func openEnv(tb testing.TB, dir string, stores map[string]vault.BlobStore) *env {
	tb.Helper()
	v := vaulttest.Open(tb, dir, stores)
	clk := &clock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	v.Svc.Now = clk.Now
	v.DB.Now = clk.Now
	v.Clock = nil // replaced by clk: tests move e.clock
	return &env{Vault: v, clock: clk}
}

// firm creates a firm in region and returns its owner.
func (e *env) firm(tb testing.TB, name, region string) (*vault.Tenant, *vault.User) {
	tb.Helper()
	t, owner, _, err := e.Svc.CreateTenant(context.Background(), vault.NewTenant{
		Name: name, Region: region, Owner: vault.NewUser{Email: "owner@" + region + "-" + vault.NewID("x")[2:12] + ".example"},
	})
	if err != nil {
		tb.Fatalf("CreateTenant: %v", err)
	}
	return t, owner
}

// user adds a user with role to a firm.
func (e *env) user(tb testing.TB, tenantID string, role vault.Role) *vault.User {
	tb.Helper()
	u, _, err := e.Svc.AddUser(context.Background(), tenantID, vault.NewUser{Email: vault.NewID("u")[2:14] + "@example.com", Role: role})
	if err != nil {
		tb.Fatalf("AddUser: %v", err)
	}
	return u
}

// matter opens a matter as actor.
func (e *env) matter(tb testing.TB, actor *vault.User, name string) *vault.Matter {
	tb.Helper()
	m, err := e.Svc.CreateMatter(context.Background(), actor, name, "Client of "+name)
	if err != nil {
		tb.Fatalf("CreateMatter: %v", err)
	}
	return m
}

// put uploads content as a new document.
func (e *env) put(tb testing.TB, actor *vault.User, matterID, name string, content []byte) *vault.Document {
	tb.Helper()
	d, err := e.Svc.PutDocument(context.Background(), actor, vault.NewDocument{MatterID: matterID, Name: name, ContentType: "application/pdf"}, bytes.NewReader(content), int64(len(content)))
	if err != nil {
		tb.Fatalf("PutDocument: %v", err)
	}
	return d
}

// read returns bytes [off, off+n) of a document version.
func (e *env) read(tb testing.TB, actor *vault.User, id string, version int, off, n int64) ([]byte, error) {
	tb.Helper()
	c, err := e.Svc.OpenVersion(context.Background(), actor, id, version, vault.PermDownload)
	if err != nil {
		return nil, err
	}
	rc, err := c.Range(context.Background(), off, n)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// random returns n deterministic pseudo-random bytes.
func random(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// hashOf returns the SHA-256 of everything r yields.
func hashOf(tb testing.TB, r io.Reader) ([32]byte, int64) {
	tb.Helper()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		tb.Fatalf("read: %v", err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, n
}

func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := vault.ErrorCode(err); got != code {
		tb.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
}
