package vault

import (
	"context"
	"crypto/sha256"
	"time"
)

// Second factors (MFAChallenge.Methods, MFAStatus.Factors).
const (
	FactorTOTP     = "totp"     // an authenticator app (RFC 6238)
	FactorRecovery = "recovery" // a single-use recovery code, with TOTP
	FactorPasskey  = "passkey"  // a WebAuthn credential
)

// The firm's MFA policy: who must have a second factor.
const (
	MFAPolicyOff      = "off"      // nobody (the default)
	MFAPolicyAdmins   = "admins"   // owners and admins
	MFAPolicyEveryone = "everyone" // every user
)

// ValidMFAPolicy reports whether p is an MFA policy.
func ValidMFAPolicy(p string) bool {
	return p == MFAPolicyOff || p == MFAPolicyAdmins || p == MFAPolicyEveryone
}

// mfaPolicyApplies reports whether policy requires a second factor of role.
func mfaPolicyApplies(policy string, role Role) bool {
	switch policy {
	case MFAPolicyEveryone:
		return true
	case MFAPolicyAdmins:
		return role == RoleOwner || role == RoleAdmin
	}
	return false
}

// MFAChallengeTTL is how long a sign-in's MFA challenge lives.
const MFAChallengeTTL = 5 * time.Minute

// MFAChallengeMaxFailures is how many wrong proofs kill a challenge.
const MFAChallengeMaxFailures = 5

// PrefixMFAChallenge is the id prefix of MFA challenges.
const PrefixMFAChallenge = "mfc"

// secretPrefixMFA marks an MFA challenge's secret.
const secretPrefixMFA = "cvmfa_"

// msgBadChallenge is the one answer to an unknown, used, expired or dead
// challenge.
const msgBadChallenge = "This sign-in has expired or was already used. Sign in again."

// MFAChallenge is what LoginToFirm returns, inside its mfa_required error
// (see MFAChallengeOf), when the user has a second factor: a short-lived
// (MFAChallengeTTL), single-use secret, stored only hashed, and the ways
// it can be answered ("totp", "recovery", "passkey").
type MFAChallenge struct {
	Secret    string    `json:"challenge"`
	ExpiresAt time.Time `json:"expires_at"`
	Methods   []string  `json:"methods"`
}

// MFAChallengeRecord is an MFA challenge as stored: its secret only as a
// hash.
type MFAChallengeRecord struct {
	ID        string
	TenantID  string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	Failures  int
}

// TOTPFactor is a user's authenticator app as stored. Secret is the base32
// TOTP secret, sealed at rest with the firm's field key.
type TOTPFactor struct {
	Secret      string
	CreatedAt   time.Time
	ConfirmedAt *time.Time // nil until the first code confirms it
	LastStep    int64      // the last time step a code was accepted for
}

// MFAProof is the second step of a sign-in: exactly one of its fields.
type MFAProof struct {
	Code         string // a current TOTP code
	RecoveryCode string // an unused recovery code
	// A passkey assertion (the browser's JSON) for the ceremony
	// BeginPasskeyMFA started.
	PasskeyCeremony string
	Passkey         []byte
}

// proofs counts the proofs given.
func (p MFAProof) proofs() int {
	n := 0
	for _, set := range []bool{p.Code != "", p.RecoveryCode != "", len(p.Passkey) > 0} {
		if set {
			n++
		}
	}
	return n
}

// userFactors lists a user's confirmed second factors (FactorTOTP, and
// FactorPasskey when passkeys are added), in a fixed order.
func (s *Service) userFactors(ctx context.Context, u *User) ([]string, error) {
	var factors []string
	tf, err := s.Store.TOTP(ctx, u.TenantID, u.ID)
	switch {
	case err == nil && tf.ConfirmedAt != nil:
		factors = append(factors, FactorTOTP)
	case err == nil, IsCode(err, ENOTFOUND):
	case IsCode(err, ECANNOTDECRYPT):
		// The factor exists even if its secret does not open: the user
		// must not sign in with less than they enrolled.
		factors = append(factors, FactorTOTP)
	default:
		return nil, err
	}
	if pks, err := s.Store.Passkeys(ctx, u.TenantID, u.ID); err != nil {
		return nil, err
	} else if len(pks) > 0 {
		factors = append(factors, FactorPasskey)
	}
	return factors, nil
}

// challengeMethods is the ways a challenge for factors can be answered.
func challengeMethods(factors []string) []string {
	var m []string
	for _, f := range factors {
		m = append(m, f)
		if f == FactorTOTP {
			m = append(m, FactorRecovery)
		}
	}
	return m
}

// challengeMessage tells the user how to answer a challenge for factors.
func challengeMessage(factors []string) string {
	totp, passkey := false, false
	for _, f := range factors {
		totp = totp || f == FactorTOTP
		passkey = passkey || f == FactorPasskey
	}
	switch {
	case totp && passkey:
		return "Use your passkey, or enter the code from your authenticator app or a recovery code."
	case passkey:
		return "Use your passkey to finish signing in."
	}
	return "Enter the code from your authenticator app, or a recovery code."
}

// newMFAChallenge stores a challenge for u and returns the mfa_required
// error that carries it.
func (s *Service) newMFAChallenge(ctx context.Context, u *User, factors []string) error {
	secret, hash := newSecret(secretPrefixMFA)
	now := s.now()
	rec := &MFAChallengeRecord{ID: NewID(PrefixMFAChallenge), TenantID: u.TenantID, UserID: u.ID,
		CreatedAt: now, ExpiresAt: now.Add(MFAChallengeTTL)}
	if err := s.Store.CreateMFAChallenge(ctx, rec, hash); err != nil {
		return err
	}
	e := Errorf(EMFAREQUIRED, "%s", challengeMessage(factors))
	e.MFA = &MFAChallenge{Secret: secret, ExpiresAt: rec.ExpiresAt, Methods: challengeMethods(factors)}
	return e
}

// liveChallenge returns the live challenge a secret names and its user,
// without consuming it. Errors: unauthorized.
func (s *Service) liveChallenge(ctx context.Context, challenge string) (*MFAChallengeRecord, *User, error) {
	hash, ok := hashSecret(secretPrefixMFA, challenge)
	if !ok {
		return nil, nil, Errorf(EUNAUTHORIZED, msgBadChallenge)
	}
	rec, err := s.Store.MFAChallengeByHash(ctx, hash)
	if IsCode(err, ENOTFOUND) {
		return nil, nil, Errorf(EUNAUTHORIZED, msgBadChallenge)
	} else if err != nil {
		return nil, nil, err
	}
	if !s.now().Before(rec.ExpiresAt) || rec.Failures >= MFAChallengeMaxFailures {
		return nil, nil, Errorf(EUNAUTHORIZED, msgBadChallenge)
	}
	u, err := s.Store.User(ctx, rec.TenantID, rec.UserID)
	if IsCode(err, ENOTFOUND) {
		return nil, nil, Errorf(EUNAUTHORIZED, msgBadChallenge)
	} else if err != nil {
		return nil, nil, err
	}
	if u.Disabled || rec.CreatedAt.Before(u.CredentialsAt) {
		return nil, nil, Errorf(EUNAUTHORIZED, msgBadChallenge)
	}
	return rec, u, nil
}

// ChallengeMethods returns the ways the live challenge can be answered
// (as MFAChallenge.Methods), without consuming it, for the second step's
// page. Errors: unauthorized (unknown, used, expired or dead).
func (s *Service) ChallengeMethods(ctx context.Context, challenge string) ([]string, error) {
	_, u, err := s.liveChallenge(ctx, challenge)
	if err != nil {
		return nil, err
	}
	factors, err := s.userFactors(ctx, u)
	if err != nil {
		return nil, err
	}
	return challengeMethods(factors), nil
}

// challengeUser returns the live challenge's user without consuming it.
// Errors: unauthorized.
func (s *Service) challengeUser(ctx context.Context, challenge string) (*User, error) {
	_, u, err := s.liveChallenge(ctx, challenge)
	return u, err
}

// CompleteMFA answers the challenge LoginToFirm returned with proof. On
// success it consumes the challenge and starts a session signed in with
// SignInMFA. A wrong proof counts against the challenge (it dies after
// MFAChallengeMaxFailures) and against the sign-in throttle of the user's
// account and source, and is audited (mfa.code_failed).
// Errors: invalid (not exactly one proof), unauthorized (wrong proof, or
// an unknown, used, expired or dead challenge), rate_limited, suspended.
func (s *Service) CompleteMFA(ctx context.Context, challenge string, proof MFAProof, source string) (secret string, tok *Token, err error) {
	if proof.proofs() != 1 {
		return "", nil, Errorf(EINVALID, "Give either a code, a recovery code or a passkey.")
	}
	rec, u, err := s.liveChallenge(ctx, challenge)
	if err != nil {
		return "", nil, err
	}
	source = NormalizeSource(source)
	now := s.now()
	account := normalEmail(u.Email)
	att, err := s.throttle().Check(ctx, account, source, now)
	if err != nil {
		return "", nil, err
	}
	if !att.Allowed {
		if att.Notice {
			if err := s.recordLoginFailure(ctx, u, account, source, "rate_limited"); err != nil {
				return "", nil, err
			}
		}
		return "", nil, att.refusal("Too many failed sign-in attempts.", now)
	}
	if err := s.checkContained(ctx, u); err != nil {
		return "", nil, err
	}

	if err := s.checkProof(ctx, u, proof, source); err != nil {
		if !IsCode(err, EUNAUTHORIZED) {
			return "", nil, err
		}
		if terr := s.throttle().Failed(ctx, att); terr != nil {
			return "", nil, terr
		}
		n, ferr := s.Store.FailMFAChallenge(ctx, rec.TenantID, rec.ID)
		if ferr != nil && !IsCode(ferr, ENOTFOUND) {
			return "", nil, ferr
		}
		if n >= MFAChallengeMaxFailures {
			if derr := s.Store.DeleteMFAChallenge(ctx, rec.TenantID, rec.ID); derr != nil && !IsCode(derr, ENOTFOUND) {
				return "", nil, derr
			}
			return "", nil, Errorf(EUNAUTHORIZED, "Too many wrong codes: sign in again.")
		}
		return "", nil, err
	}
	// Exactly one request deletes the challenge: a second use fails here.
	if err := s.Store.DeleteMFAChallenge(ctx, rec.TenantID, rec.ID); IsCode(err, ENOTFOUND) {
		return "", nil, Errorf(EUNAUTHORIZED, msgBadChallenge)
	} else if err != nil {
		return "", nil, err
	}
	if err := s.throttle().Succeeded(ctx, att); err != nil {
		return "", nil, err
	}
	ttl := s.SessionTTL
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	exp := now.Add(ttl)
	secret, tok, err = s.issueToken(ctx, u, TokenSession, SignInMFA, "", &exp)
	if err != nil {
		return "", nil, err
	}
	s.Log.Info().Str("tenant_id", u.TenantID).Str("user_id", u.ID).Str("token_id", tok.ID).Msg("signed in with a second factor")
	return secret, tok, nil
}

// checkProof checks one proof of u's second factor and spends it (a TOTP
// code's time step, a recovery code). A wrong one is audited
// (mfa.code_failed) and is unauthorized.
func (s *Service) checkProof(ctx context.Context, u *User, proof MFAProof, source string) error {
	switch {
	case proof.Code != "":
		return s.checkTOTPCode(ctx, u, proof.Code, source)
	case proof.RecoveryCode != "":
		return s.useRecoveryCode(ctx, u, proof.RecoveryCode, source)
	case len(proof.Passkey) > 0:
		return s.checkPasskeyProof(ctx, u, proof.PasskeyCeremony, proof.Passkey, source)
	}
	return Errorf(EINVALID, "Give either a code or a recovery code.")
}

// recordCodeFailed audits a refused code and returns the refusal the user
// sees, which does not say why.
func (s *Service) recordCodeFailed(ctx context.Context, u *User, factor, reason, source string) error {
	ev := event(u, ActMFACodeFailed, "user", u.ID)
	ev.Outcome, ev.Source = OutcomeDenied, source
	ev.Details["factor"], ev.Details["reason"] = factor, reason
	if _, err := s.record(ctx, ev); err != nil {
		return err
	}
	s.Log.Info().Str("tenant_id", u.TenantID).Str("user_id", u.ID).Str("reason", reason).Msg("second factor refused")
	return Errorf(EUNAUTHORIZED, "The code is incorrect or was already used.")
}

// recoveryCodeHash is the stored form of a recovery code: a SHA-256 hash
// bound to the user. A code carries 80 random bits, so a fast hash is
// enough: no guessing, online or from a copy of the database, gets near
// 2^80.
func recoveryCodeHash(tenantID, userID, code string) []byte {
	sum := sha256.Sum256([]byte("casevault recovery code\x00" + tenantID + "\x00" + userID + "\x00" + normalRecoveryCode(code)))
	return sum[:]
}

// unixTime is the UTC time of a Unix second.
func unixTime(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
