package vault_test

import (
	"testing"

	"github.com/casevault/casevault/vault"
)

func TestValidateSSOIssuer(t *testing.T) {
	for issuer, ok := range map[string]bool{
		"https://accounts.google.com":                    true,
		"https://login.microsoftonline.com/abc-123/v2.0": true,
		"http://127.0.0.1:5556/dex":                      true,
		"http://localhost:8080":                          true,
		"http://[::1]:8080/x":                            true,
		"http://idp.example.com":                         false,
		"http://10.0.0.5/dex":                            false,
		"ftp://idp.example.com":                          false,
		"https://user:pw@idp.example.com":                false,
		"https://idp.example.com/?tenant=1":              false,
		"https://idp.example.com/#x":                     false,
		"idp.example.com":                                false,
		"":                                               false,
	} {
		t.Run(issuer, func(t *testing.T) {
			err := vault.ValidateSSOIssuer(issuer)
			if got := err == nil; got != ok {
				t.Errorf("ValidateSSOIssuer(%q) = %v, want ok %t", issuer, err, ok)
			}
			if err != nil && vault.ErrorCode(err) != vault.EINVALID {
				t.Errorf("code %q, want invalid", vault.ErrorCode(err))
			}
		})
	}
}
