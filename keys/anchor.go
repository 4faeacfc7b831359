package keys

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/casevault/casevault/vault"
)

// AuditAnchors keeps, outside the audit database, the latest checkpoint
// signed of every audit log (audit.Anchor): the memory that lets the
// server refuse to sign a tree that does not extend it.
//
// Layout: one file per log, <dir of region's keys>/<region>-audit-anchors/
// <hex of tenant id>.json, and service-audit-anchors/service.json for the
// service log. One file per firm rather than one map per region: every
// checkpoint rewrites only its own firm's small file, so firms never
// serialise on one file, a write never grows with the number of firms, and
// a torn or damaged file affects one firm only (DESIGN.md invariant 9).
//
// Each file holds the signed checkpoint note sealed with the AEAD of the
// region's master key, with the region and the tenant as associated data:
// a file moved to another firm or region, or edited, fails to open. An
// attacker who can write the key directory can still put back an older
// anchor file of the same firm; the keys directory is the operator's.
type AuditAnchors struct {
	masters map[string]MasterKey // by region, ServiceSigner for the service log
	dirOf   func(name string) string
	// regionOf is asked at every Load and Store, never cached: a firm
	// that moves (issue #13) has its anchor in its new region from the
	// switch of the directory on.
	regionOf func(ctx context.Context, tenantID string) (string, error)
}

// anchorFile is the on-disk form of one log's anchor.
type anchorFile struct {
	Region string `json:"region"`
	Tenant string `json:"tenant"`
	Sealed []byte `json:"sealed_checkpoint"` // master AEAD of the checkpoint note
}

// anchorAD binds a sealed checkpoint to its region and log.
func anchorAD(region, tenant string) []byte {
	return []byte("casevault audit anchor\x00" + region + "\x00" + tenant)
}

// NewAuditAnchors returns the anchors of every region in masters, kept in
// dirOf(region), and of the service log, kept in dirOf(ServiceSigner) and
// sealed with serviceRegion's master key (the one that wraps the service
// signer). regionOf names a firm's region. Errors: invalid.
func NewAuditAnchors(masters map[string]MasterKey, serviceRegion string, dirOf func(name string) string, regionOf func(ctx context.Context, tenantID string) (string, error)) (*AuditAnchors, error) {
	m := make(map[string]MasterKey, len(masters)+1)
	for r, mk := range masters {
		m[r] = mk
	}
	mk, ok := masters[serviceRegion]
	if !ok {
		return nil, vault.Errorf(vault.EINVALID, "No master key for region %q to seal the service audit anchor.", serviceRegion)
	}
	m[ServiceSigner] = mk
	return &AuditAnchors{masters: m, dirOf: dirOf, regionOf: regionOf}, nil
}

// region returns the name of tenant's region, ServiceSigner for "".
func (a *AuditAnchors) region(ctx context.Context, tenant string) (string, error) {
	if tenant == "" {
		return ServiceSigner, nil
	}
	return a.regionOf(ctx, tenant)
}

// anchorDir is the directory of a region's anchor files.
func (a *AuditAnchors) anchorDir(region string) string {
	return filepath.Join(a.dirOf(region), region+"-audit-anchors")
}

// path returns the anchor file of tenant in region.
func (a *AuditAnchors) path(region, tenant string) string {
	name := ServiceSigner
	if tenant != "" {
		name = hex.EncodeToString([]byte(tenant))
	}
	return filepath.Join(a.anchorDir(region), name+".json")
}

// Load returns the latest checkpoint note stored for tenant's log ("" is
// the service log). Errors: not_found (none stored yet), invalid (a file
// that does not open with the region's master key for this log),
// unavailable, internal.
func (a *AuditAnchors) Load(ctx context.Context, tenant string) ([]byte, error) {
	region, err := a.region(ctx, tenant)
	if err != nil {
		return nil, err
	}
	mk, ok := a.masters[region]
	if !ok {
		return nil, vault.Errorf(vault.EUNAVAILABLE, "No master key for region %s.", region)
	}
	p := a.path(region, tenant)
	b, err := readKeyFile(p, "audit anchor file")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, vault.Errorf(vault.ENOTFOUND, "No audit anchor for this log.")
	} else if err != nil {
		return nil, err
	}
	var af anchorFile
	if err := json.Unmarshal(b, &af); err != nil || af.Region != region || af.Tenant != tenant {
		return nil, vault.Errorf(vault.EINVALID, "Audit anchor file %s is not this log's.", p)
	}
	aead, err := mk.AEAD(ctx)
	if err != nil {
		return nil, err
	}
	msg, err := aead.Decrypt(af.Sealed, anchorAD(region, tenant))
	if err != nil {
		return nil, vault.WrapError(vault.EINVALID, err, "Audit anchor file %s does not open with region %s's master key.", p, region)
	}
	return msg, nil
}

// Store replaces the checkpoint note stored for tenant's log, atomically
// and durably (temporary file, sync, rename, sync of the directory), so
// that when it returns the note survives a crash. Errors: unavailable,
// internal.
func (a *AuditAnchors) Store(ctx context.Context, tenant string, msg []byte) error {
	region, err := a.region(ctx, tenant)
	if err != nil {
		return err
	}
	mk, ok := a.masters[region]
	if !ok {
		return vault.Errorf(vault.EUNAVAILABLE, "No master key for region %s.", region)
	}
	aead, err := mk.AEAD(ctx)
	if err != nil {
		return err
	}
	sealed, err := aead.Encrypt(msg, anchorAD(region, tenant))
	if err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot seal the audit anchor.")
	}
	b, err := json.Marshal(anchorFile{Region: region, Tenant: tenant, Sealed: sealed})
	if err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot encode the audit anchor.")
	}
	dir := a.anchorDir(region)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot create directory %s.", dir)
	}
	return replaceFile(a.path(region, tenant), b, "audit anchor file")
}

// Tenants returns every log with a stored anchor ("" for the service log),
// so that a log whose events were all deleted is still checked. Errors:
// internal.
func (a *AuditAnchors) Tenants(context.Context) ([]string, error) {
	var out []string
	for region := range a.masters {
		ents, err := os.ReadDir(a.anchorDir(region))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot list audit anchors.")
		}
		for _, e := range ents {
			name, ok := strings.CutSuffix(e.Name(), ".json")
			if !ok || strings.HasPrefix(name, ".") {
				continue
			}
			if region == ServiceSigner && name == ServiceSigner {
				out = append(out, "")
				continue
			}
			t, err := hex.DecodeString(name)
			if err != nil {
				continue
			}
			out = append(out, string(t))
		}
	}
	return out, nil
}

// Delete removes tenant's anchor file from region, whatever region the
// directory names now: after a move the old region keeps nothing of the
// firm (issue #13). Deleting one that is not there is no error. Errors:
// invalid, internal.
func (a *AuditAnchors) Delete(ctx context.Context, region, tenant string) error {
	if tenant == "" || region == "" || region == ServiceSigner {
		return vault.Errorf(vault.EINVALID, "Only a firm's anchor is deleted, from a region.")
	}
	if _, ok := a.masters[region]; !ok {
		return vault.Errorf(vault.EINVALID, "Unknown region %q.", region)
	}
	p := a.path(region, tenant)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot delete audit anchor file %s.", p)
	}
	if err := syncDir(filepath.Dir(p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot sync directory of %s.", p)
	}
	return nil
}

// replaceFile writes data to path atomically with mode 0600, replacing
// what was there: a synced temporary file renamed into place, then the
// directory synced. what names the file in errors.
func replaceFile(path string, data []byte, what string) error {
	dir := filepath.Dir(path)
	tmp, err := syncedTemp(path, data, what)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // on failure; after the rename the name is gone
	if err := os.Rename(tmp, path); err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot replace %s %s.", what, path)
	}
	if err := syncDir(dir); err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot sync directory of %s %s.", what, path)
	}
	return nil
}
