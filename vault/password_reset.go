package vault

import (
	"context"
	"strings"
)

// ResetPassword gives another user of the actor's firm a new, generated
// one-time password, returned with the updated user to be shown once. It ends every session and
// API token of the user, and the user must change the password at their
// next sign-in (MustChangePassword) before doing anything else. Owners and
// admins may; only an owner may reset an owner's. Nobody resets their own
// password this way (ChangePassword is for that), and a walled actor may not
// reset the password of an account that reaches a matter they are walled
// off (it would hand them that account). The reset is recorded as
// user.password_reset, and the actor becomes the account's CredentialsBy.
// A user of another firm is not_found. Errors: unauthorized, forbidden,
// not_found, unavailable.
func (s *Service) ResetPassword(ctx context.Context, actor *User, id string) (*User, string, error) {
	if err := checkActor(actor); err != nil {
		return nil, "", err
	}
	if !canManageUsers(actor.Role) {
		return nil, "", Errorf(EFORBIDDEN, "Your role cannot manage users.")
	}
	if !ValidID(PrefixUser, id) {
		return nil, "", Errorf(ENOTFOUND, "User not found.")
	}

	s.auth.usersMu.Lock()
	defer s.auth.usersMu.Unlock()

	u, err := s.Store.User(ctx, actor.TenantID, id)
	if err != nil {
		return nil, "", err
	}
	switch {
	case u.ID == actor.ID:
		return nil, "", Errorf(EFORBIDDEN, "You cannot reset your own password; change it with POST /api/v1/me/password.")
	case u.Role == RoleOwner && actor.Role != RoleOwner:
		return nil, "", Errorf(EFORBIDDEN, "Only an owner can reset an owner's password.")
	}
	if err := s.handOver(ctx, actor, u, ActUserReset, "reset this user's password"); err != nil {
		return nil, "", err
	}
	return s.resetPassword(ctx, u, event(actor, ActUserReset, "user", u.ID), actor.ID)
}

// OperatorResetPassword is ResetPassword from the command line, for a firm
// locked out of its last owner: the user is named by id or by email (exactly
// one), and may be any user of the firm, an owner included. It returns the
// user and the one-time password. Errors: invalid, not_found, unavailable.
func (s *Service) OperatorResetPassword(ctx context.Context, tenantID, userID, email string) (*User, string, error) {
	if (userID == "") == (email == "") {
		return nil, "", Errorf(EINVALID, "Name the user by id or by email, not both.")
	}
	if _, err := s.Store.Tenant(ctx, tenantID); err != nil {
		return nil, "", err
	}

	s.auth.usersMu.Lock()
	defer s.auth.usersMu.Unlock()

	u, err := s.operatorFindUser(ctx, tenantID, userID, email)
	if err != nil {
		return nil, "", err
	}
	return s.resetPassword(ctx, u, operatorEvent(tenantID, ActUserReset, "user", u.ID), ActorOperator)
}

// operatorFindUser returns the user of tenantID with that id or, when id is
// "", that email. The email is compared with each of the firm's users
// rather than looked up, so it never matches an account of another firm.
func (s *Service) operatorFindUser(ctx context.Context, tenantID, id, email string) (*User, error) {
	if id != "" {
		if !ValidID(PrefixUser, id) {
			return nil, Errorf(ENOTFOUND, "User not found.")
		}
		return s.Store.User(ctx, tenantID, id)
	}
	users, err := s.Store.Users(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	email = strings.TrimSpace(email)
	for _, u := range users {
		if strings.EqualFold(u.Email, email) {
			return u, nil
		}
	}
	return nil, Errorf(ENOTFOUND, "No user of this firm has that email.")
}

// resetPassword gives u a new generated one-time password issued by by,
// recording ev (user.password_reset) first, and then revokes every token
// of u. It returns the updated user and the password. Called with usersMu
// held.
func (s *Service) resetPassword(ctx context.Context, u *User, ev AuditEvent, by string) (*User, string, error) {
	password := GeneratePassword()
	hash, err := HashPassword(password, s.PasswordParams)
	if err != nil {
		return nil, "", WrapError(EINTERNAL, err, "Cannot hash password.")
	}
	next := *u
	next.PasswordHash, next.MustChangePassword = hash, true
	next.CredentialsBy, next.CredentialsAt = by, s.now()
	ev.Private["email"] = u.Email
	if err := s.act(ctx, func() error { return s.Store.UpdateUser(ctx, &next) }, ev); err != nil {
		return nil, "", err
	}
	// Authenticate refuses every token older than the password, so the
	// reset has ended them whether or not revoking them here succeeds; the
	// revocation keeps the token lists true.
	n, err := s.Store.RevokeUserTokens(ctx, u.TenantID, u.ID, "", "")
	if err != nil {
		s.Log.Warn().Err(err).Str("tenant_id", u.TenantID).Str("user_id", u.ID).Msg("cannot revoke tokens after a password reset")
	}
	s.Log.Info().Str("tenant_id", u.TenantID).Str("user_id", u.ID).Str("actor_id", by).
		Int("tokens_revoked", n).Msg("password reset")
	return &next, password, nil
}
