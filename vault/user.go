package vault

import (
	"context"
	"strconv"
	"strings"
)

// UserUpdate is a change to a user made by a firm's owner or admin. Nil
// fields stay as they are.
type UserUpdate struct {
	Name     *string
	Role     *Role
	Disabled *bool
}

// canManageUsers reports whether the role may add users, list them and
// change their role or status.
func canManageUsers(r Role) bool { return r == RoleOwner || r == RoleAdmin }

// CreateUser adds a user to the actor's firm. Owners and admins may; only an
// owner may add another owner. It returns the user's password when it was
// generated (nu.Password == ""), to be shown once, and "" otherwise; with
// nu.OneTime that password must be changed at the first sign-in. A
// walled actor's new account is walled off every matter the actor is, in
// the same transaction (Wall.Via names whose wall it extends): whoever
// creates an account knows its password, and an account of theirs must not
// reach what they cannot. The email is unique within the firm only:
// whether another firm has an account with it changes nothing in the
// answer or the work. Errors: unauthorized, forbidden, invalid, conflict
// (email taken in this firm).
func (s *Service) CreateUser(ctx context.Context, actor *User, nu NewUser) (*User, string, error) {
	if err := checkActor(actor); err != nil {
		return nil, "", err
	}
	if !canManageUsers(actor.Role) {
		return nil, "", Errorf(EFORBIDDEN, "Your role cannot manage users.")
	}
	if nu.Role == RoleOwner && actor.Role != RoleOwner {
		return nil, "", Errorf(EFORBIDDEN, "Only an owner can add or promote owners.")
	}
	region, err := s.tenantRegion(ctx, actor.TenantID)
	if err != nil {
		return nil, "", err
	}
	u, password, err := s.newUser(ctx, actor.TenantID, region, nu, actor.ID)
	if err != nil {
		return nil, "", err
	}
	u.MustChangePassword = nu.OneTime && nu.Password == ""

	// Serialised with AddWall, so the new account cannot miss a wall
	// added to its creator at the same moment.
	s.auth.usersMu.Lock()
	defer s.auth.usersMu.Unlock()

	walls, err := s.inheritedWalls(ctx, actor, u)
	if err != nil {
		return nil, "", err
	}
	ev := event(actor, ActUserCreate, "user", u.ID)
	ev.Private["email"], ev.Details["role"] = u.Email, string(u.Role)
	if len(walls) > 0 {
		ev.Details["walls_inherited"] = strconv.Itoa(len(walls))
	}
	events := []AuditEvent{ev}
	for _, w := range walls {
		wev := event(actor, ActWallAdd, "matter", w.MatterID)
		wev.Details["matter_id"], wev.Details["user_id"] = w.MatterID, w.UserID
		wev.Details["via"], wev.Details["reason"] = w.Via, "inherited"
		events = append(events, wev)
	}
	if err := s.act(ctx, func() error { return s.Store.CreateUser(ctx, u, walls...) }, events...); err != nil {
		return nil, "", err
	}
	s.Log.Info().Str("tenant_id", u.TenantID).Str("user_id", u.ID).Str("role", string(u.Role)).
		Str("actor_id", actor.ID).Msg("user created")
	if nu.Password != "" {
		password = ""
	}
	return u, password, nil
}

// Users returns the users of the actor's firm, oldest first. Owners and
// admins may. A user whose sealed email or name does not open is listed
// with what does, marked (Damage), and reported once. Errors:
// unauthorized, forbidden.
func (s *Service) Users(ctx context.Context, actor *User) ([]*User, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if !canManageUsers(actor.Role) {
		return nil, Errorf(EFORBIDDEN, "Your role cannot manage users.")
	}
	users, err := s.Store.Users(ctx, actor.TenantID)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		s.reportDamage(ctx, actor, "user", u.ID, "", &u.Damage)
	}
	return users, nil
}

// User returns a user of the actor's firm. Owners and admins may look up
// anyone; every user may look up themselves. A user of another firm is
// not_found. Errors: unauthorized, forbidden, not_found.
func (s *Service) User(ctx context.Context, actor *User, id string) (*User, error) {
	check := checkActor
	if actor != nil && id == actor.ID {
		check = checkEnroller // one's own account, even before enrolling a second factor
	}
	if err := check(actor); err != nil {
		return nil, err
	}
	if id != actor.ID && !canManageUsers(actor.Role) {
		return nil, Errorf(EFORBIDDEN, "Your role cannot manage users.")
	}
	if !ValidID(PrefixUser, id) {
		return nil, Errorf(ENOTFOUND, "User not found.")
	}
	u, err := s.Store.User(ctx, actor.TenantID, id)
	if err == nil && id == actor.ID {
		u.MFAEnrolmentRequired = actor.MFAEnrolmentRequired
	}
	return u, err
}

// UpdateUser changes a user's name, role or status. Owners and admins may;
// only an owner may change an owner or make someone an owner. Nobody may
// disable themselves, and a firm always keeps an enabled owner. Disabling a
// user revokes all their tokens. A user of another firm is not_found.
// Errors: unauthorized, forbidden, not_found, invalid, conflict.
func (s *Service) UpdateUser(ctx context.Context, actor *User, id string, up UserUpdate) (*User, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if !canManageUsers(actor.Role) {
		return nil, Errorf(EFORBIDDEN, "Your role cannot manage users.")
	}
	if !ValidID(PrefixUser, id) {
		return nil, Errorf(ENOTFOUND, "User not found.")
	}
	var name string
	if up.Name != nil {
		var err error
		if name, err = cleanName("Name", *up.Name, true); err != nil {
			return nil, err
		}
	}
	if up.Role != nil && !up.Role.Valid() {
		return nil, Errorf(EINVALID, "Role %q is not one of owner, admin, lawyer, auditor.", *up.Role)
	}

	s.auth.usersMu.Lock()
	defer s.auth.usersMu.Unlock()

	u, err := s.Store.User(ctx, actor.TenantID, id)
	if err != nil {
		return nil, err
	}
	if err := checkUserUpdate(actor, u, up); err != nil {
		return nil, err
	}
	next := *u
	if up.Name != nil {
		next.Name = name
		next.repaired("name") // a new name replaces an unreadable one
	}
	if up.Role != nil {
		next.Role = *up.Role
	}
	if up.Disabled != nil {
		next.Disabled = *up.Disabled
	}
	if next.Name == u.Name && next.Role == u.Role && next.Disabled == u.Disabled && next.Damage == u.Damage {
		return u, nil
	}
	if raises(u, &next) {
		// A walled actor must not hand power to an account that reaches
		// what they cannot; and who raised an account is on record for
		// the wall rules (RemoveWall).
		if err := s.handOver(ctx, actor, u, actionOf(u, &next), "promote or enable this user"); err != nil {
			return nil, err
		}
		next.PromotedBy, next.PromotedAt = actor.ID, s.now()
	}
	if isEnabledOwner(u) && !isEnabledOwner(&next) {
		if err := s.requireAnotherOwner(ctx, u); err != nil {
			return nil, err
		}
	}
	ev := event(actor, actionOf(u, &next), "user", u.ID)
	ev.Private["email"] = u.Email
	if next.Role != u.Role {
		ev.Details["old_role"], ev.Details["role"] = string(u.Role), string(next.Role)
	}
	if next.Disabled != u.Disabled {
		ev.Details["disabled"] = strconv.FormatBool(next.Disabled)
	}
	if next.Name != u.Name {
		ev.Details["name_changed"] = "true"
	}
	if err := s.act(ctx, func() error { return s.Store.UpdateUser(ctx, &next) }, ev); err != nil {
		return nil, err
	}
	if u.Damaged() && !next.Damaged() {
		s.forgetDamage(next.TenantID, "user", next.ID)
	}
	if next.Disabled && !u.Disabled {
		// Authenticate refuses a disabled user's tokens anyway; revoking
		// them keeps re-enabling the account from reviving old sessions.
		if _, err := s.Store.RevokeUserTokens(ctx, next.TenantID, next.ID, "", ""); err != nil {
			return nil, err
		}
	}
	s.Log.Info().Str("tenant_id", next.TenantID).Str("user_id", next.ID).Str("role", string(next.Role)).
		Bool("disabled", next.Disabled).Str("actor_id", actor.ID).Msg("user updated")
	return &next, nil
}

// checkUserUpdate applies the rules on who may change whom.
func checkUserUpdate(actor, target *User, up UserUpdate) error {
	switch {
	case target.Role == RoleOwner && actor.Role != RoleOwner:
		return Errorf(EFORBIDDEN, "Only an owner can change an owner.")
	case up.Role != nil && *up.Role == RoleOwner && target.Role != RoleOwner && actor.Role != RoleOwner:
		return Errorf(EFORBIDDEN, "Only an owner can add or promote owners.")
	case up.Disabled != nil && *up.Disabled && target.ID == actor.ID:
		return Errorf(ECONFLICT, "You cannot disable your own account.")
	}
	return nil
}

// actionOf is the audit action of a change from u to next.
func actionOf(u, next *User) string {
	switch {
	case next.Disabled && !u.Disabled:
		return ActUserDisable
	case !next.Disabled && u.Disabled:
		return ActUserEnable
	case next.Role != u.Role:
		return ActUserRoleChange
	}
	return ActUserUpdate
}

// raises reports whether the change from u to next gives the account power
// it did not have: enabling it, or a role that manages more (lawyer or
// auditor to admin or owner, admin to owner).
func raises(u, next *User) bool {
	rank := func(r Role) int {
		switch r {
		case RoleOwner:
			return 2
		case RoleAdmin:
			return 1
		}
		return 0
	}
	return (u.Disabled && !next.Disabled) || rank(next.Role) > rank(u.Role)
}

// isEnabledOwner reports whether u can act as the firm's owner.
func isEnabledOwner(u *User) bool { return u.Role == RoleOwner && !u.Disabled }

// requireAnotherOwner fails with conflict unless u's firm has an enabled
// owner besides u. Called with usersMu held.
func (s *Service) requireAnotherOwner(ctx context.Context, u *User) error {
	users, err := s.Store.Users(ctx, u.TenantID)
	if err != nil {
		return err
	}
	for _, o := range users {
		if o.ID != u.ID && isEnabledOwner(o) {
			return nil
		}
	}
	return Errorf(ECONFLICT, "A firm needs at least one enabled owner.")
}

// ChangePassword replaces the actor's password after checking the current
// one, and signs out the actor's other sessions: every session except the
// one in ctx (see ContextWithToken), or every session when ctx carries none.
// API tokens stay valid. It is how a user whose password was reset replaces
// the one-time password, and clears MustChangePassword. The current-password
// check is throttled like sign-in, by the same counts: per account and the
// request's source address (RequestMetaFrom). Errors: unauthorized,
// forbidden (wrong current password), invalid (policy), rate_limited.
func (s *Service) ChangePassword(ctx context.Context, actor *User, oldPassword, newPassword string) error {
	if err := checkSignedIn(actor); err != nil {
		return err
	}
	account := strings.ToLower(actor.Email)
	source := NormalizeSource(RequestMetaFrom(ctx).Source)
	now := s.now()
	att, err := s.throttle().Check(ctx, account, source, now)
	if err != nil {
		return err
	}
	if !att.Allowed {
		if att.Notice {
			ev := event(actor, ActUserPassword, "user", actor.ID)
			ev.Outcome, ev.Details["reason"] = OutcomeDenied, "rate_limited"
			if _, err := s.record(ctx, ev); err != nil {
				return err
			}
		}
		return att.refusal("Too many failed attempts.", now)
	}

	s.auth.usersMu.Lock()
	defer s.auth.usersMu.Unlock()

	u, err := s.Store.User(ctx, actor.TenantID, actor.ID)
	if IsCode(err, ENOTFOUND) {
		return Errorf(EUNAUTHORIZED, msgSignInAgain)
	} else if err != nil {
		return err
	}
	if !CheckPassword(u.PasswordHash, oldPassword) {
		if err := s.throttle().Failed(ctx, att); err != nil {
			return err
		}
		ev := event(u, ActUserPassword, "user", u.ID)
		ev.Outcome, ev.Details["reason"] = OutcomeDenied, "bad_current_password"
		if _, err := s.record(ctx, ev); err != nil {
			return err
		}
		return Errorf(EFORBIDDEN, "Current password is incorrect.")
	}
	if err := s.throttle().Succeeded(ctx, att); err != nil {
		return err
	}
	if err := checkPassword(newPassword); err != nil {
		return err
	}
	if newPassword == oldPassword {
		return Errorf(EINVALID, "New password must differ from the current one.")
	}
	hash, err := HashPassword(newPassword, s.PasswordParams)
	if err != nil {
		return WrapError(EINTERNAL, err, "Cannot hash password.")
	}
	u.PasswordHash, u.MustChangePassword = hash, false
	ev := event(u, ActUserPassword, "user", u.ID)
	if err := s.act(ctx, func() error { return s.Store.UpdateUser(ctx, u) }, ev); err != nil {
		return err
	}
	keep := ""
	if tok := TokenFromContext(ctx); tok != nil && tok.TenantID == u.TenantID && tok.UserID == u.ID {
		keep = tok.ID
	}
	n, err := s.Store.RevokeUserTokens(ctx, u.TenantID, u.ID, TokenSession, keep)
	if err != nil {
		return err
	}
	s.Log.Info().Str("tenant_id", u.TenantID).Str("user_id", u.ID).Int("sessions_revoked", n).Msg("password changed")
	return nil
}
