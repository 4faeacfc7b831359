package keys

import (
	"context"

	"github.com/casevault/casevault/vault"
)

// SealField encrypts plaintext with the firm's field key, bound to tenantID
// and the cell ref, so the ciphertext opens only in that cell of that firm.
// Errors: not_found (unknown tenant), cannot_decrypt (keysets do not
// unwrap), unavailable, internal.
func (m *Manager) SealField(ctx context.Context, tenantID string, ref vault.FieldRef, plaintext string) ([]byte, error) {
	tk, err := m.tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	ct, err := tk.field.Encrypt([]byte(plaintext), fieldAD(tenantID, ref.Table, ref.Column, ref.RowID))
	if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot encrypt field.")
	}
	return ct, nil
}

// OpenField decrypts a field sealed by SealField for the same tenant and
// cell, under the current or any earlier key of the firm.
// Errors: cannot_decrypt (tampered, moved to another cell or firm, or keys
// destroyed), not_found (unknown tenant), unavailable, internal.
func (m *Manager) OpenField(ctx context.Context, tenantID string, ref vault.FieldRef, ciphertext []byte) (string, error) {
	tk, err := m.tenant(ctx, tenantID)
	if err != nil {
		return "", err
	}
	ad := fieldAD(tenantID, ref.Table, ref.Column, ref.RowID)
	pt, err := tk.field.Decrypt(ciphertext, ad)
	if err != nil {
		// The value may have been sealed by another process under a key
		// added by a rotation this process has not seen yet.
		fresh, changed, rerr := m.refresh(ctx, tenantID, tk)
		if rerr != nil {
			return "", rerr
		}
		if !changed {
			return "", vault.WrapError(vault.ECANNOTDECRYPT, err, "Field cannot be decrypted.")
		}
		if pt, err = fresh.field.Decrypt(ciphertext, ad); err != nil {
			return "", vault.WrapError(vault.ECANNOTDECRYPT, err, "Field cannot be decrypted.")
		}
	}
	return string(pt), nil
}
