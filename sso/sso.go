// Package sso signs people in with their firm's OpenID Connect provider:
// the authorization code flow with PKCE (S256), state and nonce, and ID
// token validation with github.com/coreos/go-oidc/v3. The rules (which
// firm, which account, which domains) are vault.Service's: this package
// only speaks the protocol, and every refusal goes through
// vault.Service.SSORefuse so it is audited.
package sso

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/casevault/casevault/vault"
)

// StateTTL is how long a started sign-in may take to come back.
const StateTTL = 10 * time.Minute

// maxPending bounds the sign-ins in progress, so that starting them in a
// loop cannot exhaust memory; the oldest are dropped first.
const maxPending = 10000

// Flow runs single sign-on for every firm of a Service. Its pending
// sign-ins live in memory: a restart asks people to start again.
type Flow struct {
	// Service holds the firms' providers and signs people in.
	Service *vault.Service
	// RedirectURL is the one redirect URI of every firm,
	// {public base URL}/sso/callback: what owners register with their
	// provider.
	RedirectURL string
	// HTTPClient talks to the providers; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Now is the clock the ID token's expiry is checked against; nil means
	// Service.Now or time.Now.
	Now func() time.Time

	mu        sync.Mutex
	pending   map[[32]byte]pending
	providers map[string]cachedProvider
}

type pending struct {
	tenantID, nonce, verifier string
	expires                   time.Time
	used                      bool // kept until it expires, so a replay is audited in the firm's log
}

type cachedProvider struct {
	p       *oidc.Provider
	fetched time.Time
}

// providerTTL is how long a provider's discovery document is reused.
const providerTTL = 10 * time.Minute

func (f *Flow) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	if f.Service != nil && f.Service.Now != nil {
		return f.Service.Now()
	}
	return time.Now()
}

func (f *Flow) client(ctx context.Context) context.Context {
	if f.HTTPClient != nil {
		return oidc.ClientContext(ctx, f.HTTPClient)
	}
	return ctx
}

// Discover fetches issuer's discovery document; it is the check
// vault.Service.SSODiscover runs when an owner saves a provider.
func (f *Flow) Discover(ctx context.Context, issuer string) error {
	_, err := f.provider(ctx, issuer, true)
	return err
}

func (f *Flow) provider(ctx context.Context, issuer string, fresh bool) (*oidc.Provider, error) {
	f.mu.Lock()
	cp, ok := f.providers[issuer]
	f.mu.Unlock()
	if ok && !fresh && time.Since(cp.fetched) < providerTTL {
		return cp.p, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(f.client(ctx), issuer)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	if f.providers == nil {
		f.providers = map[string]cachedProvider{}
	}
	f.providers[issuer] = cachedProvider{p: p, fetched: time.Now()}
	f.mu.Unlock()
	return p, nil
}

func (f *Flow) oauth(p *oidc.Provider, c *vault.SSOConfig) *oauth2.Config {
	return &oauth2.Config{
		ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: f.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email", "profile"},
	}
}

// Start begins a sign-in to tenantID's provider: it returns the state (the
// web layer binds it to the browser with a cookie) and the provider's URL
// to send the browser to. Errors: not_found (no such firm or provider),
// unavailable (provider unreachable).
func (f *Flow) Start(ctx context.Context, tenantID string) (state, authURL string, err error) {
	c, err := f.Service.SSOProvider(ctx, tenantID)
	if err != nil {
		if vault.IsCode(err, vault.ENOTFOUND) {
			return "", "", vault.Errorf(vault.ENOTFOUND, "This firm has no single sign-on.")
		}
		return "", "", err
	}
	p, err := f.provider(ctx, c.Issuer, false)
	if err != nil {
		return "", "", vault.WrapError(vault.EUNAVAILABLE, err, "Your firm's identity provider cannot be reached. Try again later.")
	}
	state, nonce, verifier := random(), random(), oauth2.GenerateVerifier()
	now := f.now()
	f.mu.Lock()
	if f.pending == nil {
		f.pending = map[[32]byte]pending{}
	}
	for k, v := range f.pending { // drop the expired, and the oldest when full
		if now.After(v.expires) || len(f.pending) >= maxPending {
			delete(f.pending, k)
		}
	}
	f.pending[sha256.Sum256([]byte(state))] = pending{tenantID: tenantID, nonce: nonce, verifier: verifier, expires: now.Add(StateTTL)}
	f.mu.Unlock()
	authURL = f.oauth(p, c).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	return state, authURL, nil
}

// take returns the pending sign-in of state and marks it used: each is
// used once. A used or expired one is returned with ok false, with its
// firm so that the refusal goes to that firm's log.
func (f *Flow) take(state string) (p pending, ok bool) {
	k := sha256.Sum256([]byte(state))
	f.mu.Lock()
	defer f.mu.Unlock()
	p, found := f.pending[k]
	if !found {
		return pending{}, false
	}
	if p.used || f.now().After(p.expires) {
		return pending{tenantID: p.tenantID}, false
	}
	used := p
	used.used, used.nonce, used.verifier = true, "", ""
	f.pending[k] = used
	return p, true
}

// Callback finishes a sign-in: state must be one Start returned and not yet
// used (and, when browserState is not "", equal to it: the cookie the web
// layer set), the code is exchanged with the PKCE verifier, and the ID
// token must be signed by the firm's issuer, for its client id, unexpired,
// and carry this sign-in's nonce. Then vault.Service.SSOSignIn decides.
// providerError is the error parameter of the redirect, if any. Every
// refusal is audited (sso.refused). Errors: unauthorized, suspended,
// unavailable.
func (f *Flow) Callback(ctx context.Context, state, browserState, code, providerError string) (string, *vault.Token, error) {
	pd, ok := f.take(state)
	if !ok || state == "" || (browserState != "" && subtle.ConstantTimeCompare([]byte(state), []byte(browserState)) != 1) {
		return "", nil, f.Service.SSORefuse(ctx, pd.tenantID, vault.SSOReasonState)
	}
	if providerError != "" || code == "" {
		return "", nil, f.Service.SSORefuse(ctx, pd.tenantID, vault.SSOReasonProvider)
	}
	c, err := f.Service.SSOProvider(ctx, pd.tenantID)
	if vault.IsCode(err, vault.ENOTFOUND) {
		return "", nil, f.Service.SSORefuse(ctx, pd.tenantID, vault.SSOReasonDisabled)
	} else if err != nil {
		return "", nil, err
	}
	p, err := f.provider(ctx, c.Issuer, false)
	if err != nil {
		return "", nil, vault.WrapError(vault.EUNAVAILABLE, err, "Your firm's identity provider cannot be reached. Try again later.")
	}
	ctx2, cancel := context.WithTimeout(f.client(ctx), 15*time.Second)
	defer cancel()
	tok, err := f.oauth(p, c).Exchange(ctx2, code, oauth2.VerifierOption(pd.verifier))
	if err != nil {
		return "", nil, f.Service.SSORefuse(ctx, pd.tenantID, vault.SSOReasonToken)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", nil, f.Service.SSORefuse(ctx, pd.tenantID, vault.SSOReasonToken)
	}
	idt, err := p.VerifierContext(f.client(ctx), &oidc.Config{ClientID: c.ClientID, Now: f.now}).Verify(ctx2, raw)
	if err != nil {
		return "", nil, f.Service.SSORefuse(ctx, pd.tenantID, reasonOf(err, raw, c.Issuer))
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(pd.nonce)) != 1 {
		return "", nil, f.Service.SSORefuse(ctx, pd.tenantID, vault.SSOReasonNonce)
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified *bool  `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil {
		return "", nil, f.Service.SSORefuse(ctx, pd.tenantID, vault.SSOReasonToken)
	}
	return f.Service.SSOSignIn(ctx, pd.tenantID, vault.SSOIdentity{
		Issuer: idt.Issuer, Subject: idt.Subject, Email: claims.Email,
		EmailVerified: claims.EmailVerified != nil && *claims.EmailVerified,
	})
}

// reasonOf names why go-oidc refused the ID token raw. go-oidc checks the
// signature first, so a token another issuer signed fails there; its
// (unverified, and only used to name the refusal) iss claim then says
// whether it came from another issuer.
func reasonOf(err error, raw, issuer string) string {
	var exp *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &exp):
		return vault.SSOReasonExpired
	case strings.Contains(msg, "issued by a different provider"):
		return vault.SSOReasonIssuer
	case strings.Contains(msg, "expected audience"):
		return vault.SSOReasonAudience
	}
	if iss, ok := unverifiedIssuer(raw); ok && iss != issuer {
		return vault.SSOReasonIssuer
	}
	return vault.SSOReasonToken
}

// unverifiedIssuer reads the iss claim of a compact JWT without checking
// anything.
func unverifiedIssuer(raw string) (string, bool) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(b, &c) != nil {
		return "", false
	}
	return c.Iss, true
}

func random() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
