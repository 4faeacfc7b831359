package vault

import (
	"context"
	"sort"
)

// A wall must not be lifted, or got around, by the person behind it acting
// alone (DESIGN.md invariant 3). The person may hold more than their own
// account: whoever creates an account or resets its password knows that
// password, and can sign in as it. These are the rules that keep such
// accounts from counting (docs/PERMISSIONS.md, "Ethical walls", states
// them for people):
//
//  1. An account a walled user creates is walled off every matter they
//     are (inheritedWalls).
//  2. A walled user may not reset the password of, promote or enable an
//     account that is not walled off every matter they are (handOver).
//  3. Lifting a wall needs an owner or admin who is independent of the
//     walled user (liftRefusal): not walled off the matter, not controlled
//     by them (controlledBy), with an account older than the wall, and not
//     promoted or enabled by them since the wall was made.

// controlledBy returns the ids of the accounts the users seeds may control:
// the seeds, every account one of them created or whose current password
// one of them issued (at creation or by a reset), and so on, since an
// account they control may have created or reset others. Accounts older
// than this record (no CreatedBy) are taken at their word.
func controlledBy(users []*User, seeds ...string) map[string]bool {
	set := map[string]bool{}
	for _, id := range seeds {
		if id != "" {
			set[id] = true
		}
	}
	for grew := true; grew; {
		grew = false
		for _, u := range users {
			if !set[u.ID] && (set[u.CreatedBy] || set[u.CredentialsBy]) {
				set[u.ID], grew = true, true
			}
		}
	}
	return set
}

// inheritedWalls returns the walls a new account u made by actor starts
// with: one for every matter the actor is walled off, each extending the
// wall of the first walled user of its chain (Via). Called with usersMu
// held.
func (s *Service) inheritedWalls(ctx context.Context, actor, u *User) ([]*Wall, error) {
	ws, err := s.Store.Walls(ctx, actor.TenantID, WallFilter{UserID: actor.ID})
	if err != nil {
		return nil, err
	}
	out := make([]*Wall, 0, len(ws))
	for _, w := range ws {
		via := w.Via
		if via == "" {
			via = w.UserID
		}
		out = append(out, &Wall{
			TenantID: u.TenantID, MatterID: w.MatterID, UserID: u.ID,
			CreatedBy: w.CreatedBy, CreatedAt: u.CreatedAt, Via: via,
		})
	}
	return out, nil
}

// handOver fails with forbidden, on record as action denied, when actor is
// walled off a matter that target is not: handing such an account a
// password or power would let the actor reach the matter through it, or
// lift their own wall with it. what says what was refused, for the message.
func (s *Service) handOver(ctx context.Context, actor, target *User, action, what string) error {
	mine, err := s.walledMatters(ctx, actor)
	if err != nil || len(mine) == 0 {
		return err
	}
	theirs, err := s.walledMatters(ctx, target)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(mine))
	for id := range mine {
		if !theirs[id] {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	sort.Strings(ids)
	ev := event(actor, action, "user", target.ID)
	ev.Outcome = OutcomeDenied
	ev.Details["reason"], ev.Details["matter_id"] = "actor_walled", ids[0]
	if _, err := s.record(ctx, ev); err != nil {
		return err
	}
	return Errorf(EFORBIDDEN, "You are walled off a matter this user is not walled off, so you cannot %s: ask an owner or admin who is not walled off it.", what)
}

// msgLiftWall explains who may lift a wall; each refusal adds why the
// actor is not that person.
const msgLiftWall = "Removing a wall needs a second owner or admin who is independent of the walled user: not walled off the matter, " +
	"with an account that existed before the wall was made and that the walled user did not create, reset or promote."

// liftRefusal returns why actor may not lift w, with the message to show,
// or "" when they may. It reads the actor's stored account, not the
// possibly stale actor. Called with usersMu held.
func (s *Service) liftRefusal(ctx context.Context, actor *User, w *Wall) (reason, message string, err error) {
	users, err := s.Store.Users(ctx, actor.TenantID)
	if err != nil {
		return "", "", err
	}
	var me *User
	for _, u := range users {
		if u.ID == actor.ID {
			me = u
		}
	}
	if me == nil {
		return "", "", Errorf(EUNAUTHORIZED, msgSignInAgain)
	}
	ctl := controlledBy(users, w.UserID, w.Via)
	switch {
	case me.Disabled || !canAdminister(me.Role):
		return "role", "Only owners and admins can manage ethical walls.", nil
	case me.ID == w.UserID:
		return "walled_user", "You cannot remove a wall that stands in front of you. " + msgLiftWall, nil
	case me.ID == w.Via:
		return "walled_user", "This wall extends your own: the user's account was made by you, or by an account of yours, while you were walled off the matter. " + msgLiftWall, nil
	case ctl[me.ID]:
		return "controlled_account", msgLiftWall + " Your account was created by the walled user, or its password was issued by them (or by an account they created or reset).", nil
	case !me.CreatedAt.Before(w.CreatedAt):
		return "created_after_wall", msgLiftWall + " Your account was created after the wall was made.", nil
	case ctl[me.PromotedBy] && !me.PromotedAt.Before(w.CreatedAt):
		return "promoted_by_walled_user", msgLiftWall + " The walled user (or an account they control) promoted or enabled your account after the wall was made.", nil
	}
	return "", "", nil
}

// refuseWallRemoval records that actor was refused the removal of the wall
// of userID on matterID, for reason, and returns the refusal (forbidden
// with message), or unavailable when even the refusal cannot be recorded.
func (s *Service) refuseWallRemoval(ctx context.Context, actor *User, matterID, userID, reason, message string) error {
	ev := event(actor, ActWallRemove, "matter", matterID)
	ev.Outcome = OutcomeDenied
	ev.Details["matter_id"], ev.Details["user_id"], ev.Details["reason"] = matterID, userID, reason
	if _, err := s.record(ctx, ev); err != nil {
		return err
	}
	return Errorf(EFORBIDDEN, "%s", message)
}
