package vault

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"image/png"
	"strings"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters: those every authenticator app reads (RFC 6238's
// defaults, as Google Authenticator uses them).
const (
	totpPeriod = 30
	totpDigits = otp.DigitsSix
	totpSkew   = 1 // steps either side of now a code is accepted for
	totpIssuer = "CaseVault"
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Skew: 0, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1}

// RecoveryCodeCount is how many recovery codes a user holds at a time.
const RecoveryCodeCount = 10

// TOTPEnrolment is a new authenticator secret, shown once: the base32
// secret, the otpauth:// URL an app reads, and that URL as a QR code (PNG).
type TOTPEnrolment struct {
	Secret string `json:"secret"`
	URL    string `json:"otpauth_url"`
	QRPNG  []byte `json:"qr_png"` // base64 in JSON
}

// MFAStatus is what a user's account says about their second factors.
type MFAStatus struct {
	Factors           []string `json:"factors"`
	TOTPPending       bool     `json:"totp_pending"` // begun, not yet confirmed
	RecoveryCodesLeft int      `json:"recovery_codes_left"`
	Policy            string   `json:"policy"`
	Required          bool     `json:"required"` // the policy applies to the user
}

// checkEnroller is checkActor for the routes a user must reach while their
// firm's policy sends them to enrolment.
func checkEnroller(actor *User) error {
	if err := checkSignedIn(actor); err != nil {
		return err
	}
	if actor.MustChangePassword {
		return checkActor(actor)
	}
	return nil
}

// MFAStatus returns the actor's second factors and the firm's policy.
// Errors: unauthorized, forbidden.
func (s *Service) MFAStatus(ctx context.Context, actor *User) (*MFAStatus, error) {
	if err := checkEnroller(actor); err != nil {
		return nil, err
	}
	factors, err := s.userFactors(ctx, actor)
	if err != nil {
		return nil, err
	}
	st := &MFAStatus{Factors: factors}
	if st.Factors == nil {
		st.Factors = []string{}
	}
	if tf, err := s.Store.TOTP(ctx, actor.TenantID, actor.ID); err == nil && tf.ConfirmedAt == nil {
		st.TOTPPending = true
	} else if err != nil && !IsCode(err, ENOTFOUND) && !IsCode(err, ECANNOTDECRYPT) {
		return nil, err
	}
	if st.RecoveryCodesLeft, err = s.Store.RecoveryCodesLeft(ctx, actor.TenantID, actor.ID); err != nil {
		return nil, err
	}
	if st.Policy, err = s.Store.MFAPolicy(ctx, actor.TenantID); err != nil {
		return nil, err
	}
	st.Required = mfaPolicyApplies(st.Policy, actor.Role)
	return st, nil
}

// BeginTOTP starts enrolling an authenticator app: a new secret, stored
// sealed and unconfirmed (replacing an unconfirmed one), returned once
// with its otpauth:// URL and QR code. ConfirmTOTP finishes.
// Errors: unauthorized, forbidden, conflict (an app is already enrolled).
func (s *Service) BeginTOTP(ctx context.Context, actor *User) (*TOTPEnrolment, error) {
	if err := checkEnroller(actor); err != nil {
		return nil, err
	}
	account := actor.Email
	if account == "" {
		account = actor.ID
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: account, Period: totpPeriod,
		SecretSize: 20, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return nil, WrapError(EINTERNAL, err, "Cannot make an authenticator secret.")
	}
	img, err := key.Image(256, 256)
	if err != nil {
		return nil, WrapError(EINTERNAL, err, "Cannot draw the QR code.")
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, WrapError(EINTERNAL, err, "Cannot draw the QR code.")
	}
	if err := s.Store.PutTOTP(ctx, actor.TenantID, actor.ID, key.Secret()); err != nil {
		if IsCode(err, ECONFLICT) {
			return nil, Errorf(ECONFLICT, "An authenticator app is already enrolled; remove it first.")
		}
		return nil, err
	}
	return &TOTPEnrolment{Secret: key.Secret(), URL: key.URL(), QRPNG: buf.Bytes()}, nil
}

// ConfirmTOTP finishes enrolling the authenticator app BeginTOTP began
// with its first code, and returns ten new recovery codes, shown once and
// stored only hashed (replacing any earlier ones). Audited
// (mfa.totp_enrol) before it takes effect; a wrong code is audited too.
// Errors: unauthorized (wrong code), forbidden, not_found (nothing begun),
// conflict (already enrolled).
func (s *Service) ConfirmTOTP(ctx context.Context, actor *User, code string) ([]string, error) {
	if err := checkEnroller(actor); err != nil {
		return nil, err
	}
	tf, err := s.Store.TOTP(ctx, actor.TenantID, actor.ID)
	if IsCode(err, ENOTFOUND) {
		return nil, Errorf(ENOTFOUND, "No authenticator app is being enrolled: begin again.")
	} else if err != nil {
		return nil, err
	}
	if tf.ConfirmedAt != nil {
		return nil, Errorf(ECONFLICT, "An authenticator app is already enrolled.")
	}
	step, ok := matchTOTP(tf.Secret, code, s.now().Unix(), tf.LastStep)
	if !ok {
		return nil, s.recordCodeFailed(ctx, actor, FactorTOTP, "wrong_code", "")
	}
	codes, hashes := newRecoveryCodes(actor)
	ev := event(actor, ActMFATOTPEnrol, "user", actor.ID)
	ev.Details["recovery_codes"] = "10"
	if err := s.act(ctx, func() error { return s.Store.ConfirmTOTP(ctx, actor.TenantID, actor.ID, step, hashes) }, ev); err != nil {
		return nil, err
	}
	s.Log.Info().Str("tenant_id", actor.TenantID).Str("user_id", actor.ID).Msg("authenticator app enrolled")
	return codes, nil
}

// DisableTOTP removes the actor's authenticator app and recovery codes,
// proved by a current code or a recovery code. Audited (mfa.totp_remove).
// Errors: invalid, unauthorized (wrong proof), forbidden, not_found (no
// app enrolled).
func (s *Service) DisableTOTP(ctx context.Context, actor *User, proof MFAProof) error {
	if err := checkEnroller(actor); err != nil {
		return err
	}
	if err := s.requireTOTP(ctx, actor); err != nil {
		return err
	}
	if (proof.Code == "") == (proof.RecoveryCode == "") {
		return Errorf(EINVALID, "Give either a current code or a recovery code.")
	}
	if err := s.throttledProof(ctx, actor, proof); err != nil {
		return err
	}
	ev := event(actor, ActMFATOTPRemove, "user", actor.ID)
	if err := s.act(ctx, func() error { _, err := s.Store.DeleteMFA(ctx, actor.TenantID, actor.ID); return err }, ev); err != nil {
		return err
	}
	s.Log.Info().Str("tenant_id", actor.TenantID).Str("user_id", actor.ID).Msg("authenticator app removed")
	return nil
}

// RegenerateRecoveryCodes replaces the actor's recovery codes with ten new
// ones, shown once, proved by a current code. Audited
// (mfa.recovery_regenerate). Errors: invalid, unauthorized, forbidden,
// not_found (no app enrolled).
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, actor *User, code string) ([]string, error) {
	if err := checkEnroller(actor); err != nil {
		return nil, err
	}
	if err := s.requireTOTP(ctx, actor); err != nil {
		return nil, err
	}
	if code == "" {
		return nil, Errorf(EINVALID, "A current code is required.")
	}
	if err := s.throttledProof(ctx, actor, MFAProof{Code: code}); err != nil {
		return nil, err
	}
	codes, hashes := newRecoveryCodes(actor)
	ev := event(actor, ActMFARecoveryRegenerate, "user", actor.ID)
	if err := s.act(ctx, func() error { return s.Store.ReplaceRecoveryCodes(ctx, actor.TenantID, actor.ID, hashes) }, ev); err != nil {
		return nil, err
	}
	return codes, nil
}

// accountProofSource is the throttle's source for proofs given by a
// signed-in user (removing the app, new recovery codes): only that user
// can fail there, so the pair is theirs alone and locks nobody else out.
const accountProofSource = "signed-in"

// throttledProof is checkProof for a signed-in user, counted by the
// sign-in throttle on the user's account, so a stolen session cannot try
// codes without limit. Errors: unauthorized, rate_limited.
func (s *Service) throttledProof(ctx context.Context, u *User, proof MFAProof) error {
	now := s.now()
	att, err := s.throttle().Check(ctx, normalEmail(u.Email), accountProofSource, now)
	if err != nil {
		return err
	}
	if !att.Allowed {
		return att.refusal("Too many wrong codes.", now)
	}
	if err := s.checkProof(ctx, u, proof, ""); err != nil {
		if IsCode(err, EUNAUTHORIZED) {
			if terr := s.throttle().Failed(ctx, att); terr != nil {
				return terr
			}
		}
		return err
	}
	return s.throttle().Succeeded(ctx, att)
}

// requireTOTP fails unless u has a confirmed authenticator app.
func (s *Service) requireTOTP(ctx context.Context, u *User) error {
	tf, err := s.Store.TOTP(ctx, u.TenantID, u.ID)
	switch {
	case IsCode(err, ENOTFOUND) || (err == nil && tf.ConfirmedAt == nil):
		return Errorf(ENOTFOUND, "No authenticator app is enrolled.")
	case err != nil:
		return err
	}
	return nil
}

// checkTOTPCode checks code against u's confirmed app and spends its time
// step, so the same code (or an earlier one) is never accepted again.
func (s *Service) checkTOTPCode(ctx context.Context, u *User, code, source string) error {
	tf, err := s.Store.TOTP(ctx, u.TenantID, u.ID)
	switch {
	case IsCode(err, ENOTFOUND) || (err == nil && tf.ConfirmedAt == nil):
		return s.recordCodeFailed(ctx, u, FactorTOTP, "no_factor", source)
	case err != nil:
		return err
	}
	now := s.now().Unix()
	step, ok := matchTOTP(tf.Secret, code, now, 0)
	if !ok {
		return s.recordCodeFailed(ctx, u, FactorTOTP, "wrong_code", source)
	}
	if step <= tf.LastStep {
		return s.recordCodeFailed(ctx, u, FactorTOTP, "replayed", source)
	}
	// Conditional on the step being new, so two requests racing with one
	// code cannot both pass.
	if err := s.Store.UseTOTPStep(ctx, u.TenantID, u.ID, step); IsCode(err, ECONFLICT) {
		return s.recordCodeFailed(ctx, u, FactorTOTP, "replayed", source)
	} else if err != nil {
		return err
	}
	return nil
}

// useRecoveryCode spends one of u's unused recovery codes, audited
// (mfa.recovery_used) before it is spent.
func (s *Service) useRecoveryCode(ctx context.Context, u *User, code, source string) error {
	hash := recoveryCodeHash(u.TenantID, u.ID, code)
	ok, err := s.Store.HasRecoveryCode(ctx, u.TenantID, u.ID, hash)
	if err != nil {
		return err
	}
	if !ok {
		return s.recordCodeFailed(ctx, u, FactorRecovery, "wrong_code", source)
	}
	ev := event(u, ActMFARecoveryUsed, "user", u.ID)
	ev.Source = source
	err = s.act(ctx, func() error { return s.Store.UseRecoveryCode(ctx, u.TenantID, u.ID, hash) }, ev)
	if IsCode(err, ENOTFOUND) { // spent by a request racing this one
		return Errorf(EUNAUTHORIZED, "The code is incorrect or was already used.")
	}
	return err
}

// matchTOTP returns the time step within totpSkew of now whose code is
// code, and not at or before after (0 for any). Every step is compared,
// in constant time, whatever matches.
func matchTOTP(secret, code string, now, after int64) (int64, bool) {
	code = strings.TrimSpace(strings.ReplaceAll(code, " ", ""))
	if len(code) != totpDigits.Length() {
		return 0, false
	}
	var found int64
	for off := int64(-totpSkew); off <= totpSkew; off++ {
		step := now/totpPeriod + off
		want, err := totp.GenerateCodeCustom(secret, unixTime(step*totpPeriod), totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && step > after && found == 0 {
			found = step
		}
	}
	return found, found != 0
}

// recoveryEncoding spells recovery codes: upper-case base32, no padding.
var recoveryEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newRecoveryCodes returns RecoveryCodeCount new recovery codes for u,
// formatted XXXX-XXXX-XXXX-XXXX (80 random bits), and their hashes.
func newRecoveryCodes(u *User) (codes []string, hashes [][]byte) {
	for range RecoveryCodeCount {
		b := make([]byte, 10)
		rand.Read(b)
		s := recoveryEncoding.EncodeToString(b)
		code := s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
		codes = append(codes, code)
		hashes = append(hashes, recoveryCodeHash(u.TenantID, u.ID, code))
	}
	return codes, hashes
}

// normalRecoveryCode is a recovery code as hashed: upper case, without
// spaces or dashes, so "abcd efgh…" and "ABCD-EFGH-…" are the same code.
func normalRecoveryCode(code string) string {
	return strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
}
