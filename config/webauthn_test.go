package config_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/casevault/casevault/config"
)

func TestConfig_WebAuthn(t *testing.T) {
	t.Run("Default", func(t *testing.T) {
		c := config.Default()
		if err := c.Validate(); err != nil {
			t.Fatalf("Validate: %v", err)
		}
		if got, want := c.WebAuthnOrigins(), []string{"http://localhost:8080"}; !slices.Equal(got, want) {
			t.Errorf("origins: got %v, want %v", got, want)
		}
		c.Addr = "127.0.0.1:9443"
		c.TLS.CertFile, c.TLS.KeyFile = "cert.pem", "key.pem"
		if got, want := c.WebAuthnOrigins(), []string{"https://localhost:9443"}; !slices.Equal(got, want) {
			t.Errorf("origins with TLS: got %v, want %v", got, want)
		}
	})
	t.Run("File", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "casevault.yaml")
		yaml := "webauthn:\n  rp_id: vault.example.com\n  origins: [\"https://vault.example.com\"]\n"
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		c := config.Default()
		if err := c.LoadFile(path); err != nil {
			t.Fatalf("LoadFile: %v", err)
		}
		if got, want := c.WebAuthn.RPID, "vault.example.com"; got != want {
			t.Errorf("rp_id: got %q, want %q", got, want)
		}
		if got, want := c.WebAuthnOrigins(), []string{"https://vault.example.com"}; !slices.Equal(got, want) {
			t.Errorf("origins: got %v, want %v", got, want)
		}
	})
	for _, tc := range []struct {
		name    string
		rp      string
		origins []string
		ok      bool
	}{
		{"Subdomain", "example.com", []string{"https://vault.example.com"}, true},
		{"IPAddress", "127.0.0.1", nil, false},
		{"OriginOffRP", "vault.example.com", []string{"https://evil.example.net"}, false},
		{"OriginLookalike", "example.com", []string{"https://badexample.com"}, false},
		{"OriginWithPath", "example.com", []string{"https://example.com/login"}, false},
		{"OriginNotHTTP", "example.com", []string{"ftp://example.com"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := config.Default()
			c.WebAuthn.RPID, c.WebAuthn.Origins = tc.rp, tc.origins
			if err := c.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate: got %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
