package keys

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/vault"
)

// AuditSigner is a region's audit checkpoint signing key: an Ed25519 note
// key (golang.org/x/mod/sumdb/note) whose private half is stored only
// wrapped by the region's master key, with the public verifier keys of the
// keys it replaced (RotateAuditSigner), whose private halves are gone.
type AuditSigner struct {
	Signer      note.Signer
	VerifierKey string    // "<name>+<hash>+<key>", published for auditors
	ValidFrom   time.Time // when it became the region's key
	// Retired are the verifier keys this one replaced, oldest first, each
	// with its validity and the rotation statement that retired it.
	Retired []vault.AuditKey

	// Key is the same Ed25519 private key as a crypto.Signer, for the
	// log's timestamp cosignatures (C2SP tlog-cosignature), which are made
	// with the region's own key. It lives in memory only, like Signer.
	Key crypto.Signer
}

// Keys returns every key of the signer, the retired ones first (oldest
// first) and the current one last, named by region.
func (s *AuditSigner) Keys(region string) []vault.AuditKey {
	out := make([]vault.AuditKey, 0, len(s.Retired)+1)
	for _, k := range s.Retired {
		k.Region, k.State = region, vault.AuditKeyRetired
		out = append(out, k)
	}
	return append(out, vault.AuditKey{Region: region, VerifierKey: s.VerifierKey, ValidFrom: s.ValidFrom, State: vault.AuditKeyCurrent})
}

// auditSignerVersion is the version of the signer file this code writes.
// A file without "version" is version 1, written before rotation: one key,
// no validity, no retired keys; it loads unchanged.
const auditSignerVersion = 2

// auditSignerFile is the on-disk form of an AuditSigner.
type auditSignerFile struct {
	Version     int          `json:"version,omitempty"` // 0 (absent) means 1
	Region      string       `json:"region"`
	VerifierKey string       `json:"verifier_key"`
	Wrapped     []byte       `json:"wrapped_signer_key"`   // master AEAD of the note private key
	ValidFrom   string       `json:"valid_from,omitempty"` // RFC 3339; version 2
	Retired     []retiredKey `json:"retired,omitempty"`
}

// retiredKey is a retired key in the signer file: public parts only.
type retiredKey struct {
	VerifierKey string `json:"verifier_key"`
	ValidFrom   string `json:"valid_from"`  // RFC 3339
	ValidUntil  string `json:"valid_until"` // RFC 3339
	Rotation    string `json:"rotation"`    // the signed rotation statement
}

// SignerName is the note key name of a region's audit signer.
func SignerName(region string) string { return "casevault-audit-" + region }

// signerAD binds a wrapped signer key to its region.
func signerAD(region string) []byte { return []byte("casevault audit signer\x00" + region) }

// LoadOrCreateAuditSigner returns the audit signing key of region kept at
// path, wrapped by master. When path does not exist a new key is generated
// and written there atomically with mode 0600; an existing key is never
// replaced but by RotateAuditSigner, which keeps the verifier keys of the
// keys it retires, so every checkpoint a region ever signed stays
// verifiable with a published verifier key. Errors: invalid (bad file, or
// wrapped for another region or by another master key), unavailable,
// internal.
func LoadOrCreateAuditSigner(ctx context.Context, path, region string, master MasterKey) (*AuditSigner, error) {
	return loadOrCreate(ctx, path, region, master, loadAuditSigner, createAuditSigner)
}

func loadAuditSigner(ctx context.Context, path, region string, master MasterKey) (*AuditSigner, error) {
	b, err := readKeyFile(path, "audit signer file")
	if err != nil {
		return nil, err
	}
	var sf auditSignerFile
	if err := json.Unmarshal(b, &sf); err != nil || sf.Region != region || sf.Version > auditSignerVersion || sf.Version < 0 {
		return nil, vault.Errorf(vault.EINVALID, "Audit signer file %s is not region %s's signer.", path, region)
	}
	a, err := master.AEAD(ctx)
	if err != nil {
		return nil, err
	}
	skey, err := a.Decrypt(sf.Wrapped, signerAD(region))
	if err != nil {
		return nil, vault.WrapError(vault.EINVALID, err, "Audit signer file %s does not unwrap with region %s's master key.", path, region)
	}
	signer, err := note.NewSigner(string(skey))
	if err != nil {
		return nil, vault.WrapError(vault.EINVALID, err, "Audit signer file %s holds no signing key.", path)
	}
	if v, err := note.NewVerifier(sf.VerifierKey); err != nil || signer.Name() != SignerName(region) || v.KeyHash() != signer.KeyHash() {
		return nil, vault.Errorf(vault.EINVALID, "Audit signer file %s has a bad verifier key.", path)
	}
	key, err := noteKeyEd25519(string(skey))
	if err != nil {
		return nil, vault.WrapError(vault.EINVALID, err, "Audit signer file %s holds no Ed25519 signing key.", path)
	}
	s := &AuditSigner{Signer: signer, VerifierKey: sf.VerifierKey, Key: key}
	if sf.Version < 2 {
		// Version 1 recorded no validity: the key has been valid since the
		// file was written, which is never rewritten but by a rotation.
		fi, err := os.Stat(path)
		if err != nil {
			return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot stat audit signer file %s.", path)
		}
		s.ValidFrom = fi.ModTime().UTC().Truncate(time.Second)
		return s, nil
	}
	if s.ValidFrom, err = time.Parse(time.RFC3339, sf.ValidFrom); err != nil {
		return nil, vault.Errorf(vault.EINVALID, "Audit signer file %s has a bad valid_from.", path)
	}
	for _, r := range sf.Retired {
		k, err := r.key(region)
		if err != nil {
			return nil, vault.WrapError(vault.EINVALID, err, "Audit signer file %s has a bad retired key.", path)
		}
		s.Retired = append(s.Retired, k)
	}
	return s, nil
}

// key checks and returns a retired key of region's file.
func (r retiredKey) key(region string) (vault.AuditKey, error) {
	v, err := note.NewVerifier(r.VerifierKey)
	if err != nil || v.Name() != SignerName(region) {
		return vault.AuditKey{}, fmt.Errorf("verifier key %q is not region %s's", r.VerifierKey, region)
	}
	from, err1 := time.Parse(time.RFC3339, r.ValidFrom)
	until, err2 := time.Parse(time.RFC3339, r.ValidUntil)
	if err1 != nil || err2 != nil {
		return vault.AuditKey{}, fmt.Errorf("bad validity of %q", r.VerifierKey)
	}
	return vault.AuditKey{VerifierKey: r.VerifierKey, ValidFrom: from, ValidUntil: &until, Rotation: r.Rotation}, nil
}

// noteKeyEd25519 returns the Ed25519 private key of a note signer key
// ("PRIVATE+KEY+<name>+<hash>+<base64 of 0x01 ‖ seed>").
func noteKeyEd25519(skey string) (ed25519.PrivateKey, error) {
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return nil, errors.New("not a note signer key")
	}
	b, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(b) != 1+ed25519.SeedSize || b[0] != 1 {
		return nil, errors.New("not an Ed25519 note signer key")
	}
	return ed25519.NewKeyFromSeed(b[1:]), nil
}

func createAuditSigner(ctx context.Context, path, region string, master MasterKey) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot create directory of audit signer file %s.", path)
	}
	skey, vkey, err := note.GenerateKey(nil, SignerName(region))
	if err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot generate audit signing key.")
	}
	b, err := encodeSignerFile(ctx, region, master, skey, vkey, time.Now(), nil)
	if err != nil {
		return err
	}
	return publishFile(path, b, "audit signer file")
}

// encodeSignerFile wraps skey and encodes a version 2 signer file.
func encodeSignerFile(ctx context.Context, region string, master MasterKey, skey, vkey string, from time.Time, retired []retiredKey) ([]byte, error) {
	a, err := master.AEAD(ctx)
	if err != nil {
		return nil, err
	}
	wrapped, err := a.Encrypt([]byte(skey), signerAD(region))
	if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot wrap audit signing key.")
	}
	b, err := json.Marshal(auditSignerFile{
		Version: auditSignerVersion, Region: region, VerifierKey: vkey, Wrapped: wrapped,
		ValidFrom: from.UTC().Format(time.RFC3339), Retired: retired,
	})
	if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot encode audit signer file.")
	}
	return b, nil
}

// ServiceSigner is the name, in AuditSigners, of the signer of the
// service-wide log (tenant ""), which belongs to no region.
const ServiceSigner = "service"

// AuditSigners are the audit checkpoint signers of every region and of the
// service-wide log (ServiceSigner), by name.
type AuditSigners map[string]*AuditSigner

// LoadOrCreateAuditSigners loads or creates the signer of each region in
// masters, kept at pathOf(region) and wrapped by that region's master key,
// and the service-wide signer at pathOf(ServiceSigner), wrapped by
// serviceRegion's master key. Errors: as LoadOrCreateAuditSigner.
func LoadOrCreateAuditSigners(ctx context.Context, masters map[string]MasterKey, serviceRegion string, pathOf func(name string) string) (AuditSigners, error) {
	signers := AuditSigners{}
	for region, mk := range masters {
		s, err := LoadOrCreateAuditSigner(ctx, pathOf(region), region, mk)
		if err != nil {
			return nil, fmt.Errorf("region %s: audit signer: %w", region, err)
		}
		signers[region] = s
	}
	mk, ok := masters[serviceRegion]
	if !ok {
		return nil, vault.Errorf(vault.EINVALID, "No master key for region %q to wrap the service audit signer.", serviceRegion)
	}
	s, err := LoadOrCreateAuditSigner(ctx, pathOf(ServiceSigner), ServiceSigner, mk)
	if err != nil {
		return nil, fmt.Errorf("service audit signer: %w", err)
	}
	signers[ServiceSigner] = s
	return signers, nil
}

// VerifierKeys returns the verifier key of each signer, by name: what the
// operator publishes for auditors.
func (a AuditSigners) VerifierKeys() map[string]string {
	m := make(map[string]string, len(a))
	for name, s := range a {
		m[name] = s.VerifierKey
	}
	return m
}

// For returns the audit log's Signer option: the service-wide signer for
// tenant "", else the signer of the firm's region as regionOf reports it
// at each call. Errors: those of regionOf,
// unavailable (a region without a signer).
func (a AuditSigners) For(regionOf func(ctx context.Context, tenantID string) (string, error)) func(ctx context.Context, tenant string) (note.Signer, string, error) {
	of := a.of(regionOf)
	return func(ctx context.Context, tenant string) (note.Signer, string, error) {
		_, s, err := of(ctx, tenant)
		if err != nil {
			return nil, "", err
		}
		return s.Signer, s.VerifierKey, nil
	}
}

// TimestampFor returns the audit log's Timestamper option: the Ed25519 key
// of the same signer as For picks, which makes the log's timestamp
// cosignatures. Errors: as For.
func (a AuditSigners) TimestampFor(regionOf func(ctx context.Context, tenantID string) (string, error)) func(ctx context.Context, tenant string) (crypto.Signer, error) {
	of := a.of(regionOf)
	return func(ctx context.Context, tenant string) (crypto.Signer, error) {
		_, s, err := of(ctx, tenant)
		if err != nil {
			return nil, err
		}
		return s.Key, nil
	}
}

// of returns the signer of a tenant's log, asking regionOf every time (the
// directory: a firm that moves between regions, issue #13, is signed by
// its new region's key from the switch on). It returns the signer's name
// (its region, or ServiceSigner) with it.
func (a AuditSigners) of(regionOf func(ctx context.Context, tenantID string) (string, error)) func(ctx context.Context, tenant string) (string, *AuditSigner, error) {
	return func(ctx context.Context, tenant string) (string, *AuditSigner, error) {
		name := ServiceSigner
		if tenant != "" {
			region, err := regionOf(ctx, tenant)
			if err != nil {
				return "", nil, err
			}
			name = region
		}
		s, ok := a[name]
		if !ok {
			return "", nil, vault.Errorf(vault.EUNAVAILABLE, "No audit signer for region %s.", name)
		}
		return name, s, nil
	}
}

// Keys returns every key (current and retired) of each signer, by name,
// each list oldest first: what `casevault audit keys` lists.
func (a AuditSigners) Keys() map[string][]vault.AuditKey {
	m := make(map[string][]vault.AuditKey, len(a))
	for name, s := range a {
		m[name] = s.Keys(name)
	}
	return m
}

// KeysFor returns the audit log's Keys option: every key of the signer of
// the firm's region (the service-wide signer for tenant ""), oldest first,
// the current one last. Errors: as For.
func (a AuditSigners) KeysFor(regionOf func(ctx context.Context, tenantID string) (string, error)) func(ctx context.Context, tenant string) ([]vault.AuditKey, error) {
	of := a.of(regionOf)
	return func(ctx context.Context, tenant string) ([]vault.AuditKey, error) {
		name, s, err := of(ctx, tenant)
		if err != nil {
			return nil, err
		}
		return s.Keys(name), nil
	}
}

// readKeyFile reads a wrapped key file of at most maxMasterKeyFile bytes;
// what names it in errors. The error wraps fs.ErrNotExist when there is no
// file.
func readKeyFile(path, what string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	} else if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot open %s %s.", what, path)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxMasterKeyFile))
	if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot read %s %s.", what, path)
	}
	return b, nil
}
