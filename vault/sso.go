package vault

import (
	"context"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// --- Single sign-on (issue #16): the firm's OpenID Connect provider. ---

// ESSOREQUIRED is the code of a password sign-in refused because the firm
// requires its single sign-on (everyone but its owners). Mapped to 403.
const ESSOREQUIRED = "sso_required"

// Reasons of an sso.refused event (details.reason).
const (
	SSOReasonState      = "state"    // unknown, used or expired state
	SSOReasonNonce      = "nonce"    // the ID token's nonce is not this sign-in's
	SSOReasonIssuer     = "issuer"   // the ID token is from another issuer
	SSOReasonAudience   = "audience" // the ID token is for another client
	SSOReasonExpired    = "expired"  // the ID token has expired
	SSOReasonToken      = "token"    // no, or an invalid, ID token (signature, exchange)
	SSOReasonUnverified = "email_unverified"
	SSOReasonDomain     = "domain"       // the email is outside the allowed domains
	SSOReasonUnknown    = "unknown_user" // no account of the firm has the email (and no jit)
	SSOReasonDisabled   = "disabled"     // the account is disabled, or the firm has no SSO
	SSOReasonProvider   = "provider"     // the provider answered with an error
)

// SSOConfig is a firm's OpenID Connect provider. Every field a person
// wrote (issuer, client id, client secret, domains) is sealed with the
// firm's field key; the client secret is write-only.
type SSOConfig struct {
	TenantID     string    `json:"-"`
	Issuer       string    `json:"issuer"`
	ClientID     string    `json:"client_id"`
	ClientSecret string    `json:"-"`
	Domains      []string  `json:"allowed_domains"`
	JIT          bool      `json:"jit"`
	RequireSSO   bool      `json:"require_sso"`
	UpdatedAt    time.Time `json:"updated_at"`
	UpdatedBy    string    `json:"updated_by"`
	Damage
}

// SSOSettings is what an owner saves. An empty ClientSecret keeps the
// stored one.
type SSOSettings struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	Domains      []string
	JIT          bool
	RequireSSO   bool
}

// SSOIdentity is what a verified ID token says of the person signing in.
type SSOIdentity struct {
	Issuer        string
	Subject       string
	Email         string
	EmailVerified bool
}

// SSOStore keeps the firms' providers; *sqlite.DB implements it.
type SSOStore interface {
	// SSOConfig returns a firm's provider. Errors: not_found.
	SSOConfig(ctx context.Context, tenantID string) (*SSOConfig, error)
	// PutSSOConfig saves a firm's provider. Errors: not_found (firm).
	PutSSOConfig(ctx context.Context, c *SSOConfig) error
	// DeleteSSOConfig removes it. Errors: not_found.
	DeleteSSOConfig(ctx context.Context, tenantID string) error
}

func (s *Service) ssoStore() (SSOStore, error) {
	st, ok := s.Store.(SSOStore)
	if !ok {
		return nil, Errorf(EINTERNAL, "Single sign-on is not supported by this store.")
	}
	return st, nil
}

// SSOConfig returns the actor's firm's provider (without its secret).
// Owners only. Errors: unauthorized, forbidden, not_found.
func (s *Service) SSOConfig(ctx context.Context, actor *User) (*SSOConfig, error) {
	if err := checkSSOOwner(actor); err != nil {
		return nil, err
	}
	st, err := s.ssoStore()
	if err != nil {
		return nil, err
	}
	c, err := st.SSOConfig(ctx, actor.TenantID)
	if err != nil {
		return nil, err
	}
	c.ClientSecret = ""
	return c, nil
}

func checkSSOOwner(actor *User) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if actor.Role != RoleOwner {
		return Errorf(EFORBIDDEN, "Only an owner can configure single sign-on.")
	}
	return nil
}

// SetSSOConfig validates and saves the actor's firm's provider, audited as
// sso.configure before it takes effect. When SSODiscover is set the issuer
// must answer its discovery document. Owners only.
// Errors: unauthorized, forbidden, invalid, unavailable.
func (s *Service) SetSSOConfig(ctx context.Context, actor *User, in SSOSettings) (*SSOConfig, error) {
	if err := checkSSOOwner(actor); err != nil {
		return nil, err
	}
	st, err := s.ssoStore()
	if err != nil {
		return nil, err
	}
	c := &SSOConfig{TenantID: actor.TenantID, Issuer: strings.TrimSpace(in.Issuer), ClientID: strings.TrimSpace(in.ClientID),
		ClientSecret: in.ClientSecret, JIT: in.JIT, RequireSSO: in.RequireSSO, UpdatedAt: s.now(), UpdatedBy: actor.ID}
	if err := ValidateSSOIssuer(c.Issuer); err != nil {
		return nil, err
	}
	if c.ClientID == "" || len(c.ClientID) > 500 {
		return nil, Errorf(EINVALID, "A client id of at most 500 characters is required.")
	}
	if len(c.ClientSecret) > 1000 {
		return nil, Errorf(EINVALID, "The client secret is too long.")
	}
	if c.Domains, err = cleanSSODomains(in.Domains); err != nil {
		return nil, err
	}
	old, err := st.SSOConfig(ctx, actor.TenantID)
	if err != nil && !IsCode(err, ENOTFOUND) {
		return nil, err
	}
	if c.ClientSecret == "" {
		if old == nil || old.ClientSecret == "" {
			return nil, Errorf(EINVALID, "A client secret is required.")
		}
		c.ClientSecret = old.ClientSecret
	}
	if s.SSODiscover != nil {
		if err := s.SSODiscover(ctx, c.Issuer); err != nil {
			return nil, WrapError(EINVALID, err, "The issuer did not answer its OpenID Connect discovery document (/.well-known/openid-configuration).")
		}
	}
	ev := event(actor, ActSSOConfigure, "tenant", actor.TenantID)
	ev.Private["issuer"] = c.Issuer
	ev.Details["domains"] = strconv.Itoa(len(c.Domains))
	ev.Details["jit"], ev.Details["require_sso"] = strconv.FormatBool(c.JIT), strconv.FormatBool(c.RequireSSO)
	if err := s.act(ctx, func() error { return st.PutSSOConfig(ctx, c) }, ev); err != nil {
		return nil, err
	}
	if c.RequireSSO && (old == nil || !old.RequireSSO) {
		if err := s.endPasswordSessions(ctx, actor); err != nil {
			return nil, err
		}
	}
	out := *c
	out.ClientSecret = ""
	return &out, nil
}

// DisableSSO removes the actor's firm's provider, audited as sso.disable.
// Owners only. Errors: unauthorized, forbidden, not_found, unavailable.
func (s *Service) DisableSSO(ctx context.Context, actor *User) error {
	if err := checkSSOOwner(actor); err != nil {
		return err
	}
	st, err := s.ssoStore()
	if err != nil {
		return err
	}
	if _, err := st.SSOConfig(ctx, actor.TenantID); err != nil {
		return err
	}
	ev := event(actor, ActSSODisable, "tenant", actor.TenantID)
	return s.act(ctx, func() error { return st.DeleteSSOConfig(ctx, actor.TenantID) }, ev)
}

// SSOProvider returns a firm's provider with its client secret, for the
// sign-in flow (package sso) only: never show it.
// Errors: not_found (no such firm, or no provider).
func (s *Service) SSOProvider(ctx context.Context, tenantID string) (*SSOConfig, error) {
	st, err := s.ssoStore()
	if err != nil {
		return nil, err
	}
	c, err := st.SSOConfig(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if c.Damaged() {
		return nil, Errorf(ECANNOTDECRYPT, "The firm's single sign-on settings cannot be read.")
	}
	return c, nil
}

// msgSSORefused is the one message of every refused single sign-on: the
// reason is in the firm's audit log, not on the page.
const msgSSORefused = "Single sign-on did not sign you in. Try again, or ask your firm's owner."

// SSORefuse records a refused single sign-on (sso.refused, with reason) in
// the firm's log (tenantID "" when the firm is unknown: the service log)
// and returns the unauthorized error to show, or unavailable when the
// refusal cannot be recorded.
func (s *Service) SSORefuse(ctx context.Context, tenantID, reason string) error {
	ev := event(nil, ActSSORefused, "tenant", tenantID)
	ev.TenantID = tenantID
	ev.Outcome, ev.Details["reason"] = OutcomeDenied, reason
	if _, err := s.record(ctx, ev); err != nil {
		return err
	}
	s.Log.Info().Str("tenant_id", tenantID).Str("reason", reason).Msg("single sign-on refused")
	return &Error{Code: EUNAUTHORIZED, Message: msgSSORefused}
}

// SSOSignIn starts a session (Method SignInSSO) for the person a verified
// ID token names, in tenantID (the firm the sign-in was started for, never
// one the token chooses): the email must be verified, within the firm's
// allowed domains, and an enabled account of that firm, or be created as a
// lawyer when the firm allows just-in-time accounts. Every refusal is
// recorded as sso.refused. Errors: unauthorized, suspended, unavailable.
func (s *Service) SSOSignIn(ctx context.Context, tenantID string, id SSOIdentity) (string, *Token, error) {
	cfg, err := s.SSOProvider(ctx, tenantID)
	if IsCode(err, ENOTFOUND) {
		return "", nil, s.SSORefuse(ctx, tenantID, SSOReasonDisabled)
	} else if err != nil {
		return "", nil, err
	}
	if id.Issuer != cfg.Issuer {
		return "", nil, s.SSORefuse(ctx, tenantID, SSOReasonIssuer)
	}
	if !id.EmailVerified {
		return "", nil, s.SSORefuse(ctx, tenantID, SSOReasonUnverified)
	}
	email, err := cleanEmail(id.Email)
	if err != nil {
		return "", nil, s.SSORefuse(ctx, tenantID, SSOReasonDomain)
	}
	if !slices.Contains(cfg.Domains, email[strings.LastIndexByte(email, '@')+1:]) {
		return "", nil, s.SSORefuse(ctx, tenantID, SSOReasonDomain)
	}
	u, err := s.userOfFirmByEmail(ctx, tenantID, email)
	switch {
	case IsCode(err, ENOTFOUND) && cfg.JIT:
		if u, err = s.createSSOUser(ctx, tenantID, email); err != nil {
			return "", nil, err
		}
	case IsCode(err, ENOTFOUND):
		return "", nil, s.SSORefuse(ctx, tenantID, SSOReasonUnknown)
	case err != nil:
		return "", nil, err
	}
	if u.Disabled {
		return "", nil, s.SSORefuse(ctx, tenantID, SSOReasonDisabled)
	}
	if err := s.checkContained(ctx, u); err != nil {
		return "", nil, err
	}
	ttl := s.SessionTTL
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	exp := s.now().Add(ttl)
	secret, tok, err := s.issueToken(ctx, u, TokenSession, SignInSSO, "", &exp)
	if err != nil {
		return "", nil, err
	}
	s.Log.Info().Str("tenant_id", u.TenantID).Str("user_id", u.ID).Str("token_id", tok.ID).Msg("signed in through sso")
	return secret, tok, nil
}

// userOfFirmByEmail finds the account of tenantID with email through the
// blind index of the firm's region only. Errors: not_found.
func (s *Service) userOfFirmByEmail(ctx context.Context, tenantID, email string) (*User, error) {
	region, err := s.tenantRegion(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	ix, err := EmailIndex(ctx, s.Indexer, region, email)
	if err != nil {
		return nil, err
	}
	users, err := s.Store.UsersByEmailIndex(ctx, [][]byte{ix})
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		if u.TenantID == tenantID {
			return u, nil
		}
	}
	return nil, Errorf(ENOTFOUND, "User not found.")
}

// createSSOUser creates a lawyer's account for a just-in-time sign-in, with
// a random password nobody is told (the account signs in through SSO).
func (s *Service) createSSOUser(ctx context.Context, tenantID, email string) (*User, error) {
	region, err := s.tenantRegion(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	u, _, err := s.newUser(ctx, tenantID, region, NewUser{Email: email, Role: RoleLawyer}, ActorSSO)
	if err != nil {
		return nil, err
	}
	ev := event(nil, ActUserCreate, "user", u.ID)
	ev.TenantID, ev.ActorID = tenantID, ActorSSO
	ev.Private["email"], ev.Details["role"], ev.Details["via"] = u.Email, string(u.Role), "sso_jit"
	if err := s.act(ctx, func() error { return s.Store.CreateUser(ctx, u) }, ev); err != nil {
		return nil, err
	}
	return u, nil
}

// ActorSSO is the actor id of what the firm's provider caused: accounts
// created just in time.
const ActorSSO = "sso"

// checkSSORequired refuses a password sign-in to a firm that requires
// single sign-on, unless u is an owner (the break-glass account).
func (s *Service) checkSSORequired(ctx context.Context, u *User) error {
	st, ok := s.Store.(SSOStore)
	if !ok || u.Role == RoleOwner {
		return nil
	}
	c, err := st.SSOConfig(ctx, u.TenantID)
	if IsCode(err, ENOTFOUND) {
		return nil
	} else if err != nil {
		return err
	}
	if c.RequireSSO {
		return Errorf(ESSOREQUIRED, "Your firm requires you to sign in with its single sign-on.")
	}
	return nil
}

// endPasswordSessions revokes, when a firm starts to require single
// sign-on, the UI sessions of everyone but its owners that were not signed
// in through it, each audited as token.revoke (reason sso_required). API
// tokens stay: they are listed, expiring and revocable by admins.
func (s *Service) endPasswordSessions(ctx context.Context, actor *User) error {
	users, err := s.Store.Users(ctx, actor.TenantID)
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.Role == RoleOwner {
			continue
		}
		toks, err := s.Store.Tokens(ctx, u.TenantID, u.ID, s.now())
		if err != nil {
			return err
		}
		for _, t := range toks {
			if t.Kind != TokenSession || t.Method == SignInSSO {
				continue
			}
			ev := event(actor, ActTokenRevoke, "token", t.ID)
			ev.Details["kind"], ev.Details["reason"], ev.Details["user_id"] = t.Kind, ESSOREQUIRED, u.ID
			if err := s.act(ctx, func() error { return s.Store.RevokeToken(ctx, u.TenantID, u.ID, t.ID) }, ev); err != nil && !IsCode(err, ENOTFOUND) {
				return err
			}
		}
	}
	return nil
}

// ValidateSSOIssuer accepts an https URL, or http on a loopback address
// (for tests). Errors: invalid.
func ValidateSSOIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || len(issuer) > 500 {
		return Errorf(EINVALID, "The issuer must be an https URL such as https://accounts.google.com.")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
			return nil
		}
	}
	return Errorf(EINVALID, "The issuer must be an https URL (http only on a loopback address).")
}

// cleanSSODomains lower-cases, checks and de-duplicates email domains; at
// least one is required.
func cleanSSODomains(in []string) ([]string, error) {
	var out []string
	for _, d := range in {
		d = strings.ToLower(strings.TrimSpace(d))
		if d == "" {
			continue
		}
		if !validDomain(d) {
			return nil, Errorf(EINVALID, "%q is not an email domain such as example.com.", d)
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return nil, Errorf(EINVALID, "At least one allowed email domain is required.")
	}
	if len(out) > 50 {
		return nil, Errorf(EINVALID, "At most 50 allowed email domains.")
	}
	return out, nil
}

func validDomain(d string) bool {
	if len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
