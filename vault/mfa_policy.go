package vault

import (
	"context"
	"strconv"
	"time"
)

// MaxAPITokenLifeUnderMFA is the longest an API token may live when the
// firm's MFA policy is not off: such a firm's tokens must expire.
const MaxAPITokenLifeUnderMFA = 90 * 24 * time.Hour

// MFAPolicy returns the firm's MFA policy. Owners and admins may read it.
// Errors: unauthorized, forbidden.
func (s *Service) MFAPolicy(ctx context.Context, actor *User) (string, error) {
	if err := checkActor(actor); err != nil {
		return "", err
	}
	if !canManageUsers(actor.Role) {
		return "", Errorf(EFORBIDDEN, "Your role cannot read the firm's MFA policy.")
	}
	return s.Store.MFAPolicy(ctx, actor.TenantID)
}

// SetMFAPolicy sets who in the firm must have a second factor: nobody
// (off), owners and admins (admins) or everyone. Only owners may. Users it
// newly applies to who have no factor are sent to enrolment at their next
// request. An owner it would apply to must have a factor first (conflict).
// Audited (mfa.policy). Errors: unauthorized, forbidden, invalid, conflict.
func (s *Service) SetMFAPolicy(ctx context.Context, actor *User, policy string) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if actor.Role != RoleOwner {
		return Errorf(EFORBIDDEN, "Only an owner can set the firm's MFA policy.")
	}
	if !ValidMFAPolicy(policy) {
		return Errorf(EINVALID, "MFA policy must be off, admins or everyone.")
	}
	// An owner who would be sent to enrolment by their own policy enrols
	// first: the policy must not lock out the one who sets it.
	if tok := TokenFromContext(ctx); mfaPolicyApplies(policy, actor.Role) && (tok == nil || tok.Method != SignInSSO) {
		factors, err := s.userFactors(ctx, actor)
		if err != nil {
			return err
		}
		if len(factors) == 0 {
			return Errorf(ECONFLICT, "Enrol a second factor yourself before requiring one.")
		}
	}
	old, err := s.Store.MFAPolicy(ctx, actor.TenantID)
	if err != nil {
		return err
	}
	ev := event(actor, ActMFAPolicy, "tenant", actor.TenantID)
	ev.Details["from"], ev.Details["to"] = old, policy
	return s.act(ctx, func() error { return s.Store.SetMFAPolicy(ctx, actor.TenantID, policy, actor.ID) }, ev)
}

// mfaEnrolmentRequired reports whether the firm's policy applies to u,
// signed in with tok, who has no second factor. A single sign-on session
// is the identity provider's to secure.
func (s *Service) mfaEnrolmentRequired(ctx context.Context, u *User, tok *Token) (bool, error) {
	if tok != nil && tok.Method == SignInSSO {
		return false, nil
	}
	policy, err := s.Store.MFAPolicy(ctx, u.TenantID)
	if err != nil || !mfaPolicyApplies(policy, u.Role) {
		return false, err
	}
	factors, err := s.userFactors(ctx, u)
	if err != nil {
		return false, err
	}
	return len(factors) == 0, nil
}

// checkAPITokenExpiry refuses an API token that does not expire, or lives
// longer than MaxAPITokenLifeUnderMFA, when the firm's MFA policy is not
// off. Errors: invalid.
func (s *Service) checkAPITokenExpiry(ctx context.Context, tenantID string, expiresAt *time.Time) error {
	policy, err := s.Store.MFAPolicy(ctx, tenantID)
	if err != nil || policy == MFAPolicyOff {
		return err
	}
	if expiresAt == nil || expiresAt.After(s.now().Add(MaxAPITokenLifeUnderMFA)) {
		return Errorf(EINVALID, "Your firm requires multi-factor sign-in: API tokens must expire within %d days.", int(MaxAPITokenLifeUnderMFA/(24*time.Hour)))
	}
	return nil
}

// ResetMFA removes a user's authenticator app and recovery codes and ends
// their sessions and API tokens, for a user locked out of their second
// factor; they sign in with their password and enrol again. Owners and
// admins may, for another user of their firm; only an owner for an owner.
// Audited (mfa.reset). Errors: unauthorized, forbidden, not_found.
func (s *Service) ResetMFA(ctx context.Context, actor *User, id string) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if !canManageUsers(actor.Role) {
		return Errorf(EFORBIDDEN, "Your role cannot manage users.")
	}
	if !ValidID(PrefixUser, id) {
		return Errorf(ENOTFOUND, "User not found.")
	}
	u, err := s.Store.User(ctx, actor.TenantID, id)
	if err != nil {
		return err
	}
	switch {
	case u.ID == actor.ID:
		return Errorf(EFORBIDDEN, "You cannot reset your own second factor; remove it from your account with a code or a recovery code.")
	case u.Role == RoleOwner && actor.Role != RoleOwner:
		return Errorf(EFORBIDDEN, "Only an owner can reset an owner's second factor.")
	}
	return s.resetMFA(ctx, u, event(actor, ActMFAReset, "user", u.ID))
}

// OperatorResetMFA is ResetMFA from the command line, for when no admin
// can sign in: the user is named by id or by email (exactly one) and may
// be any user of the firm. Errors: invalid, not_found.
func (s *Service) OperatorResetMFA(ctx context.Context, tenantID, userID, email string) (*User, error) {
	if (userID == "") == (email == "") {
		return nil, Errorf(EINVALID, "Name the user by id or by email, not both.")
	}
	if _, err := s.Store.Tenant(ctx, tenantID); err != nil {
		return nil, err
	}
	u, err := s.operatorFindUser(ctx, tenantID, userID, email)
	if err != nil {
		return nil, err
	}
	if err := s.resetMFA(ctx, u, operatorEvent(tenantID, ActMFAReset, "user", u.ID)); err != nil {
		return nil, err
	}
	return u, nil
}

// resetMFA removes u's factors and ends their tokens, audited by ev first.
func (s *Service) resetMFA(ctx context.Context, u *User, ev AuditEvent) error {
	var revoked int
	err := s.act(ctx, func() error {
		if _, err := s.Store.DeleteMFA(ctx, u.TenantID, u.ID); err != nil {
			return err
		}
		if err := s.deleteUserPasskeys(ctx, u); err != nil { // vault/passkey.go
			return err
		}
		n, err := s.Store.RevokeUserTokens(ctx, u.TenantID, u.ID, "", "")
		revoked = n
		return err
	}, ev)
	if err != nil {
		return err
	}
	s.Log.Info().Str("tenant_id", u.TenantID).Str("user_id", u.ID).Str("tokens_revoked", strconv.Itoa(revoked)).Msg("second factors reset")
	return nil
}

// FirmAPITokens returns the firm's live API tokens, every user's, oldest
// first, for owners and admins to oversee. Errors: unauthorized, forbidden.
func (s *Service) FirmAPITokens(ctx context.Context, actor *User) ([]*Token, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if !canManageUsers(actor.Role) {
		return nil, Errorf(EFORBIDDEN, "Your role cannot oversee the firm's API tokens.")
	}
	toks, err := s.Store.FirmAPITokens(ctx, actor.TenantID, s.now())
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

// RevokeFirmAPIToken revokes any live API token of the actor's firm.
// Owners and admins may; another firm's token, a session, or a revoked or
// expired token is not_found. Audited (token.firm_revoke).
// Errors: unauthorized, forbidden, not_found.
func (s *Service) RevokeFirmAPIToken(ctx context.Context, actor *User, id string) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if !canManageUsers(actor.Role) {
		return Errorf(EFORBIDDEN, "Your role cannot revoke the firm's API tokens.")
	}
	if !ValidID(PrefixToken, id) {
		return Errorf(ENOTFOUND, "Token not found.")
	}
	toks, err := s.Store.FirmAPITokens(ctx, actor.TenantID, s.now())
	if err != nil {
		return err
	}
	var tok *Token
	for _, t := range toks {
		if t.ID == id {
			tok = t
		}
	}
	if tok == nil {
		return Errorf(ENOTFOUND, "Token not found.")
	}
	ev := event(actor, ActTokenFirmRevoke, "token", id)
	ev.Details["user_id"] = tok.UserID
	if err := s.act(ctx, func() error { return s.Store.RevokeToken(ctx, actor.TenantID, tok.UserID, id) }, ev); err != nil {
		return err
	}
	s.Log.Info().Str("tenant_id", actor.TenantID).Str("token_id", id).Msg("api token revoked by an admin")
	return nil
}
