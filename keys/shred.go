package keys

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"github.com/casevault/casevault/vault"
)

// KeysetIDs returns what a destruction certificate names of a firm's
// keysets (docs/SHRED-FORMAT.md): for each, its purpose, the Tink key ids it
// holds and the SHA-256 of its wrapped form as stored. No key material
// leaves the package. Errors: not_found, cannot_decrypt, internal.
func (m *Manager) KeysetIDs(ctx context.Context, tenantID string) ([]vault.KeysetID, error) {
	region, ks, err := m.store.TenantKeysets(ctx, tenantID)
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
	out := make([]vault.KeysetID, 0, 2)
	for _, k := range []struct {
		purpose string
		wrapped []byte
		info    func() []uint32
	}{
		{"document", ks.Document, func() []uint32 { return keyIDs(docH.KeysetInfo().GetKeyInfo()) }},
		{"field", ks.Field, func() []uint32 { return keyIDs(fieldH.KeysetInfo().GetKeyInfo()) }},
	} {
		sum := sha256.Sum256(k.wrapped)
		out = append(out, vault.KeysetID{Purpose: k.purpose, KeyIDs: k.info(), WrappedSHA256: hex.EncodeToString(sum[:]), WrappedBytes: int64(len(k.wrapped))})
	}
	return out, nil
}

func keyIDs[T interface{ GetKeyId() uint32 }](infos []T) []uint32 {
	out := make([]uint32, 0, len(infos))
	for _, i := range infos {
		out = append(out, i.GetKeyId())
	}
	return out
}
