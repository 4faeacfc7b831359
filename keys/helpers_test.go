package keys_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
)

// headerSize is the blob header length fixed by docs/FORMAT.md.
const headerSize = 16

// memStore is an in-memory vault.KeysetStore. The real one, vault/sqlite,
// is covered by the lead's integration tests.
type memStore struct {
	mu      sync.Mutex
	tenants map[string]memTenant
	// beforeReplace, when set, runs at the start of ReplaceTenantKeysets,
	// outside the lock, to stage a concurrent change.
	beforeReplace func()
}

type memTenant struct {
	region string
	ks     vault.TenantKeysets
}

func newMemStore() *memStore { return &memStore{tenants: make(map[string]memTenant)} }

func (s *memStore) TenantKeysets(_ context.Context, tenantID string) (string, vault.TenantKeysets, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenantID]
	if !ok {
		return "", vault.TenantKeysets{}, vault.Errorf(vault.ENOTFOUND, "Firm not found.")
	}
	return t.region, t.ks, nil
}

func (s *memStore) ReplaceTenantKeysets(_ context.Context, tenantID string, prev, next vault.TenantKeysets) error {
	s.mu.Lock()
	f := s.beforeReplace
	s.beforeReplace = nil
	s.mu.Unlock()
	if f != nil {
		f()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenantID]
	if !ok {
		return vault.Errorf(vault.ENOTFOUND, "Firm not found.")
	}
	if !bytes.Equal(t.ks.Document, prev.Document) || !bytes.Equal(t.ks.Field, prev.Field) {
		return vault.Errorf(vault.ECONFLICT, "Keysets changed.")
	}
	t.ks = next
	s.tenants[tenantID] = t
	return nil
}

func (s *memStore) put(tenantID, region string, ks vault.TenantKeysets) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tenants[tenantID] = memTenant{region: region, ks: ks}
}

func (s *memStore) get(tenantID string) memTenant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tenants[tenantID]
}

// fixture is a Manager over an in-memory store with real file master keys
// for regions "us" and "ca".
type fixture struct {
	m       *keys.Manager
	store   *memStore
	masters map[string]keys.MasterKey
}

func newFixture(tb testing.TB, opts ...keys.Option) *fixture {
	tb.Helper()
	dir := tb.TempDir()
	masters := make(map[string]keys.MasterKey)
	for _, region := range []string{"us", "ca"} {
		mk, err := keys.LoadOrCreateFileMasterKey(filepath.Join(dir, "kek", region+".keyset"))
		if err != nil {
			tb.Fatalf("LoadOrCreateFileMasterKey(%s): %v", region, err)
		}
		masters[region] = mk
	}
	store := newMemStore()
	return &fixture{m: mustManager(tb, masters, store, opts...), store: store, masters: masters}
}

func mustManager(tb testing.TB, masters map[string]keys.MasterKey, store vault.KeysetStore, opts ...keys.Option) *keys.Manager {
	tb.Helper()
	m, err := keys.NewManager(masters, store, opts...)
	if err != nil {
		tb.Fatalf("NewManager: %v", err)
	}
	return m
}

// newTenant creates a firm in region and returns its id.
func (f *fixture) newTenant(tb testing.TB, region string) string {
	tb.Helper()
	id := vault.NewID(vault.PrefixTenant)
	ks, err := f.m.NewTenantKeysets(context.Background(), id, region)
	if err != nil {
		tb.Fatalf("NewTenantKeysets(%s): %v", region, err)
	}
	f.store.put(id, region, ks)
	return id
}

func newRef(tenantID string) vault.DocRef {
	return vault.DocRef{TenantID: tenantID, DocumentID: vault.NewID(vault.PrefixDocument), Version: 1}
}

func randBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)})
	_, _ = r.Read(b)
	return b
}

func mustEncrypt(tb testing.TB, m *keys.Manager, ref vault.DocRef, plain []byte) ([]byte, vault.Sealed) {
	tb.Helper()
	var blob bytes.Buffer
	s, err := m.EncryptDocument(context.Background(), ref, bytes.NewReader(plain), &blob)
	if err != nil {
		tb.Fatalf("EncryptDocument(%d bytes): %v", len(plain), err)
	}
	return blob.Bytes(), s
}

// fetcher serves a blob the way a BlobStore's Get does: an offset beyond the
// end is invalid, and a range running past the end is cut short. It records
// every call.
type fetcher struct {
	blob  []byte
	calls [][2]int64 // offset, length
	bytes int64
}

func (f *fetcher) fetch(_ context.Context, off, n int64) (io.ReadCloser, error) {
	f.calls = append(f.calls, [2]int64{off, n})
	if off < 0 || n < 0 || off > int64(len(f.blob)) {
		return nil, vault.Errorf(vault.EINVALID, "Offset beyond the end.")
	}
	end := min(off+n, int64(len(f.blob)))
	f.bytes += end - off
	return io.NopCloser(bytes.NewReader(f.blob[off:end])), nil
}

// decrypt reads [off, off+n) of blob and returns every byte released before
// the first error, with that error.
func decrypt(m *keys.Manager, ref vault.DocRef, s vault.Sealed, blob []byte, off, n int64) ([]byte, error) {
	f := &fetcher{blob: blob}
	return decryptWith(m, ref, s, f.fetch, off, n)
}

func decryptWith(m *keys.Manager, ref vault.DocRef, s vault.Sealed, fetch vault.RangeFetcher, off, n int64) ([]byte, error) {
	rc, err := m.DecryptRange(context.Background(), ref, s, off, n, fetch)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var got bytes.Buffer
	_, err = io.Copy(&got, rc)
	return got.Bytes(), err
}

func assertCode(tb testing.TB, err error, want string) {
	tb.Helper()
	if got := vault.ErrorCode(err); got != want {
		tb.Fatalf("error code = %q, want %q (err: %v)", got, want, err)
	}
}
