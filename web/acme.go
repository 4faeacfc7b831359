package web

import (
	"crypto/tls"
	"errors"
	"net/http"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// ACME has the server obtain and renew its certificate from an ACME
// certificate authority (Let's Encrypt unless DirectoryURL says otherwise)
// with the TLS-ALPN-01 challenge, answered on the server's own TLS port:
// the CA must reach that port as port 443 of every domain.
type ACME struct {
	// Domains are the names the certificate is for; requests for any
	// other name get no certificate.
	Domains []string
	// Email is the CA account's contact, for expiry notices; optional.
	Email string
	// CacheDir keeps the account key and the certificates across restarts
	// (created with mode 0700). Required: without it every restart would
	// ask the CA again and soon hit its rate limits.
	CacheDir string
	// DirectoryURL is the CA's ACME directory; "" means Let's Encrypt.
	DirectoryURL string
	// HTTPClient talks to the CA; nil means http.DefaultClient. A private
	// CA whose roots the system does not trust needs its own.
	HTTPClient *http.Client
}

// tlsConfig returns the TLS settings that serve ACME certificates.
func (a *ACME) tlsConfig() (*tls.Config, error) {
	switch {
	case len(a.Domains) == 0:
		return nil, errors.New("acme: no domains")
	case a.CacheDir == "":
		return nil, errors.New("acme: no cache directory")
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		HostPolicy: autocert.HostWhitelist(a.Domains...),
		Cache:      autocert.DirCache(a.CacheDir),
		Email:      a.Email,
		Client:     &acme.Client{DirectoryURL: a.DirectoryURL, HTTPClient: a.HTTPClient},
	}
	if a.DirectoryURL == "" {
		m.Client.DirectoryURL = autocert.DefaultACMEDirectory
	}
	c := m.TLSConfig() // GetCertificate, and acme-tls/1 for the challenge
	c.MinVersion = tls.VersionTLS12
	return c, nil
}
