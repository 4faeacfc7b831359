package vault

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Kinds of sign-in token.
const (
	TokenSession = "session" // from Login; expires after Service.SessionTTL (default 12h)
	TokenAPI     = "api"     // personal API token for scripts; optional expiry
)

// How a session was signed in (Token.Method). API tokens have "".
const (
	SignInPassword = "password" // a password alone
	SignInMFA      = "mfa"      // a password and a second factor (TOTP, recovery code or passkey)
	SignInPasskey  = "passkey"  // a passkey instead of a password, where the firm allows it
	SignInSSO      = "sso"      // the firm's OpenID Connect provider
)

// ValidSignInMethod reports whether m is a Token.Method ("" included).
func ValidSignInMethod(m string) bool {
	switch m {
	case "", SignInPassword, SignInMFA, SignInPasskey, SignInSSO:
		return true
	}
	return false
}

// PrefixToken is the id prefix of sign-in tokens. A token's id names it in
// lists and revocations; it is not its secret.
const PrefixToken = "tok"

// DefaultSessionTTL is how long a session from Login lasts unless
// Service.SessionTTL says otherwise.
const DefaultSessionTTL = 12 * time.Hour

// Token is a sign-in token: a session from Login or a personal API token.
// Its secret is shown once, when it is issued, and stored only as a SHA-256
// hash.
type Token struct {
	ID         string     `json:"id"`
	TenantID   string     `json:"-"`
	UserID     string     `json:"user_id"`
	Kind       string     `json:"kind"`
	Method     string     `json:"method,omitempty"` // sessions: SignInPassword, SignInMFA, SignInPasskey or SignInSSO
	Name       string     `json:"name,omitempty"`   // sealed; "" for none, or when Damage says it is unreadable
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	Damage
}

// Secret prefixes say what a secret is, so that a leaked one is recognisable
// (by people and by secret scanners) and one kind is never accepted as
// another.
const (
	secretPrefixSession = "cvs_"
	secretPrefixAPI     = "cvt_"
	secretPrefixSetup   = "cvsetup_"
)

// secretBytes is the entropy of every secret: 256 bits.
const secretBytes = 32

// secretEncoding encodes secrets; Strict rejects non-canonical encodings, so
// each secret has exactly one spelling.
var secretEncoding = base64.RawURLEncoding.Strict()

const (
	touchInterval = time.Minute
	maxAPITokens  = 100 // live API tokens per user
)

// User-facing messages that must not vary with the reason, so they reveal
// nothing about which accounts exist or why a secret was refused.
const (
	msgBadLogin    = "Email or password is incorrect."
	msgSignInAgain = "Your sign-in has expired or was revoked. Sign in again."
	msgBadSetup    = "The setup token is invalid or has already been used."
)

// Login checks an email and password and starts a session, as LoginToFirm
// does with no firm chosen.
// Errors: invalid, unauthorized, choose_firm, rate_limited.
func (s *Service) Login(ctx context.Context, email, password, source string) (secret string, tok *Token, err error) {
	return s.LoginToFirm(ctx, "", email, password, source)
}

// LoginToFirm checks an email and password and starts a session. source is
// the client's address, for rate limiting ("" when unknown). The same email
// may have accounts in several firms: the password is checked against every
// one of them (see checkCredentials). When it opens exactly one, or
// tenantID ("" for any) names the firm of one it opens, that account signs
// in; when it opens several and no firm is chosen, the answer is
// choose_firm with those firms (and only those) in Error.Firms. An unknown
// email, a wrong password, a disabled account and a firm the password does
// not open fail alike, with the same work.
// When the account has a second factor, the answer is mfa_required with a
// challenge (MFAChallengeOf) for CompleteMFA instead of a session.
// Errors: invalid (empty email or password), unauthorized, choose_firm,
// mfa_required, rate_limited.
func (s *Service) LoginToFirm(ctx context.Context, tenantID, email, password, source string) (secret string, tok *Token, err error) {
	account := normalEmail(email)
	switch {
	case account == "" || password == "":
		return "", nil, Errorf(EINVALID, "Email and password are required.")
	case len(account) > MaxEmailLength:
		return "", nil, Errorf(EUNAUTHORIZED, msgBadLogin)
	}
	source = NormalizeSource(source)
	now := s.now()

	// A refused attempt costs no password check: that is the work the
	// throttle exists to deny.
	att, err := s.throttle().Check(ctx, account, source, now)
	if err != nil {
		return "", nil, err
	}
	if !att.Allowed {
		s.Log.Warn().Str("source", source).Msg("sign-in rate limited")
		// Recorded in the service log (looking the account up would cost
		// the work the throttle exists to deny), once per block: an
		// attacker hammering a blocked pair must not be able to fill the
		// audit disk, which would stop the service.
		if att.Notice {
			if err := s.recordLoginFailure(ctx, nil, account, source, "rate_limited"); err != nil {
				return "", nil, err
			}
		}
		return "", nil, att.refusal("Too many failed sign-in attempts.", now)
	}

	u, targets, err := s.checkCredentials(ctx, account, password, tenantID)
	switch {
	case IsCode(err, EUNAUTHORIZED):
		if err := s.throttle().Failed(ctx, att); err != nil {
			return "", nil, err
		}
		// One line for each firm whose account was tried, so it goes to
		// that firm's cell log, which is at rest in the cell and so holds
		// no source address (the firm's audit event has it, sealed);
		// stderr keeps an unknown account's with its address.
		if len(targets) == 0 {
			s.Log.Info().Str("source", source).Int("accounts", 0).Msg("sign-in failed")
		}
		for _, u := range targets {
			s.Log.Info().Str("tenant_id", u.TenantID).Str("user_id", u.ID).Int("accounts", len(targets)).Msg("sign-in failed")
		}
		if err := s.recordLoginFailures(ctx, targets, account, source, "bad_credentials"); err != nil {
			return "", nil, err
		}
		return "", nil, err
	case IsCode(err, ECHOOSEFIRM):
		// The password is right, for several accounts: not a guess.
		if serr := s.throttle().Succeeded(ctx, att); serr != nil {
			return "", nil, serr
		}
		return "", nil, err
	case err != nil: // the store failed
		return "", nil, err
	}
	if err := s.throttle().Succeeded(ctx, att); err != nil {
		return "", nil, err
	}
	if err := s.checkContained(ctx, u); err != nil {
		// The password was right: no guess, but no session either.
		if IsCode(err, ESUSPENDED) {
			if rerr := s.recordLoginFailure(ctx, u, account, source, ESUSPENDED); rerr != nil {
				return "", nil, rerr
			}
		}
		return "", nil, err
	}
	// Single sign-on (issue #16): a firm may require it of all but owners.
	if err := s.checkSSORequired(ctx, u); err != nil {
		if IsCode(err, ESSOREQUIRED) {
			if rerr := s.recordLoginFailure(ctx, u, account, source, ESSOREQUIRED); rerr != nil {
				return "", nil, rerr
			}
		}
		return "", nil, err
	}
	// A second factor, when the user has one, is the sign-in's next step.
	if factors, err := s.userFactors(ctx, u); err != nil {
		return "", nil, err
	} else if len(factors) > 0 {
		return "", nil, s.newMFAChallenge(ctx, u, factors)
	}

	ttl := s.SessionTTL
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	exp := now.Add(ttl)
	secret, tok, err = s.issueToken(ctx, u, TokenSession, SignInPassword, "", &exp)
	if err != nil {
		return "", nil, err
	}
	s.Log.Info().Str("tenant_id", u.TenantID).Str("user_id", u.ID).Str("token_id", tok.ID).Msg("signed in")
	return secret, tok, nil
}

// TokenRetention is how long expired and revoked tokens are kept before
// PurgeTokens deletes them.
const TokenRetention = 30 * 24 * time.Hour

// PurgeTokens deletes tokens that expired or were revoked more than
// TokenRetention ago; the janitor calls it. It returns how many it deleted.
func (s *Service) PurgeTokens(ctx context.Context) (int, error) {
	return s.Store.PurgeTokens(ctx, s.now().Add(-TokenRetention))
}

// recordLoginFailures records a failed sign-in in the log of each firm
// whose account it was tried against (targets), or once in the service log
// when there is none.
func (s *Service) recordLoginFailures(ctx context.Context, targets []*User, account, source, reason string) error {
	if len(targets) == 0 {
		return s.recordLoginFailure(ctx, nil, account, source, reason)
	}
	for _, u := range targets {
		if err := s.recordLoginFailure(ctx, u, account, source, reason); err != nil {
			return err
		}
	}
	return nil
}

// recordLoginFailure records a failed sign-in: in the firm's log when the
// account exists (u), else in the service log.
func (s *Service) recordLoginFailure(ctx context.Context, u *User, account, source, reason string) error {
	ev := event(nil, ActLoginFailed, "user", "")
	if u != nil {
		ev.TenantID, ev.ObjectID, ev.ActorEmail = u.TenantID, u.ID, u.Email
	} else {
		ev.Private["email"] = account // the service log keeps only its keyed hash
	}
	ev.Outcome, ev.Source, ev.Details["reason"] = OutcomeDenied, source, reason
	_, err := s.record(ctx, ev)
	return err
}

// Authenticate returns the user and token a secret stands for. An unknown,
// malformed, expired or revoked secret, or one whose user is missing or
// disabled, fails alike; a contained user's (breach detection) is
// suspended. It records the token's use at most once a minute.
// Errors: unauthorized, suspended.
func (s *Service) Authenticate(ctx context.Context, secret string) (*User, *Token, error) {
	return s.authenticate(ctx, secret, 0)
}

// AuthenticateSession is Authenticate for the web UI's sessions: only a
// session secret (from Login) is accepted, and one unused for idle or
// longer (idle > 0) has expired, whatever its absolute expiry says. Use is
// recorded at most once a minute, so idle is exact to about a minute.
// Errors: unauthorized.
func (s *Service) AuthenticateSession(ctx context.Context, secret string, idle time.Duration) (*User, *Token, error) {
	if !strings.HasPrefix(secret, secretPrefixSession) {
		return nil, nil, Errorf(EUNAUTHORIZED, msgSignInAgain)
	}
	return s.authenticate(ctx, secret, idle)
}

// authenticate is Authenticate with an idle limit (0 for none).
func (s *Service) authenticate(ctx context.Context, secret string, idle time.Duration) (*User, *Token, error) {
	kind, hash, ok := parseTokenSecret(secret)
	if !ok {
		return nil, nil, Errorf(EUNAUTHORIZED, msgSignInAgain)
	}
	tok, err := s.Store.TokenByHash(ctx, hash)
	if IsCode(err, ENOTFOUND) {
		return nil, nil, Errorf(EUNAUTHORIZED, msgSignInAgain)
	} else if err != nil {
		return nil, nil, err
	}
	now := s.now()
	if tok.Kind != kind || (tok.ExpiresAt != nil && !now.Before(*tok.ExpiresAt)) {
		return nil, nil, Errorf(EUNAUTHORIZED, msgSignInAgain)
	}
	if idle > 0 {
		last := tok.CreatedAt
		if tok.LastUsedAt != nil && tok.LastUsedAt.After(last) {
			last = *tok.LastUsedAt
		}
		if now.Sub(last) >= idle {
			return nil, nil, Errorf(EUNAUTHORIZED, msgSignInAgain)
		}
	}
	u, err := s.Store.User(ctx, tok.TenantID, tok.UserID)
	if IsCode(err, ENOTFOUND) {
		return nil, nil, Errorf(EUNAUTHORIZED, msgSignInAgain)
	} else if err != nil {
		return nil, nil, err
	}
	if u.Disabled || tok.CreatedAt.Before(u.CredentialsAt) {
		// A token older than the password (a reset) is refused even if
		// revoking it failed: a reset ends every earlier sign-in.
		return nil, nil, Errorf(EUNAUTHORIZED, msgSignInAgain)
	}
	if err := s.checkContained(ctx, u); err != nil {
		return nil, nil, err
	}
	if u.MFAEnrolmentRequired, err = s.mfaEnrolmentRequired(ctx, u, tok); err != nil {
		return nil, nil, err
	}
	if tok.LastUsedAt == nil || now.Sub(*tok.LastUsedAt) >= touchInterval {
		// Last use is informational: failing to record it must not
		// refuse an otherwise valid request.
		if err := s.Store.TouchToken(ctx, tok.TenantID, tok.ID, now); err != nil {
			s.Log.Warn().Err(err).Str("tenant_id", tok.TenantID).Str("token_id", tok.ID).Msg("cannot record token use")
		} else {
			tok.LastUsedAt = &now
		}
	}
	return u, tok, nil
}

// Logout revokes tok, the token the actor signed in with. Logging out twice
// is not an error. Errors: unauthorized, forbidden, not_found (another
// user's token).
func (s *Service) Logout(ctx context.Context, actor *User, tok *Token) error {
	if err := checkSignedIn(actor); err != nil {
		return err
	}
	if tok == nil || tok.TenantID != actor.TenantID || tok.UserID != actor.ID {
		return Errorf(ENOTFOUND, "Token not found.")
	}
	if _, err := s.record(ctx, event(actor, ActLogout, "token", tok.ID)); err != nil {
		return err
	}
	if err := s.Store.RevokeToken(ctx, actor.TenantID, actor.ID, tok.ID); err != nil && !IsCode(err, ENOTFOUND) {
		return err
	}
	s.Log.Info().Str("tenant_id", actor.TenantID).Str("user_id", actor.ID).Str("token_id", tok.ID).Msg("signed out")
	return nil
}

// CreateAPIToken issues a personal API token for the actor, named name
// (optional), that expires at expiresAt (nil for never). The secret is
// returned once. Errors: unauthorized, forbidden, invalid (name, expiry not
// in the future), conflict (too many live API tokens).
func (s *Service) CreateAPIToken(ctx context.Context, actor *User, name string, expiresAt *time.Time) (secret string, tok *Token, err error) {
	if err := checkActor(actor); err != nil {
		return "", nil, err
	}
	if name = strings.TrimSpace(name); name != "" {
		if name, err = cleanName("Token name", name, true); err != nil {
			return "", nil, err
		}
	}
	now := s.now()
	if expiresAt != nil {
		exp := expiresAt.UTC()
		if !exp.After(now) {
			return "", nil, Errorf(EINVALID, "Token expiry must be in the future.")
		}
		expiresAt = &exp
	}
	if err := s.checkAPITokenExpiry(ctx, actor.TenantID, expiresAt); err != nil {
		return "", nil, err
	}
	live, err := s.Store.Tokens(ctx, actor.TenantID, actor.ID, now)
	if err != nil {
		return "", nil, err
	}
	n := 0
	for _, t := range live {
		if t.Kind == TokenAPI {
			n++
		}
	}
	if n >= maxAPITokens {
		return "", nil, Errorf(ECONFLICT, "You already have %d API tokens; revoke one first.", n)
	}
	secret, tok, err = s.issueToken(ctx, actor, TokenAPI, "", name, expiresAt)
	if err != nil {
		return "", nil, err
	}
	s.Log.Info().Str("tenant_id", actor.TenantID).Str("user_id", actor.ID).Str("token_id", tok.ID).Msg("api token created")
	return secret, tok, nil
}

// Tokens returns the actor's own tokens, sessions and API tokens, that are
// neither expired nor revoked, oldest first. Errors: unauthorized, forbidden.
func (s *Service) Tokens(ctx context.Context, actor *User) ([]*Token, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	toks, err := s.Store.Tokens(ctx, actor.TenantID, actor.ID, s.now())
	if err != nil {
		return nil, err
	}
	for _, t := range toks {
		s.reportDamage(ctx, actor, "token", t.ID, "", &t.Damage)
	}
	if toks == nil {
		toks = []*Token{}
	}
	return toks, nil
}

// RevokeToken revokes one of the actor's own tokens. Another user's token is
// not_found, as is a missing or already revoked one.
// Errors: unauthorized, forbidden, not_found.
func (s *Service) RevokeToken(ctx context.Context, actor *User, id string) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if !ValidID(PrefixToken, id) {
		return Errorf(ENOTFOUND, "Token not found.")
	}
	ev := event(actor, ActTokenRevoke, "token", id)
	if err := s.act(ctx, func() error { return s.Store.RevokeToken(ctx, actor.TenantID, actor.ID, id) }, ev); err != nil {
		return err
	}
	s.Log.Info().Str("tenant_id", actor.TenantID).Str("user_id", actor.ID).Str("token_id", id).Msg("token revoked")
	return nil
}

// NeedsSetup reports whether the service still waits for its first firm,
// which Setup creates.
func (s *Service) NeedsSetup(ctx context.Context) (bool, error) {
	has, err := s.Store.HasTenants(ctx)
	if err != nil {
		return false, err
	}
	return !has, nil
}

// IssueSetupToken returns a new one-time setup token while no firm exists.
// Only its hash is stored, and it replaces any token issued before. The
// caller shows it to the operator (it is how the first firm proves it was
// created by whoever runs the server). Errors: conflict (a firm exists).
func (s *Service) IssueSetupToken(ctx context.Context) (string, error) {
	needs, err := s.NeedsSetup(ctx)
	if err != nil {
		return "", err
	}
	if !needs {
		return "", Errorf(ECONFLICT, "A firm already exists; setup is closed.")
	}
	secret, hash := newSecret(secretPrefixSetup)
	if err := s.Store.SetSetupToken(ctx, hash); err != nil {
		return "", err
	}
	s.Log.Info().Msg("setup token issued")
	return secret, nil
}

// Setup creates the first firm and its owner with the one-time setup token,
// which it consumes in the same transaction. The owner's password is
// required and must meet the password policy. Errors: unauthorized (wrong or
// used token), conflict (a firm exists), invalid.
func (s *Service) Setup(ctx context.Context, secret string, nt NewTenant) (*Tenant, *User, error) {
	hash, ok := hashSecret(secretPrefixSetup, secret)
	if !ok {
		return nil, nil, Errorf(EUNAUTHORIZED, msgBadSetup)
	}
	// Check the token before the costly work (keysets, password hash), so
	// that guesses are cheap to refuse; SetupTenant checks it again,
	// atomically with its use.
	stored, err := s.Store.SetupTokenHash(ctx)
	if IsCode(err, ENOTFOUND) {
		return nil, nil, Errorf(EUNAUTHORIZED, msgBadSetup)
	} else if err != nil {
		return nil, nil, err
	}
	if subtle.ConstantTimeCompare(stored, hash) != 1 {
		return nil, nil, Errorf(EUNAUTHORIZED, msgBadSetup)
	}
	if needs, err := s.NeedsSetup(ctx); err != nil {
		return nil, nil, err
	} else if !needs {
		return nil, nil, Errorf(ECONFLICT, "A firm already exists; setup is closed.")
	}
	if nt.Owner.Password == "" {
		return nil, nil, Errorf(EINVALID, "Owner password is required.")
	}
	t, owner, _, ks, err := s.newTenant(ctx, nt)
	if err != nil {
		return nil, nil, err
	}
	ctx = WithNewTenantKeysets(ctx, t.ID, t.Region, ks)
	ev := event(owner, ActSetup, "tenant", t.ID)
	ev.Details["region"] = t.Region
	if err := s.act(ctx, func() error { return s.Store.SetupTenant(ctx, t, ks, owner, hash) }, ev); err != nil {
		return nil, nil, err
	}
	s.Log.Info().Str("tenant_id", t.ID).Str("region", t.Region).Msg("first tenant created by setup")
	return t, owner, nil
}

// tokenContextKey is the context key of the request's token.
type tokenContextKey struct{}

// ContextWithToken returns a copy of ctx carrying tok, the token the current
// request was authenticated with. The HTTP layer sets it after Authenticate,
// so that ChangePassword can keep the caller's own session while it signs
// out the others.
func ContextWithToken(ctx context.Context, tok *Token) context.Context {
	return context.WithValue(ctx, tokenContextKey{}, tok)
}

// TokenFromContext returns the token ContextWithToken put in ctx, or nil.
func TokenFromContext(ctx context.Context) *Token {
	tok, _ := ctx.Value(tokenContextKey{}).(*Token)
	return tok
}

// issueToken creates and stores a new token of kind for u, signed in by
// method ("" for an API token).
func (s *Service) issueToken(ctx context.Context, u *User, kind, method, name string, expiresAt *time.Time) (string, *Token, error) {
	prefix := secretPrefixSession
	if kind == TokenAPI {
		prefix = secretPrefixAPI
	}
	secret, hash := newSecret(prefix)
	tok := &Token{
		ID: NewID(PrefixToken), TenantID: u.TenantID, UserID: u.ID, Kind: kind, Method: method, Name: name,
		CreatedAt: s.now(), ExpiresAt: expiresAt,
	}
	action := ActLogin
	if kind == TokenAPI {
		action = ActTokenCreate
	}
	ev := event(u, action, "token", tok.ID)
	ev.Details["kind"] = kind
	if method != "" {
		ev.Details["method"] = method
	}
	if expiresAt != nil {
		ev.Details["expires_at"] = expiresAt.UTC().Format(time.RFC3339)
	}
	if name != "" {
		ev.Private["name"] = name
	}
	if err := s.act(ctx, func() error { return s.Store.CreateToken(ctx, tok, hash) }, ev); err != nil {
		return "", nil, err
	}
	return secret, tok, nil
}

// newSecret returns a new random secret with prefix and its SHA-256 hash.
func newSecret(prefix string) (secret string, hash []byte) {
	b := make([]byte, secretBytes)
	rand.Read(b) // never fails; it crashes the program instead
	secret = prefix + secretEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(secret))
	return secret, sum[:]
}

// hashSecret returns the SHA-256 hash of secret if it is well formed and
// carries prefix. A 256-bit random secret needs no slow hash: the hash only
// keeps a copy of the database from being a list of valid secrets.
func hashSecret(prefix, secret string) ([]byte, bool) {
	rest, ok := strings.CutPrefix(secret, prefix)
	if !ok || len(rest) != secretEncoding.EncodedLen(secretBytes) {
		return nil, false
	}
	if _, err := secretEncoding.DecodeString(rest); err != nil {
		return nil, false
	}
	sum := sha256.Sum256([]byte(secret))
	return sum[:], true
}

// parseTokenSecret returns the kind and hash of a session or API secret.
func parseTokenSecret(secret string) (kind string, hash []byte, ok bool) {
	if hash, ok := hashSecret(secretPrefixSession, secret); ok {
		return TokenSession, hash, true
	}
	if hash, ok := hashSecret(secretPrefixAPI, secret); ok {
		return TokenAPI, hash, true
	}
	return "", nil, false
}

// NormalizeSource is the form of a client address that the sign-in
// throttle groups by and the service log hashes: a port and an IPv6 zone are dropped, an
// IPv4-mapped address becomes IPv4, and an IPv6 address stands for its /64
// ("2001:db8:1:2::/64"), the block one client typically controls. A /64
// prefix is kept as it is; anything else that is not an address is kept
// trimmed, cut at 64 bytes.
func NormalizeSource(source string) string {
	source = strings.TrimSpace(source)
	if p, err := netip.ParsePrefix(source); err == nil && p.Addr().Is6() && p.Bits() == 64 {
		return p.Masked().String()
	}
	addr, err := netip.ParseAddr(source)
	if err != nil {
		ap, err := netip.ParseAddrPort(source)
		if err != nil {
			if len(source) > 64 {
				source = source[:64]
			}
			return source
		}
		addr = ap.Addr()
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// authState is the Service's in-memory sign-in state. Its zero value is
// ready to use.
type authState struct {
	dummyMu     sync.Mutex
	dummyParams PasswordParams
	dummy       string // hash of a random password, made with dummyParams

	// usersMu serialises changes to users' roles, status and passwords, so
	// that the last-owner check and the write after it cannot interleave
	// with another change in this process.
	usersMu sync.Mutex
}

// dummyHash returns a password hash made with the current PasswordParams,
// for checking a password when there is no user, so that an unknown email
// costs as much as a known one.
func (s *Service) dummyHash() string {
	a := &s.auth
	a.dummyMu.Lock()
	defer a.dummyMu.Unlock()
	if a.dummy == "" || a.dummyParams != s.PasswordParams {
		h, err := HashPassword(GeneratePassword(), s.PasswordParams)
		if err != nil {
			// CheckPassword fails on "" as it would on a mismatch.
			return ""
		}
		a.dummy, a.dummyParams = h, s.PasswordParams
	}
	return a.dummy
}
