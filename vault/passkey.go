package vault

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// PrefixPasskey is the id prefix of passkeys.
const PrefixPasskey = "pk"

// PasskeyCeremonyTTL is how long a registration or sign-in ceremony lives.
const PasskeyCeremonyTTL = 5 * time.Minute

// Default relying party of the embedded configuration: WebAuthn needs a
// secure context, and Chromium counts localhost as one; the relying party
// id must be a domain, so it is "localhost", not 127.0.0.1.
const (
	DefaultWebAuthnRPID   = "localhost"
	DefaultWebAuthnName   = "CaseVault"
	DefaultWebAuthnOrigin = "http://localhost:8080"
)

// WebAuthnConfig is the relying party passkeys are bound to.
type WebAuthnConfig struct {
	RPID        string   // a domain, e.g. vault.example.com; default "localhost"
	DisplayName string   // shown by the authenticator; default "CaseVault"
	Origins     []string // the origins pages are served from; default http://localhost:8080
}

func (c WebAuthnConfig) withDefaults() WebAuthnConfig {
	if c.RPID == "" {
		c.RPID = DefaultWebAuthnRPID
	}
	if c.DisplayName == "" {
		c.DisplayName = DefaultWebAuthnName
	}
	if len(c.Origins) == 0 {
		c.Origins = []string{DefaultWebAuthnOrigin}
	}
	return c
}

func (s *Service) webAuthn() (*webauthn.WebAuthn, error) {
	c := s.WebAuthn.withDefaults()
	w, err := webauthn.New(&webauthn.Config{RPID: c.RPID, RPDisplayName: c.DisplayName, RPOrigins: c.Origins})
	if err != nil {
		return nil, WrapError(EINTERNAL, err, "Passkeys are not configured correctly.")
	}
	return w, nil
}

// Passkey is a user's WebAuthn credential as stored. Credential is the
// library's credential (public key, flags, sign count) as JSON: no
// person's words. Name is the user's label, sealed at rest.
type Passkey struct {
	ID           string     `json:"id"`
	TenantID     string     `json:"-"`
	UserID       string     `json:"user_id"`
	CredentialID []byte     `json:"-"`
	Credential   []byte     `json:"-"`
	SignCount    uint32     `json:"-"`
	Name         string     `json:"name"`
	CreatedAt    time.Time  `json:"created_at"`
	LastUsedAt   *time.Time `json:"last_used_at,omitempty"`
}

// passkeyUser is a user as the WebAuthn library sees them. The user handle
// is the user id's bytes, never the email.
type passkeyUser struct {
	u     *User
	creds []webauthn.Credential
}

func (p passkeyUser) WebAuthnID() []byte                         { return []byte(p.u.ID) }
func (p passkeyUser) WebAuthnName() string                       { return p.u.ID }
func (p passkeyUser) WebAuthnDisplayName() string                { return p.u.Name }
func (p passkeyUser) WebAuthnCredentials() []webauthn.Credential { return p.creds }

func (s *Service) passkeyUser(ctx context.Context, u *User) (passkeyUser, []*Passkey, error) {
	pks, err := s.Store.Passkeys(ctx, u.TenantID, u.ID)
	if err != nil {
		return passkeyUser{}, nil, err
	}
	pu := passkeyUser{u: u}
	for _, pk := range pks {
		var c webauthn.Credential
		if err := json.Unmarshal(pk.Credential, &c); err != nil {
			return passkeyUser{}, nil, WrapError(EINTERNAL, err, "A passkey cannot be read.")
		}
		pu.creds = append(pu.creds, c)
	}
	return pu, pks, nil
}

// ceremony is a WebAuthn ceremony in flight: bound to its purpose and (for
// registration) user, single-use, expiring.
type ceremony struct {
	purpose  string // "register" or "sign_in"
	tenantID string
	userID   string
	session  webauthn.SessionData
	expires  time.Time
}

// maxCeremonies bounds the ceremonies in flight, so the public begin
// routes cannot grow the server's memory without end.
const maxCeremonies = 10000

// ceremonies holds ceremonies in memory; the zero value is ready.
type ceremonies struct {
	mu sync.Mutex
	m  map[string]*ceremony
}

func (c *ceremonies) put(cer *ceremony, now time.Time) (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	id := "pkc_" + base64.RawURLEncoding.EncodeToString(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*ceremony{}
	}
	for k, v := range c.m {
		if !now.Before(v.expires) {
			delete(c.m, k)
		}
	}
	if len(c.m) >= maxCeremonies {
		return "", Errorf(EUNAVAILABLE, "Too many passkey requests in progress; try again in a few minutes.")
	}
	c.m[id] = cer
	return id, nil
}

// take removes and returns a live ceremony of purpose: a second take of
// the same id fails.
func (c *ceremonies) take(id, purpose string, now time.Time) (*ceremony, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cer, ok := c.m[id]
	delete(c.m, id)
	if !ok || cer.purpose != purpose || !now.Before(cer.expires) {
		return nil, Errorf(EUNAUTHORIZED, "This passkey request has expired or was already used. Try again.")
	}
	return cer, nil
}

// PasskeyBegin is the start of a ceremony: the options for the browser's
// navigator.credentials call and the ceremony id to finish it with.
type PasskeyBegin struct {
	Ceremony string `json:"ceremony"`
	Options  any    `json:"options"`
}

// BeginPasskeyRegistration starts registering a passkey for the actor
// (allowed while enrolment is required). Errors: unauthorized.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, actor *User) (*PasskeyBegin, error) {
	if err := checkEnroller(actor); err != nil {
		return nil, err
	}
	w, err := s.webAuthn()
	if err != nil {
		return nil, err
	}
	pu, _, err := s.passkeyUser(ctx, actor)
	if err != nil {
		return nil, err
	}
	opts, sess, err := w.BeginRegistration(pu,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithExclusions(webauthn.Credentials(pu.creds).CredentialDescriptors()))
	if err != nil {
		return nil, WrapError(EINTERNAL, err, "Cannot start registering a passkey.")
	}
	now := s.now()
	id, err := s.ceremonies.put(&ceremony{purpose: "register", tenantID: actor.TenantID, userID: actor.ID,
		session: *sess, expires: now.Add(PasskeyCeremonyTTL)}, now)
	if err != nil {
		return nil, err
	}
	return &PasskeyBegin{Ceremony: id, Options: opts}, nil
}

// FinishPasskeyRegistration checks the browser's attestation for the
// actor's ceremony and stores the passkey named name. Audited
// (passkey.register). Errors: unauthorized, invalid.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, actor *User, ceremonyID, name string, response []byte) (*Passkey, error) {
	if err := checkEnroller(actor); err != nil {
		return nil, err
	}
	if name == "" || len(name) > 100 {
		return nil, Errorf(EINVALID, "Give the passkey a name of at most 100 characters.")
	}
	cer, err := s.ceremonies.take(ceremonyID, "register", s.now())
	if err != nil {
		return nil, err
	}
	if cer.tenantID != actor.TenantID || cer.userID != actor.ID {
		return nil, Errorf(EUNAUTHORIZED, "This passkey request has expired or was already used. Try again.")
	}
	w, err := s.webAuthn()
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, Errorf(EINVALID, "The passkey answer cannot be read.")
	}
	pu, _, err := s.passkeyUser(ctx, actor)
	if err != nil {
		return nil, err
	}
	cred, err := w.CreateCredential(pu, cer.session, parsed)
	if err != nil {
		return nil, Errorf(EINVALID, "The passkey was not accepted.")
	}
	blob, err := json.Marshal(cred)
	if err != nil {
		return nil, WrapError(EINTERNAL, err, "Cannot store the passkey.")
	}
	pk := &Passkey{ID: NewID(PrefixPasskey), TenantID: actor.TenantID, UserID: actor.ID, CredentialID: cred.ID,
		Credential: blob, SignCount: cred.Authenticator.SignCount, Name: name, CreatedAt: s.now()}
	ev := event(actor, ActPasskeyRegister, "passkey", pk.ID)
	if err := s.act(ctx, func() error { return s.Store.CreatePasskey(ctx, pk) }, ev); err != nil {
		return nil, err
	}
	return pk, nil
}

// Passkeys lists the actor's own passkeys. Errors: unauthorized.
func (s *Service) Passkeys(ctx context.Context, actor *User) ([]*Passkey, error) {
	if err := checkEnroller(actor); err != nil {
		return nil, err
	}
	return s.Store.Passkeys(ctx, actor.TenantID, actor.ID)
}

// DeletePasskey removes one of the actor's own passkeys. Audited
// (passkey.remove). Errors: unauthorized, not_found (another user's or
// firm's).
func (s *Service) DeletePasskey(ctx context.Context, actor *User, id string) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	pks, err := s.Store.Passkeys(ctx, actor.TenantID, actor.ID)
	if err != nil {
		return err
	}
	found := false
	for _, pk := range pks {
		found = found || pk.ID == id
	}
	if !found {
		return Errorf(ENOTFOUND, "Passkey not found.")
	}
	ev := event(actor, ActPasskeyRemove, "passkey", id)
	return s.act(ctx, func() error { return s.Store.DeletePasskey(ctx, actor.TenantID, actor.ID, id) }, ev)
}

// PasskeySignIn reports whether the actor's firm lets people sign in with a
// passkey instead of a password. Errors: unauthorized.
func (s *Service) PasskeySignIn(ctx context.Context, actor *User) (bool, error) {
	if err := checkActor(actor); err != nil {
		return false, err
	}
	return s.Store.PasskeySignIn(ctx, actor.TenantID)
}

// SetPasskeySignIn turns passkey sign-in (instead of a password) on or off
// for the firm. Only owners may. Audited (passkey.policy).
// Errors: unauthorized, forbidden.
func (s *Service) SetPasskeySignIn(ctx context.Context, actor *User, on bool) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if actor.Role != RoleOwner {
		return Errorf(EFORBIDDEN, "Only an owner can set whether passkeys replace passwords.")
	}
	ev := event(actor, ActPasskeyPolicy, "tenant", actor.TenantID)
	ev.Details["passkey_sign_in"] = map[bool]string{true: "on", false: "off"}[on]
	return s.act(ctx, func() error { return s.Store.SetPasskeySignIn(ctx, actor.TenantID, on, actor.ID) }, ev)
}

// BeginPasskeySignIn starts a passwordless sign-in with a discoverable
// credential.
func (s *Service) BeginPasskeySignIn(ctx context.Context) (*PasskeyBegin, error) {
	w, err := s.webAuthn()
	if err != nil {
		return nil, err
	}
	opts, sess, err := w.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, WrapError(EINTERNAL, err, "Cannot start a passkey sign-in.")
	}
	now := s.now()
	id, err := s.ceremonies.put(&ceremony{purpose: "sign_in", session: *sess, expires: now.Add(PasskeyCeremonyTTL)}, now)
	if err != nil {
		return nil, err
	}
	return &PasskeyBegin{Ceremony: id, Options: opts}, nil
}

const msgPasskeyRefused = "This passkey cannot sign you in."

// FinishPasskeySignIn checks a discoverable assertion and starts a session
// signed in with SignInPasskey. The credential id names the passkey and
// its firm; the user handle must be that passkey's user. Refused (and
// audited as login_failed with a reason) when the firm does not allow
// passkey sign-in, the user is disabled or contained, the sign count went
// back (a cloned authenticator) or the signature is wrong; sso_required
// when the firm requires single sign-on of the user.
// Errors: unauthorized, suspended, invalid, sso_required.
func (s *Service) FinishPasskeySignIn(ctx context.Context, ceremonyID string, response []byte, source string) (string, *Token, error) {
	cer, err := s.ceremonies.take(ceremonyID, "sign_in", s.now())
	if err != nil {
		return "", nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return "", nil, Errorf(EINVALID, "The passkey answer cannot be read.")
	}
	source = NormalizeSource(source)
	pk, err := s.Store.PasskeyByCredentialID(ctx, parsed.RawID)
	if IsCode(err, ENOTFOUND) {
		ev := event(nil, ActLoginFailed, "passkey", "")
		ev.Outcome, ev.Source, ev.Details["reason"] = OutcomeDenied, source, "unknown_passkey"
		if _, err := s.record(ctx, ev); err != nil {
			return "", nil, err
		}
		return "", nil, Errorf(EUNAUTHORIZED, msgPasskeyRefused)
	} else if err != nil {
		return "", nil, err
	}
	u, err := s.Store.User(ctx, pk.TenantID, pk.UserID)
	if err != nil {
		return "", nil, err
	}
	refuse := func(reason string) (string, *Token, error) {
		if err := s.recordLoginFailure(ctx, u, normalEmail(u.Email), source, reason); err != nil {
			return "", nil, err
		}
		return "", nil, Errorf(EUNAUTHORIZED, msgPasskeyRefused)
	}
	if on, err := s.Store.PasskeySignIn(ctx, u.TenantID); err != nil {
		return "", nil, err
	} else if !on {
		return refuse("passkey_sign_in_off")
	}
	if u.Disabled {
		return refuse("disabled")
	}
	if err := s.checkContained(ctx, u); err != nil {
		if IsCode(err, ESUSPENDED) {
			if rerr := s.recordLoginFailure(ctx, u, normalEmail(u.Email), source, ESUSPENDED); rerr != nil {
				return "", nil, rerr
			}
		}
		return "", nil, err
	}
	// A firm that requires single sign-on requires it of passkeys too
	// (owners excepted, as for passwords).
	if err := s.checkSSORequired(ctx, u); err != nil {
		if IsCode(err, ESSOREQUIRED) {
			if rerr := s.recordLoginFailure(ctx, u, normalEmail(u.Email), source, ESSOREQUIRED); rerr != nil {
				return "", nil, rerr
			}
		}
		return "", nil, err
	}
	cred, reason, err := s.checkAssertion(ctx, u, pk, cer.session, parsed, true)
	if err != nil {
		return "", nil, err
	}
	if reason != "" {
		return refuse(reason)
	}
	_ = cred
	ttl := s.SessionTTL
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	exp := s.now().Add(ttl)
	secret, tok, err := s.issueToken(ctx, u, TokenSession, SignInPasskey, "", &exp)
	if err != nil {
		return "", nil, err
	}
	s.Log.Info().Str("tenant_id", u.TenantID).Str("user_id", u.ID).Str("token_id", tok.ID).Msg("signed in with a passkey")
	return secret, tok, nil
}

// checkAssertion validates an assertion of pk (u's) against session and
// records the new sign count. A refusal is a reason, not an error.
func (s *Service) checkAssertion(ctx context.Context, u *User, pk *Passkey, session webauthn.SessionData, parsed *protocol.ParsedCredentialAssertionData, discoverable bool) (*webauthn.Credential, string, error) {
	w, err := s.webAuthn()
	if err != nil {
		return nil, "", err
	}
	var stored webauthn.Credential
	if err := json.Unmarshal(pk.Credential, &stored); err != nil {
		return nil, "", WrapError(EINTERNAL, err, "A passkey cannot be read.")
	}
	pu := passkeyUser{u: u, creds: []webauthn.Credential{stored}}
	var cred *webauthn.Credential
	if discoverable {
		handler := func(rawID, userHandle []byte) (webauthn.User, error) {
			// The handle resolves only to the credential's own user, in
			// its own firm.
			if !bytes.Equal(rawID, pk.CredentialID) || !bytes.Equal(userHandle, []byte(u.ID)) {
				return nil, Errorf(EUNAUTHORIZED, msgPasskeyRefused)
			}
			return pu, nil
		}
		_, cred, err = w.ValidatePasskeyLogin(handler, session, parsed)
	} else {
		cred, err = w.ValidateLogin(pu, session, parsed)
	}
	if err != nil {
		return nil, "bad_assertion", nil
	}
	if cred.Authenticator.CloneWarning {
		return nil, "sign_count_regressed", nil
	}
	blob, err := json.Marshal(cred)
	if err != nil {
		return nil, "", WrapError(EINTERNAL, err, "Cannot store the passkey.")
	}
	if err := s.Store.UsePasskey(ctx, pk.TenantID, pk.ID, cred.Authenticator.SignCount, blob); err != nil {
		return nil, "", err
	}
	return cred, "", nil
}

// BeginPasskeyMFA starts a passkey assertion answering an MFA challenge:
// only the challenge user's passkeys are allowed. Errors: unauthorized.
func (s *Service) BeginPasskeyMFA(ctx context.Context, challenge string) (*PasskeyBegin, error) {
	u, err := s.challengeUser(ctx, challenge)
	if err != nil {
		return nil, err
	}
	w, err := s.webAuthn()
	if err != nil {
		return nil, err
	}
	pu, _, err := s.passkeyUser(ctx, u)
	if err != nil {
		return nil, err
	}
	if len(pu.creds) == 0 {
		return nil, Errorf(EINVALID, "You have no passkey.")
	}
	opts, sess, err := w.BeginLogin(pu)
	if err != nil {
		return nil, WrapError(EINTERNAL, err, "Cannot start a passkey check.")
	}
	now := s.now()
	id, err := s.ceremonies.put(&ceremony{purpose: "mfa", tenantID: u.TenantID, userID: u.ID, session: *sess,
		expires: now.Add(PasskeyCeremonyTTL)}, now)
	if err != nil {
		return nil, err
	}
	return &PasskeyBegin{Ceremony: id, Options: opts}, nil
}

// checkPasskeyProof checks a passkey assertion as u's second factor.
func (s *Service) checkPasskeyProof(ctx context.Context, u *User, ceremonyID string, response []byte, source string) error {
	cer, err := s.ceremonies.take(ceremonyID, "mfa", s.now())
	if err != nil || cer.tenantID != u.TenantID || cer.userID != u.ID {
		return s.recordCodeFailed(ctx, u, FactorPasskey, "bad_ceremony", source)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return s.recordCodeFailed(ctx, u, FactorPasskey, "unreadable", source)
	}
	pk, err := s.Store.PasskeyByCredentialID(ctx, parsed.RawID)
	if IsCode(err, ENOTFOUND) || (err == nil && (pk.TenantID != u.TenantID || pk.UserID != u.ID)) {
		return s.recordCodeFailed(ctx, u, FactorPasskey, "unknown_passkey", source)
	} else if err != nil {
		return err
	}
	_, reason, err := s.checkAssertion(ctx, u, pk, cer.session, parsed, false)
	if err != nil {
		return err
	}
	if reason != "" {
		return s.recordCodeFailed(ctx, u, FactorPasskey, reason, source)
	}
	return nil
}

// deleteUserPasskeys removes all of u's passkeys: part of an MFA reset
// (resetMFA), which is audited as mfa.reset.
func (s *Service) deleteUserPasskeys(ctx context.Context, u *User) error {
	pks, err := s.Store.Passkeys(ctx, u.TenantID, u.ID)
	if err != nil {
		return err
	}
	for _, pk := range pks {
		if err := s.Store.DeletePasskey(ctx, u.TenantID, u.ID, pk.ID); err != nil && !IsCode(err, ENOTFOUND) {
			return err
		}
	}
	return nil
}
