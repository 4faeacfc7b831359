package vault

import (
	"context"
)

// ESUSPENDED is the error code of a request by a contained user: a
// detection rule suspended their sessions and tokens until an owner or
// admin releases them (ReleaseUser).
const ESUSPENDED = "suspended"

// msgSuspended is what a contained user is told, whatever they tried.
const msgSuspended = "Your account is suspended by breach detection until an administrator of your firm releases it."

// containUser suspends the sessions and tokens of a's user, recorded as
// user.contain, and tells the Notifier. Failures are logged: the alert
// stands either way.
func (s *Service) containUser(ctx context.Context, ds DetectionStore, a *Alert) {
	ev := operatorEvent(a.TenantID, ActUserContain, "user", a.UserID)
	ev.ActorID = ""
	ev.Details["alert_id"], ev.Details["rule"] = a.ID, a.Rule
	c := Containment{TenantID: a.TenantID, UserID: a.UserID, AlertID: a.ID, ContainedAt: s.now()}
	seq, err := s.record(ctx, ev)
	if err != nil {
		return // logged by record
	}
	if err := ds.Contain(ctx, c); err != nil {
		s.recordFailure(ctx, ev, seq, err)
		s.Log.Error().Err(err).Str("tenant_id", a.TenantID).Str("alert_id", a.ID).Msg("user not contained")
		return
	}
	a.Contained = true
	if err := ds.UpdateAlert(ctx, a); err != nil {
		s.Log.Error().Err(err).Str("tenant_id", a.TenantID).Str("alert_id", a.ID).Msg("containment not noted on the alert")
	}
	s.Log.Warn().Str("tenant_id", a.TenantID).Str("user_id", a.UserID).Str("alert_id", a.ID).Msg("user contained")
	s.notify(ctx, Notice{TenantID: a.TenantID, Kind: NoticeContainment, ObjectID: a.ID, Seq: seq, Rule: a.Rule,
		Severity: "critical", Path: "/settings/security/alerts/" + a.ID})
}

// checkContained refuses a contained user: suspended. A store without
// detection contains nobody. Errors: suspended, unavailable.
func (s *Service) checkContained(ctx context.Context, u *User) error {
	ds, ok := s.Store.(DetectionStore)
	if !ok {
		return nil
	}
	_, err := ds.Containment(ctx, u.TenantID, u.ID)
	switch {
	case IsCode(err, ENOTFOUND):
		return nil
	case err != nil:
		return err
	}
	return Errorf(ESUSPENDED, msgSuspended)
}

// Containment returns the containment of user id of the actor's firm.
// Errors: unauthorized, forbidden, not_found (not contained, or no such
// user), unavailable.
func (s *Service) Containment(ctx context.Context, actor *User, id string) (*Containment, error) {
	if err := alertReader(actor); err != nil {
		return nil, err
	}
	ds, err := s.detectionStore()
	if err != nil {
		return nil, err
	}
	return ds.Containment(ctx, actor.TenantID, id)
}

// ReleaseUser ends the containment of user id: their sessions and tokens
// work again. Only an owner or admin may, and never for themselves (a
// contained user's requests are refused anyway); when a firm's only owner
// and admins are all contained, the operator releases them
// (ReleaseUserAsOperator). Errors: unauthorized, forbidden, not_found (not
// contained, or no such user), unavailable.
func (s *Service) ReleaseUser(ctx context.Context, actor *User, id string) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if !canAdminister(actor.Role) {
		return Errorf(EFORBIDDEN, "Only owners and admins release a contained user.")
	}
	if id == actor.ID {
		return Errorf(EFORBIDDEN, "A contained user cannot release themselves.")
	}
	ev := event(actor, ActUserRelease, "user", id)
	return s.release(ctx, actor.TenantID, id, ev)
}

// ReleaseUserAsOperator is ReleaseUser from the command line (casevault
// user release), for a firm whose every owner and admin is contained.
// Errors: not_found, unavailable.
func (s *Service) ReleaseUserAsOperator(ctx context.Context, tenantID, id string) error {
	return s.release(ctx, tenantID, id, operatorEvent(tenantID, ActUserRelease, "user", id))
}

// release records ev and ends the containment of tenantID's user id.
func (s *Service) release(ctx context.Context, tenantID, id string, ev AuditEvent) error {
	ds, err := s.detectionStore()
	if err != nil {
		return err
	}
	if !ValidID(PrefixUser, id) {
		return Errorf(ENOTFOUND, "User not found.")
	}
	c, err := ds.Containment(ctx, tenantID, id)
	if err != nil {
		return err
	}
	ev.Details["alert_id"] = c.AlertID
	if err := s.act(ctx, func() error { return ds.Release(ctx, tenantID, id) }, ev); err != nil {
		return err
	}
	s.Log.Info().Str("tenant_id", tenantID).Str("user_id", id).Msg("user released")
	return nil
}
