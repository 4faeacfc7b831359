package keys

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/vault"
)

// AuditSigner is a region's audit checkpoint signing key: an Ed25519 note
// key (golang.org/x/mod/sumdb/note) whose private half is stored only
// wrapped by the region's master key.
type AuditSigner struct {
	Signer      note.Signer
	VerifierKey string // "<name>+<hash>+<key>", published for auditors
}

// auditSignerFile is the on-disk form of an AuditSigner.
type auditSignerFile struct {
	Region      string `json:"region"`
	VerifierKey string `json:"verifier_key"`
	Wrapped     []byte `json:"wrapped_signer_key"` // master AEAD of the note private key
}

// SignerName is the note key name of a region's audit signer.
func SignerName(region string) string { return "casevault-audit-" + region }

// signerAD binds a wrapped signer key to its region.
func signerAD(region string) []byte { return []byte("casevault audit signer\x00" + region) }

// LoadOrCreateAuditSigner returns the audit signing key of region kept at
// path, wrapped by master. When path does not exist a new key is generated
// and written there atomically with mode 0600; an existing key is never
// replaced, so every checkpoint a region ever signed stays verifiable with
// its published verifier key. Errors: invalid (bad file, or wrapped for
// another region or by another master key), unavailable, internal.
func LoadOrCreateAuditSigner(ctx context.Context, path, region string, master MasterKey) (*AuditSigner, error) {
	s, err := loadAuditSigner(ctx, path, region, master)
	if !errors.Is(err, fs.ErrNotExist) {
		return s, err
	}
	if err := createAuditSigner(ctx, path, region, master); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return loadAuditSigner(ctx, path, region, master)
}

func loadAuditSigner(ctx context.Context, path, region string, master MasterKey) (*AuditSigner, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	} else if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot open audit signer file %s.", path)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxMasterKeyFile))
	if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot read audit signer file %s.", path)
	}
	var sf auditSignerFile
	if err := json.Unmarshal(b, &sf); err != nil || sf.Region != region {
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
	if _, err := note.NewVerifier(sf.VerifierKey); err != nil || signer.Name() != SignerName(region) {
		return nil, vault.Errorf(vault.EINVALID, "Audit signer file %s has a bad verifier key.", path)
	}
	return &AuditSigner{Signer: signer, VerifierKey: sf.VerifierKey}, nil
}

func createAuditSigner(ctx context.Context, path, region string, master MasterKey) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot create directory of audit signer file %s.", path)
	}
	skey, vkey, err := note.GenerateKey(nil, SignerName(region))
	if err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot generate audit signing key.")
	}
	a, err := master.AEAD(ctx)
	if err != nil {
		return err
	}
	wrapped, err := a.Encrypt([]byte(skey), signerAD(region))
	if err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot wrap audit signing key.")
	}
	b, err := json.Marshal(auditSignerFile{Region: region, VerifierKey: vkey, Wrapped: wrapped})
	if err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot encode audit signer file.")
	}
	return publishFile(path, b, "audit signer file")
}
