// Package keys holds CaseVault's key boundary: per-firm Tink keysets, wrapped
// by their region's master key, and the document and field encryption built
// on them (docs/FORMAT.md). It is the only package that imports Tink; keyset
// handles and key material never leave it, and nothing here logs.
package keys

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecuresecretdataaccess"
	"github.com/tink-crypto/tink-go/v2/key"
	"github.com/tink-crypto/tink-go/v2/keyset"
	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
	"github.com/tink-crypto/tink-go/v2/streamingaead"
	"github.com/tink-crypto/tink-go/v2/streamingaead/aesgcmhkdf"
	"github.com/tink-crypto/tink-go/v2/streamingaead/subtle"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/casevault/casevault/internal/budget"
	"github.com/casevault/casevault/vault"
)

// Compile-time check that Manager is the vault's key boundary.
var _ vault.KeyManager = (*Manager)(nil)

const (
	// DefaultPartSize is the plaintext size of one independently
	// authenticated part of a document blob.
	DefaultPartSize = 1 << 20
	// MaxPartSize bounds the part size, both for writing and for what a
	// Sealed may claim when reading, since a part is buffered whole.
	MaxPartSize = 64 << 20
	// DefaultReadAheadMemory bounds the part buffers that range reads hold
	// beyond the two each needs: about seven downloads at once decrypt
	// ahead of their clients, the others one part at a time.
	DefaultReadAheadMemory = 64 << 20
)

// The templates of a firm's keysets; rotation adds a key of the current
// template. Documents use 4 KB segments: Tink's reader allocates a
// segment-sized buffer per part, and with 1 MB segments (keys made before)
// that cost more CPU than AES-GCM; old keys still decrypt.
var documentTemplate = streamingaead.AES256GCMHKDF4KBKeyTemplate

func fieldTemplate() *tinkpb.KeyTemplate { return aead.AES256GCMKeyTemplate() }

// Option configures a Manager.
type Option func(*Manager)

// WithPartSize sets the plaintext part size of documents encrypted from now
// on; documents already written keep theirs. Meant for tests, which want many
// parts from few bytes. NewManager rejects sizes outside [1, MaxPartSize].
func WithPartSize(n int) Option {
	return func(m *Manager) { m.partSize = n }
}

// WithReadAheadMemory sets how many bytes of part buffers all range reads
// together may hold beyond the two each one needs (default
// DefaultReadAheadMemory). A range read that finds enough of it free
// fetches and decrypts several parts ahead of its reader, on both cores;
// one that does not works a part at a time. So with many downloads at once,
// when the cores are busy anyway, memory stays at about two parts per
// download. 0 turns read-ahead off; NewManager rejects a negative value.
func WithReadAheadMemory(n int64) Option {
	return func(m *Manager) { m.readAheadMemory = n }
}

// ReadAheadMemory reports the read-ahead budget: its limit, what range
// reads hold now, and how many went without since the manager started.
func (m *Manager) ReadAheadMemory() vault.MemoryBudget {
	return m.readAhead.Report()
}

// Manager implements vault.KeyManager. It unwraps a firm's keysets on first
// use and keeps the primitives in memory, never on disk, until the firm's
// keys rotate or Forget is called. It is safe for concurrent use.
type Manager struct {
	masters  map[string]MasterKey
	store    vault.KeysetStore
	partSize int
	// readAhead bounds the extra part buffers of range reads in progress,
	// readAheadMemory bytes.
	readAhead       *budget.Budget
	readAheadMemory int64

	mu    sync.Mutex
	gen   uint64 // bumped by every invalidation, so stale loads are not cached
	cache map[string]*tenantKeys
}

// tenantKeys are a firm's unwrapped primitives.
type tenantKeys struct {
	region   string
	wrapped  vault.TenantKeysets
	doc      tink.StreamingAEAD
	docKeyID uint32 // primary key of the document keyset
	// docKeys holds one primitive per enabled key of the document keyset.
	// Decrypting with the key a blob names skips the keyset wrapper's
	// trial decryption, which buffers and copies every part once more.
	docKeys map[uint32]tink.StreamingAEAD
	field   tink.AEAD

	cipherOnce sync.Once
	cipherSize int // ciphertext bytes of a full part of the manager's part size
	cipherErr  error
}

// NewManager returns a Manager that wraps keysets with masters, one master
// key per region name, and reads firms' keysets from store.
// Errors: invalid (no master keys, a nil one, a nil store or a bad option).
func NewManager(masters map[string]MasterKey, store vault.KeysetStore, opts ...Option) (*Manager, error) {
	m := &Manager{
		masters:  maps.Clone(masters),
		store:    store,
		partSize: DefaultPartSize,
		cache:    make(map[string]*tenantKeys),

		readAheadMemory: DefaultReadAheadMemory,
	}
	for _, o := range opts {
		o(m)
	}
	switch {
	case len(m.masters) == 0:
		return nil, vault.Errorf(vault.EINVALID, "No region master keys configured.")
	case store == nil:
		return nil, vault.Errorf(vault.EINVALID, "No keyset store given.")
	case m.partSize < 1 || m.partSize > MaxPartSize:
		return nil, vault.Errorf(vault.EINVALID, "Part size %d is out of range [1, %d].", m.partSize, MaxPartSize)
	case m.readAheadMemory < 0:
		return nil, vault.Errorf(vault.EINVALID, "Read-ahead memory %d is negative.", m.readAheadMemory)
	}
	m.readAhead = budget.New(m.readAheadMemory)
	for region, k := range m.masters {
		if k == nil {
			return nil, vault.Errorf(vault.EINVALID, "Master key of region %q is nil.", region)
		}
	}
	return m, nil
}

// NewTenantKeysets generates a streaming-AEAD keyset for documents and an
// AEAD keyset for fields and returns them wrapped by region's master key,
// bound to their purpose, tenantID and region. Nothing is stored.
// Errors: invalid (empty tenant id, unknown region), unavailable, internal.
func (m *Manager) NewTenantKeysets(ctx context.Context, tenantID, region string) (vault.TenantKeysets, error) {
	if tenantID == "" {
		return vault.TenantKeysets{}, vault.Errorf(vault.EINVALID, "Tenant id is empty.")
	}
	if _, ok := m.masters[region]; !ok {
		return vault.TenantKeysets{}, vault.Errorf(vault.EINVALID, "Unknown region %q; configured regions: %s.",
			region, strings.Join(slices.Sorted(maps.Keys(m.masters)), ", "))
	}
	kek, err := m.kek(ctx, region)
	if err != nil {
		return vault.TenantKeysets{}, err
	}
	docH, err := keyset.NewHandle(documentTemplate())
	if err != nil {
		return vault.TenantKeysets{}, vault.WrapError(vault.EINTERNAL, err, "Cannot generate document keyset.")
	}
	fieldH, err := keyset.NewHandle(fieldTemplate())
	if err != nil {
		return vault.TenantKeysets{}, vault.WrapError(vault.EINTERNAL, err, "Cannot generate field keyset.")
	}
	return wrapPair(kek, tenantID, region, docH, fieldH)
}

// RotateTenantKeys adds a fresh key to each of the firm's keysets, makes it
// primary, and stores the re-wrapped keysets in place of the ones it read.
// Old keys stay, so everything written before still decrypts.
// Errors: not_found, conflict (a concurrent rotation won), cannot_decrypt
// (stored keysets do not unwrap), unavailable, internal.
func (m *Manager) RotateTenantKeys(ctx context.Context, tenantID string) error {
	// Whatever happens, the next use reads the keysets afresh.
	defer m.Forget(tenantID)

	region, prev, err := m.store.TenantKeysets(ctx, tenantID)
	if err != nil {
		return err
	}
	kek, err := m.kek(ctx, region)
	if err != nil {
		return err
	}
	docH, fieldH, err := unwrapPair(kek, tenantID, region, prev)
	if err != nil {
		return err
	}
	if docH, err = addPrimary(docH, documentTemplate()); err != nil {
		return err
	}
	if fieldH, err = addPrimary(fieldH, fieldTemplate()); err != nil {
		return err
	}
	next, err := wrapPair(kek, tenantID, region, docH, fieldH)
	if err != nil {
		return err
	}
	return m.store.ReplaceTenantKeysets(ctx, tenantID, prev, next)
}

// Forget drops the firm's cached primitives, so the next use unwraps its
// keysets from the store again, for example after they were destroyed.
func (m *Manager) Forget(tenantID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	delete(m.cache, tenantID)
}

// tenant returns the firm's primitives, unwrapping them on first use.
func (m *Manager) tenant(ctx context.Context, tenantID string) (*tenantKeys, error) {
	m.mu.Lock()
	tk, gen := m.cache[tenantID], m.gen
	m.mu.Unlock()
	if tk != nil {
		return tk, nil
	}
	return m.reload(ctx, tenantID, gen)
}

// refresh reloads the firm's keysets when they changed in the store since
// old was loaded, as after a rotation by another process. It reports whether
// it found newer keys.
func (m *Manager) refresh(ctx context.Context, tenantID string, old *tenantKeys) (*tenantKeys, bool, error) {
	m.mu.Lock()
	gen := m.gen
	m.mu.Unlock()
	tk, err := m.reload(ctx, tenantID, gen)
	if err != nil {
		return nil, false, err
	}
	same := bytes.Equal(tk.wrapped.Document, old.wrapped.Document) && bytes.Equal(tk.wrapped.Field, old.wrapped.Field)
	return tk, !same, nil
}

// reload unwraps the firm's keysets from the store and caches them unless
// an invalidation happened since gen. A firm not stored yet uses the
// keysets of vault.WithNewTenantKeysets in ctx, uncached.
func (m *Manager) reload(ctx context.Context, tenantID string, gen uint64) (*tenantKeys, error) {
	if tenantID == "" {
		return nil, vault.Errorf(vault.ENOTFOUND, "Firm not found.")
	}
	region, ks, err := m.store.TenantKeysets(ctx, tenantID)
	pending := false
	if vault.IsCode(err, vault.ENOTFOUND) {
		// A firm being created: its creation event is sealed before its
		// row (and keysets) are stored.
		if r, k, ok := vault.NewTenantKeysetsFrom(ctx, tenantID); ok {
			region, ks, err, pending = r, k, nil, true
		}
	}
	if err != nil {
		return nil, err
	}
	kek, err := m.kek(ctx, region)
	if err != nil {
		return nil, err
	}
	docH, fieldH, err := unwrapPair(kek, tenantID, region, ks)
	if err != nil {
		return nil, err
	}
	tk := &tenantKeys{region: region, wrapped: ks, docKeys: make(map[uint32]tink.StreamingAEAD)}
	if tk.doc, err = streamingaead.New(docH); err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Document keyset of this firm is unusable.")
	}
	if tk.field, err = aead.New(fieldH); err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Field keyset of this firm is unusable.")
	}
	primary, err := docH.Primary()
	if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Document keyset of this firm has no primary key.")
	}
	tk.docKeyID = primary.KeyID()
	for i := range docH.Len() {
		e, err := docH.Entry(i)
		if err != nil {
			return nil, vault.WrapError(vault.EINTERNAL, err, "Document keyset of this firm is unusable.")
		}
		if e.KeyStatus() != keyset.Enabled {
			continue
		}
		sa, err := keyPrimitive(e.Key())
		if err != nil {
			return nil, vault.WrapError(vault.EINTERNAL, err, "Document keyset of this firm is unusable.")
		}
		tk.docKeys[e.KeyID()] = sa
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gen == gen && !pending {
		m.cache[tenantID] = tk
	}
	return tk, nil
}

// kek returns the AEAD of region's master key.
func (m *Manager) kek(ctx context.Context, region string) (tink.AEAD, error) {
	mk, ok := m.masters[region]
	if !ok {
		return nil, vault.Errorf(vault.EINTERNAL, "No master key configured for region %q.", region)
	}
	a, err := mk.AEAD(ctx)
	if err != nil {
		var verr *vault.Error
		if errors.As(err, &verr) {
			return nil, err
		}
		return nil, vault.WrapError(vault.EUNAVAILABLE, err, "Master key of region %q is unavailable.", region)
	}
	return a, nil
}

// addPrimary returns h with a fresh key of template t as its primary.
func addPrimary(h *keyset.Handle, t *tinkpb.KeyTemplate) (*keyset.Handle, error) {
	km := keyset.NewManagerFromHandle(h)
	id, err := km.Add(t)
	if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot add key.")
	}
	if err := km.SetPrimary(id); err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot promote key.")
	}
	h, err = km.Handle()
	if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot build keyset.")
	}
	return h, nil
}

// wrapPair encrypts both keysets with kek, each bound to its purpose, the
// tenant and the region.
func wrapPair(kek tink.AEAD, tenantID, region string, docH, fieldH *keyset.Handle) (vault.TenantKeysets, error) {
	doc, err := wrap(docH, kek, keysetAD(purposeDocument, tenantID, region))
	if err != nil {
		return vault.TenantKeysets{}, err
	}
	field, err := wrap(fieldH, kek, keysetAD(purposeField, tenantID, region))
	if err != nil {
		return vault.TenantKeysets{}, err
	}
	return vault.TenantKeysets{Document: doc, Field: field}, nil
}

// unwrapPair is the inverse of wrapPair. A keyset of another firm, region or
// purpose, or one wrapped by another master key, fails with cannot_decrypt.
func unwrapPair(kek tink.AEAD, tenantID, region string, ks vault.TenantKeysets) (docH, fieldH *keyset.Handle, err error) {
	if docH, err = unwrap(ks.Document, kek, keysetAD(purposeDocument, tenantID, region)); err != nil {
		return nil, nil, err
	}
	if fieldH, err = unwrap(ks.Field, kek, keysetAD(purposeField, tenantID, region)); err != nil {
		return nil, nil, err
	}
	return docH, fieldH, nil
}

func wrap(h *keyset.Handle, kek tink.AEAD, ad []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := h.WriteWithAssociatedData(keyset.NewBinaryWriter(&buf), kek, ad); err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot wrap keyset.")
	}
	return buf.Bytes(), nil
}

func unwrap(b []byte, kek tink.AEAD, ad []byte) (*keyset.Handle, error) {
	h, err := keyset.ReadWithAssociatedData(keyset.NewBinaryReader(bytes.NewReader(b)), kek, ad)
	if err != nil {
		return nil, vault.WrapError(vault.ECANNOTDECRYPT, err, "Keys of this firm cannot be unwrapped.")
	}
	return h, nil
}

// keyPrimitive is the streaming AEAD of one AES-GCM-HKDF key, built the way
// Tink's own key manager builds it, so its ciphertexts are the keyset's. A
// key of another type gets nil: the keyset wrapper serves it.
func keyPrimitive(k key.Key) (tink.StreamingAEAD, error) {
	gk, ok := k.(*aesgcmhkdf.Key)
	if !ok {
		return nil, nil
	}
	p, ok := gk.Parameters().(*aesgcmhkdf.Parameters)
	if !ok {
		return nil, fmt.Errorf("key parameters are %T", gk.Parameters())
	}
	return subtle.NewAESGCMHKDF(gk.KeyBytes().Data(insecuresecretdataaccess.Token{}),
		p.HKDFHashType().String(), p.DerivedKeySizeInBytes(), int(p.SegmentSizeInBytes()), 0)
}
