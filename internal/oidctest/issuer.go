// Package oidctest runs OpenID Connect providers for single sign-on tests,
// on loopback: Dex (github.com/dexidp/dex, which `make test` builds from
// internal/tools/dex) with a static client and a static password user, for
// the full authorization-code flow in a browser; and Issuer, a small
// provider of the test's own whose token endpoint answers with whatever ID
// token the test signed, for the tokens a real provider would never issue
// (another issuer, a wrong audience, an expired token, a replayed nonce).
package oidctest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Issuer is a minimal OpenID Connect provider: discovery, JWKS and a token
// endpoint. Its authorization endpoint is never visited: a test reads the
// state and nonce from the start redirect and calls the callback itself.
type Issuer struct {
	URL string // http://127.0.0.1:PORT, its issuer identifier

	key *ecdsa.PrivateKey
	srv *httptest.Server

	mu       sync.Mutex
	next     string // the id_token the token endpoint answers with
	verifier string // the last code_verifier posted
	code     string // the last code posted
}

// NewIssuer starts an Issuer on loopback, stopped when tb ends.
func NewIssuer(tb testing.TB) *Issuer {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	i := &Issuer{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{
			"issuer": i.URL, "authorization_endpoint": i.URL + "/auth", "token_endpoint": i.URL + "/token",
			"jwks_uri": i.URL + "/keys", "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"ES256"},
			"code_challenge_methods_supported": []string{"S256"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		i.mu.Lock()
		i.verifier, i.code = r.PostForm.Get("code_verifier"), r.PostForm.Get("code")
		tok := i.next
		i.mu.Unlock()
		writeJSON(w, map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 3600, "id_token": tok})
	})
	i.srv = httptest.NewServer(mux)
	tb.Cleanup(i.srv.Close)
	i.URL = i.srv.URL
	return i
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// Claims are an ID token's claims; the zero fields are left out.
type Claims struct {
	Issuer        string
	Audience      string
	Subject       string
	Email         string
	EmailVerified bool
	Nonce         string
	IssuedAt      time.Time
	Expiry        time.Time
}

// Sign returns c as a compact JWS signed with i's key (ES256, key id k1).
// Claims.Issuer "" means i.URL.
func (i *Issuer) Sign(tb testing.TB, c Claims) string {
	tb.Helper()
	if c.Issuer == "" {
		c.Issuer = i.URL
	}
	payload, _ := json.Marshal(map[string]any{
		"iss": c.Issuer, "aud": c.Audience, "sub": c.Subject, "email": c.Email, "email_verified": c.EmailVerified,
		"nonce": c.Nonce, "iat": c.IssuedAt.Unix(), "exp": c.Expiry.Unix(),
	})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: i.key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		tb.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// Answer makes the token endpoint answer the next exchanges with idToken.
func (i *Issuer) Answer(idToken string) {
	i.mu.Lock()
	i.next = idToken
	i.mu.Unlock()
}

// LastExchange returns the code and PKCE code_verifier of the last token
// request.
func (i *Issuer) LastExchange() (code, verifier string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.code, i.verifier
}

var randRead = func(b []byte) (int, error) { return io.ReadFull(rand.Reader, b) }
