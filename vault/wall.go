package vault

import (
	"context"
	"time"
)

// Wall bars one user from one matter: the matter and its documents vanish
// from the user's listings and every access is denied, whatever grants or
// ownership the user has.
type Wall struct {
	TenantID  string    `json:"-"`
	MatterID  string    `json:"matter_id"`
	UserID    string    `json:"user_id"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// Via, for a wall the vault added by itself, is the walled user whose
	// wall this one extends: they created the account while walled (see
	// CreateUser). "" for walls an owner or admin added.
	Via string `json:"via,omitempty"`
}

// WallFilter selects walls of one firm; set fields are ANDed.
type WallFilter struct {
	MatterID string
	UserID   string
}

// wallAdmin checks that actor may manage the walls of matterID (an owner or
// admin not walled off it), or with read only also an auditor may list
// them, and that the matter is of the actor's firm.
func (s *Service) wallAdmin(ctx context.Context, actor *User, matterID string, read bool) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if _, err := s.loadGrantObject(ctx, actor, "", matterID); err != nil {
		return err
	}
	switch {
	case read && !canAdminister(actor.Role) && actor.Role != RoleAuditor:
		return Errorf(EFORBIDDEN, "Only owners, admins and auditors can see ethical walls.")
	case !read && !canAdminister(actor.Role):
		return Errorf(EFORBIDDEN, "Only owners and admins can manage ethical walls.")
	}
	walled, err := s.walled(ctx, actor.TenantID, matterID, actor.ID)
	if err != nil {
		return err
	}
	if walled {
		return Errorf(EFORBIDDEN, "You do not have access to this matter.")
	}
	return nil
}

// AddWall bars a user of the firm from a matter. Nobody walls themselves. Walling someone already
// walled returns the existing wall with created false. The user's grants
// stay on record but give nothing while the wall stands.
// Errors: unauthorized, forbidden, not_found (matter or user; also of
// another firm).
func (s *Service) AddWall(ctx context.Context, actor *User, matterID, userID string) (w *Wall, created bool, err error) {
	if err := s.wallAdmin(ctx, actor, matterID, false); err != nil {
		return nil, false, err
	}
	switch {
	case userID == "":
		return nil, false, Errorf(EINVALID, "user_id required.")
	case userID == actor.ID:
		// Nobody could lift it: a walled owner or admin manages nothing on
		// the matter, and a firm must never lock out its last unwalled one.
		return nil, false, Errorf(EINVALID, "You cannot wall yourself off a matter; ask another owner or admin.")
	case !ValidID(PrefixUser, userID):
		return nil, false, Errorf(ENOTFOUND, "User not found.")
	}
	if _, err := s.Store.User(ctx, actor.TenantID, userID); err != nil {
		return nil, false, err
	}
	// Serialised with CreateUser, whose new account inherits its creator's
	// walls.
	s.auth.usersMu.Lock()
	defer s.auth.usersMu.Unlock()
	existing := func() (*Wall, error) {
		ws, err := s.Store.Walls(ctx, actor.TenantID, WallFilter{MatterID: matterID, UserID: userID})
		if err != nil || len(ws) == 0 {
			return nil, err
		}
		return ws[0], nil
	}
	if w, err := existing(); w != nil || err != nil {
		return w, false, err
	}
	w = &Wall{TenantID: actor.TenantID, MatterID: matterID, UserID: userID, CreatedBy: actor.ID, CreatedAt: s.now()}
	ev := event(actor, ActWallAdd, "matter", matterID)
	ev.Details["matter_id"], ev.Details["user_id"] = matterID, userID
	if err := s.act(ctx, func() error { return s.Store.CreateWall(ctx, w) }, ev); err != nil {
		if IsCode(err, ECONFLICT) {
			if w, err2 := existing(); w != nil || err2 != nil {
				return w, false, err2
			}
		}
		return nil, false, err
	}
	return w, true, nil
}

// RemoveWall lifts a wall. Only an owner or admin independent of the
// walled user may (see liftRefusal): nobody lifts a wall that stands in
// front of them, neither their own nor through an account they created,
// reset or promoted, nor through one made after the wall. Every refusal on
// a matter of the actor's firm is recorded (wall.remove, outcome denied,
// with its reason) before it is returned. Errors: unauthorized, forbidden,
// not_found (matter, or no such wall).
func (s *Service) RemoveWall(ctx context.Context, actor *User, matterID, userID string) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if _, err := s.loadGrantObject(ctx, actor, "", matterID); err != nil {
		return err
	}
	named := ""
	if ValidID(PrefixUser, userID) {
		named = userID
	}
	if !canAdminister(actor.Role) {
		return s.refuseWallRemoval(ctx, actor, matterID, named, "role", "Only owners and admins can manage ethical walls.")
	}
	walled, err := s.walled(ctx, actor.TenantID, matterID, actor.ID)
	switch {
	case err != nil:
		return err
	case walled && userID == actor.ID:
		return s.refuseWallRemoval(ctx, actor, matterID, named, "walled_user", "You cannot remove a wall that stands in front of you. "+msgLiftWall)
	case walled:
		return s.refuseWallRemoval(ctx, actor, matterID, named, "actor_walled", "You are walled off this matter yourself. "+msgLiftWall)
	case named == "":
		return Errorf(ENOTFOUND, "Wall not found.")
	}

	// Serialised with the changes to users that the decision reads.
	s.auth.usersMu.Lock()
	defer s.auth.usersMu.Unlock()

	ws, err := s.Store.Walls(ctx, actor.TenantID, WallFilter{MatterID: matterID, UserID: userID})
	if err != nil {
		return err
	} else if len(ws) == 0 {
		return Errorf(ENOTFOUND, "Wall not found.")
	}
	reason, message, err := s.liftRefusal(ctx, actor, ws[0])
	if err != nil {
		return err
	} else if reason != "" {
		return s.refuseWallRemoval(ctx, actor, matterID, userID, reason, message)
	}
	ev := event(actor, ActWallRemove, "matter", matterID)
	ev.Details["matter_id"], ev.Details["user_id"] = matterID, userID
	if ws[0].Via != "" {
		ev.Details["via"] = ws[0].Via
	}
	return s.act(ctx, func() error { return s.Store.DeleteWall(ctx, actor.TenantID, matterID, userID) }, ev)
}

// Walls lists the walls of a matter to owners, admins and auditors who are
// not walled off it themselves. Errors: unauthorized, forbidden, not_found.
func (s *Service) Walls(ctx context.Context, actor *User, matterID string) ([]*Wall, error) {
	if err := s.wallAdmin(ctx, actor, matterID, true); err != nil {
		return nil, err
	}
	return s.Store.Walls(ctx, actor.TenantID, WallFilter{MatterID: matterID})
}
