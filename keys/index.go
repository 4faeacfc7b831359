package keys

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/prf"

	"github.com/casevault/casevault/vault"
)

// indexSize is the length of every blind index: a full HMAC-SHA256 output.
const indexSize = 32

// ServiceIndex is the name, in the key files, of the service-wide index key
// (region "" in Index), which keys the indexes of things that belong to no
// firm yet: sign-in throttles and the service log's unknown accounts.
const ServiceIndex = "service"

// indexKeyFile is the on-disk form of one index key: a Tink PRF keyset
// (HMAC-SHA256) wrapped by a region's master key.
type indexKeyFile struct {
	Name    string `json:"name"`           // region, or ServiceIndex
	Wrapped []byte `json:"wrapped_keyset"` // master AEAD of the binary keyset
}

// indexAD binds a wrapped index keyset to its name.
func indexAD(name string) []byte { return []byte("casevault index key\x00" + name) }

// Indexer computes keyed blind indexes with one PRF key per region and one
// for the service (vault.Indexer). Its keys never rotate: an index must
// stay the same for as long as the value it finds is stored.
type Indexer struct {
	prfs    map[string]*prf.Set // by region name, ServiceIndex for ""
	regions []string
}

var _ vault.Indexer = (*Indexer)(nil)

// LoadOrCreateIndexer loads or creates the index key of each region in
// masters, kept at pathOf(region) and wrapped by that region's master key,
// and the service-wide one at pathOf(ServiceIndex), wrapped by
// serviceRegion's master key (the region that wraps the service audit
// signer). Keys are generated once and never replaced. Errors: invalid (a
// file of another name, or wrapped by another master key), unavailable,
// internal.
func LoadOrCreateIndexer(ctx context.Context, masters map[string]MasterKey, serviceRegion string, pathOf func(name string) string) (*Indexer, error) {
	x := &Indexer{prfs: make(map[string]*prf.Set, len(masters)+1)}
	for region, mk := range masters {
		p, err := loadOrCreateIndexKey(ctx, pathOf(region), region, mk)
		if err != nil {
			return nil, fmt.Errorf("region %s: index key: %w", region, err)
		}
		x.prfs[region] = p
		x.regions = append(x.regions, region)
	}
	slices.Sort(x.regions)
	mk, ok := masters[serviceRegion]
	if !ok {
		return nil, vault.Errorf(vault.EINVALID, "No master key for region %q to wrap the service index key.", serviceRegion)
	}
	p, err := loadOrCreateIndexKey(ctx, pathOf(ServiceIndex), ServiceIndex, mk)
	if err != nil {
		return nil, fmt.Errorf("service index key: %w", err)
	}
	x.prfs[ServiceIndex] = p
	return x, nil
}

// Index returns the index of value for purpose under region's key ("" for
// the service key): HMAC-SHA256 over purpose, a zero byte and value.
func (x *Indexer) Index(_ context.Context, region, purpose, value string) ([]byte, error) {
	name := region
	if name == "" {
		name = ServiceIndex
	} else if name == ServiceIndex {
		return nil, vault.Errorf(vault.EINVALID, "Unknown index region %q.", region)
	}
	p, ok := x.prfs[name]
	if !ok {
		return nil, vault.Errorf(vault.EINVALID, "Unknown index region %q.", region)
	}
	if purpose == "" {
		return nil, vault.Errorf(vault.EINVALID, "Index purpose is required.")
	}
	in := make([]byte, 0, len(purpose)+1+len(value))
	in = append(append(append(in, purpose...), 0), value...)
	out, err := p.ComputePrimaryPRF(in, indexSize)
	if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot compute index.")
	}
	return out, nil
}

// Regions returns the regions with an index key, sorted.
func (x *Indexer) Regions() []string { return slices.Clone(x.regions) }

func loadOrCreateIndexKey(ctx context.Context, path, name string, master MasterKey) (*prf.Set, error) {
	return loadOrCreate(ctx, path, name, master, loadIndexKey, createIndexKey)
}

func loadIndexKey(ctx context.Context, path, name string, master MasterKey) (*prf.Set, error) {
	b, err := readKeyFile(path, "index key file")
	if err != nil {
		return nil, err
	}
	var kf indexKeyFile
	if err := json.Unmarshal(b, &kf); err != nil || kf.Name != name {
		return nil, vault.Errorf(vault.EINVALID, "Index key file %s is not %s's index key.", path, name)
	}
	a, err := master.AEAD(ctx)
	if err != nil {
		return nil, err
	}
	h, err := keyset.ReadWithAssociatedData(keyset.NewBinaryReader(bytes.NewReader(kf.Wrapped)), a, indexAD(name))
	if err != nil {
		return nil, vault.WrapError(vault.EINVALID, err, "Index key file %s does not unwrap with its master key.", path)
	}
	p, err := prf.NewPRFSet(h)
	if err != nil {
		return nil, vault.WrapError(vault.EINVALID, err, "Index key file %s holds no PRF key.", path)
	}
	return p, nil
}

func createIndexKey(ctx context.Context, path, name string, master MasterKey) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot create directory of index key file %s.", path)
	}
	h, err := keyset.NewHandle(prf.HMACSHA256PRFKeyTemplate())
	if err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot generate index key.")
	}
	a, err := master.AEAD(ctx)
	if err != nil {
		return err
	}
	wrapped, err := wrap(h, a, indexAD(name))
	if err != nil {
		return err
	}
	b, err := json.Marshal(indexKeyFile{Name: name, Wrapped: wrapped})
	if err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot encode index key file.")
	}
	return publishFile(path, b, "index key file")
}
