package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// WebAuthnConfig is the relying party passkeys are bound to (issue #16).
// RPID is a domain (never an IP address): default "localhost", which
// Chromium treats as a secure context over plain HTTP. Origins are the
// exact origins the pages are served from: default http://localhost:PORT
// (https when TLS is configured) for the listen address's port.
type WebAuthnConfig struct {
	RPID        string   `yaml:"rp_id"`
	DisplayName string   `yaml:"display_name"`
	Origins     []string `yaml:"origins"`
}

// loadWebAuthnFile applies the webauthn section of a file.
func (c *Config) loadWebAuthnFile(fc *Config) {
	if fc.WebAuthn.RPID != "" {
		c.WebAuthn.RPID = fc.WebAuthn.RPID
	}
	if fc.WebAuthn.DisplayName != "" {
		c.WebAuthn.DisplayName = fc.WebAuthn.DisplayName
	}
	if len(fc.WebAuthn.Origins) > 0 {
		c.WebAuthn.Origins = fc.WebAuthn.Origins
	}
}

// WebAuthnOrigins returns the configured origins, or the default derived
// from the listen address.
func (c *Config) WebAuthnOrigins() []string {
	if len(c.WebAuthn.Origins) > 0 {
		return c.WebAuthn.Origins
	}
	scheme := "http"
	if c.TLS.CertFile != "" || len(c.TLS.ACME.Domains) > 0 {
		scheme = "https"
	}
	_, port, err := net.SplitHostPort(c.Addr)
	if err != nil || port == "" || port == "0" {
		port = "8080"
	}
	rp := c.WebAuthn.RPID
	if rp == "" {
		rp = "localhost"
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		return []string{scheme + "://" + rp}
	}
	return []string{scheme + "://" + net.JoinHostPort(rp, port)}
}

// validateWebAuthn checks the webauthn section: the relying party id is a
// domain, and every origin is an http(s) origin on that domain or below.
func (c *Config) validateWebAuthn() error {
	rp := c.WebAuthn.RPID
	if rp != "" {
		if net.ParseIP(rp) != nil || strings.ContainsAny(rp, ":/ ") {
			return fmt.Errorf("config: webauthn.rp_id: %q is not a domain (an IP address cannot be a relying party id; use localhost)", rp)
		}
	} else {
		rp = "localhost"
	}
	for _, o := range c.WebAuthn.Origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			return fmt.Errorf("config: webauthn.origins: %q is not an origin such as https://vault.example.com", o)
		}
		h := u.Hostname()
		if h != rp && !strings.HasSuffix(h, "."+rp) {
			return fmt.Errorf("config: webauthn.origins: %q is not on the relying party id %q", o, rp)
		}
	}
	return nil
}
