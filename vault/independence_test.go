package vault_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

// wallScene is a firm whose owner (made by the operator) is about to wall
// an admin the owner created off a matter.
type wallScene struct {
	e      *env
	owner  *vault.User
	walled *vault.User
	matter *vault.Matter
}

func newWallScene(t *testing.T) *wallScene {
	t.Helper()
	e := newEnv(t, nil)
	_, owner := e.firm(t, "Harbour LLP", "us")
	s := &wallScene{e: e, owner: owner}
	s.walled = s.create(t, owner, vault.RoleAdmin)
	s.matter = e.matter(t, owner, "Takeover")
	return s
}

// create has actor create a user with role and testPassword, a second
// after everything before.
func (s *wallScene) create(t *testing.T, actor *vault.User, role vault.Role) *vault.User {
	t.Helper()
	s.e.clock.Add(time.Second)
	u, _, err := s.e.Svc.CreateUser(context.Background(), s.fresh(t, actor), vault.NewUser{
		Email: vault.NewID("w")[2:14] + "@harbour.example", Role: role, Password: testPassword,
	})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	return u
}

// fresh returns u as stored now.
func (s *wallScene) fresh(t *testing.T, u *vault.User) *vault.User {
	t.Helper()
	got, err := s.e.DB.User(context.Background(), u.TenantID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// wallOff has the owner wall the walled admin off the matter, a second
// after everything before.
func (s *wallScene) wallOff(t *testing.T) {
	t.Helper()
	s.wall(t, s.owner, s.walled)
}

// wall has actor wall u off the matter, a second after everything before.
func (s *wallScene) wall(t *testing.T, actor, u *vault.User) {
	t.Helper()
	s.e.clock.Add(time.Second)
	if _, _, err := s.e.Svc.AddWall(context.Background(), s.fresh(t, actor), s.matter.ID, u.ID); err != nil {
		t.Fatalf("AddWall: %v", err)
	}
}

// reset has actor reset u's password, and u replace the one-time password.
func (s *wallScene) reset(t *testing.T, actor, u *vault.User) {
	t.Helper()
	ctx := context.Background()
	s.e.clock.Add(time.Second)
	_, otp, err := s.e.Svc.ResetPassword(ctx, s.fresh(t, actor), u.ID)
	if err != nil {
		t.Fatalf("ResetPassword: %v", err)
	}
	if err := s.e.Svc.ChangePassword(ctx, s.fresh(t, u), otp, "another long passphrase"); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
}

// update has actor change u.
func (s *wallScene) update(t *testing.T, actor, u *vault.User, up vault.UserUpdate) {
	t.Helper()
	s.e.clock.Add(time.Second)
	if _, err := s.e.Svc.UpdateUser(context.Background(), s.fresh(t, actor), u.ID, up); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
}

// lastEvent returns the last audit event recorded.
func (s *wallScene) lastEvent(t *testing.T) vault.AuditEvent {
	t.Helper()
	evs := s.e.audit(t).Events()
	if len(evs) == 0 {
		t.Fatal("no audit events")
	}
	return evs[len(evs)-1]
}

// TestService_RemoveWall_Independence is the rule for lifting a wall: an
// owner or admin independent of the walled user, and nobody else.
func TestService_RemoveWall_Independence(t *testing.T) {
	admin := func(up vault.Role) vault.UserUpdate { return vault.UserUpdate{Role: &up} }
	for _, tt := range []struct {
		name string
		// arrange builds the scene around the wall (wallOff) and returns
		// who then tries to lift it.
		arrange func(t *testing.T, s *wallScene) *vault.User
		reason  string // why it is refused; "" when it is allowed
	}{
		{"OwnerWhoWalled", func(t *testing.T, s *wallScene) *vault.User {
			s.wallOff(t)
			return s.owner
		}, ""},
		{"AdminOlderThanWall", func(t *testing.T, s *wallScene) *vault.User {
			x := s.create(t, s.owner, vault.RoleAdmin)
			s.wallOff(t)
			return x
		}, ""},
		{"PromotedByWalledUserBeforeWall", func(t *testing.T, s *wallScene) *vault.User {
			x := s.create(t, s.owner, vault.RoleLawyer)
			s.update(t, s.walled, x, admin(vault.RoleAdmin))
			s.wallOff(t)
			return x
		}, ""},
		{"ResetByOwnerBeforeWall", func(t *testing.T, s *wallScene) *vault.User {
			x := s.create(t, s.owner, vault.RoleAdmin)
			s.reset(t, s.owner, x)
			s.wallOff(t)
			return x
		}, ""},
		{"WalledUser", func(t *testing.T, s *wallScene) *vault.User {
			s.wallOff(t)
			return s.walled
		}, "walled_user"},
		{"AdminNewerThanWall", func(t *testing.T, s *wallScene) *vault.User {
			s.wallOff(t)
			return s.create(t, s.owner, vault.RoleAdmin)
		}, "created_after_wall"},
		{"OwnerNewerThanWallMadeByOperator", func(t *testing.T, s *wallScene) *vault.User {
			s.wallOff(t)
			s.e.clock.Add(time.Second)
			u, _, err := s.e.Svc.AddUser(context.Background(), s.owner.TenantID, vault.NewUser{Email: "late@harbour.example", Role: vault.RoleOwner})
			if err != nil {
				t.Fatal(err)
			}
			return u
		}, "created_after_wall"},
		{"CreatedByWalledUserBeforeWall", func(t *testing.T, s *wallScene) *vault.User {
			x := s.create(t, s.walled, vault.RoleAdmin)
			s.wallOff(t)
			return x
		}, "controlled_account"},
		{"CreatedByAnAccountOfTheWalledUser", func(t *testing.T, s *wallScene) *vault.User {
			x := s.create(t, s.walled, vault.RoleAdmin)
			y := s.create(t, x, vault.RoleAdmin)
			s.wallOff(t)
			return y
		}, "controlled_account"},
		{"CreatedByWalledUserThenResetByOwner", func(t *testing.T, s *wallScene) *vault.User {
			x := s.create(t, s.walled, vault.RoleAdmin)
			s.reset(t, s.owner, x)
			s.wallOff(t)
			return x
		}, "controlled_account"},
		{"ResetByWalledUserBeforeWall", func(t *testing.T, s *wallScene) *vault.User {
			x := s.create(t, s.owner, vault.RoleAdmin)
			s.reset(t, s.walled, x)
			s.wallOff(t)
			return x
		}, "controlled_account"},
		{"CreatedByWalledUserAfterWall", func(t *testing.T, s *wallScene) *vault.User {
			s.wallOff(t)
			return s.create(t, s.walled, vault.RoleAdmin) // inherits the wall
		}, "actor_walled"},
		{"WalledAdmin", func(t *testing.T, s *wallScene) *vault.User {
			x := s.create(t, s.owner, vault.RoleAdmin)
			s.wallOff(t)
			s.wall(t, s.owner, x)
			return x
		}, "actor_walled"},
		{"PromotedByWalledUserAfterWall", func(t *testing.T, s *wallScene) *vault.User {
			x := s.create(t, s.owner, vault.RoleLawyer)
			s.wallOff(t)
			// The walled admin may promote x only while x is walled off
			// the matter too; x's own wall is then lifted by the owner.
			s.wall(t, s.owner, x)
			s.update(t, s.walled, x, admin(vault.RoleAdmin))
			if err := s.e.Svc.RemoveWall(context.Background(), s.owner, s.matter.ID, x.ID); err != nil {
				t.Fatal(err)
			}
			return x
		}, "promoted_by_walled_user"},
		{"EnabledByWalledUserAfterWall", func(t *testing.T, s *wallScene) *vault.User {
			x := s.create(t, s.owner, vault.RoleAdmin)
			s.update(t, s.owner, x, vault.UserUpdate{Disabled: ptr(true)})
			s.wallOff(t)
			s.wall(t, s.owner, x)
			s.update(t, s.walled, x, vault.UserUpdate{Disabled: ptr(false)})
			if err := s.e.Svc.RemoveWall(context.Background(), s.owner, s.matter.ID, x.ID); err != nil {
				t.Fatal(err)
			}
			return x
		}, "promoted_by_walled_user"},
		{"Lawyer", func(t *testing.T, s *wallScene) *vault.User {
			x := s.create(t, s.owner, vault.RoleLawyer)
			s.wallOff(t)
			return x
		}, "role"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := newWallScene(t)
			actor := s.fresh(t, tt.arrange(t, s))
			err := s.e.Svc.RemoveWall(ctx, actor, s.matter.ID, s.walled.ID)
			ws, lerr := s.e.DB.Walls(ctx, s.owner.TenantID, vault.WallFilter{MatterID: s.matter.ID, UserID: s.walled.ID})
			if lerr != nil {
				t.Fatal(lerr)
			}
			ev := s.lastEvent(t)
			if tt.reason == "" {
				if err != nil || len(ws) != 0 {
					t.Fatalf("RemoveWall = %v, %d walls left; want the wall lifted", err, len(ws))
				}
				if ev.Action != vault.ActWallRemove || ev.Outcome != vault.OutcomeOK || ev.ActorID != actor.ID {
					t.Fatalf("last event %+v, want an ok wall.remove by the actor", ev)
				}
				return
			}
			wantCode(t, err, vault.EFORBIDDEN)
			if msg := vault.ErrorMessage(err); tt.reason != "role" && !strings.Contains(msg, "independent") {
				t.Errorf("message %q does not say an independent owner or admin is needed", msg)
			}
			if len(ws) != 1 {
				t.Fatalf("%d walls left, want the wall to stand", len(ws))
			}
			if ev.Action != vault.ActWallRemove || ev.Outcome != vault.OutcomeDenied || ev.ActorID != actor.ID ||
				ev.Details["reason"] != tt.reason || ev.Details["user_id"] != s.walled.ID || ev.Details["matter_id"] != s.matter.ID {
				t.Fatalf("last event %+v, want a denied wall.remove with reason %q", ev, tt.reason)
			}
		})
	}
}

// TestService_WalledUserHandOver checks that a walled user can hand no
// password or power to an account that reaches what they cannot, while
// what takes power away stays possible and on record.
func TestService_WalledUserHandOver(t *testing.T) {
	ctx := context.Background()
	s := newWallScene(t)
	lawyer := s.create(t, s.owner, vault.RoleLawyer)
	other := s.create(t, s.owner, vault.RoleAdmin)
	off := s.create(t, s.owner, vault.RoleAdmin)
	s.update(t, s.owner, off, vault.UserUpdate{Disabled: ptr(true)})
	s.wallOff(t)
	w := s.fresh(t, s.walled)

	for _, tt := range []struct {
		name, action string
		do           func() error
	}{
		{"Reset", vault.ActUserReset, func() error { _, _, err := s.e.Svc.ResetPassword(ctx, w, other.ID); return err }},
		{"Promote", vault.ActUserRoleChange, func() error {
			_, err := s.e.Svc.UpdateUser(ctx, w, lawyer.ID, vault.UserUpdate{Role: ptr(vault.RoleAdmin)})
			return err
		}},
		{"Enable", vault.ActUserEnable, func() error {
			_, err := s.e.Svc.UpdateUser(ctx, w, off.ID, vault.UserUpdate{Disabled: ptr(false)})
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.do(), vault.EFORBIDDEN)
			ev := s.lastEvent(t)
			if ev.Action != tt.action || ev.Outcome != vault.OutcomeDenied || ev.ActorID != w.ID ||
				ev.Details["reason"] != "actor_walled" || ev.Details["matter_id"] != s.matter.ID {
				t.Fatalf("last event %+v, want a denied %s", ev, tt.action)
			}
		})
	}
	if u := s.fresh(t, lawyer); u.Role != vault.RoleLawyer {
		t.Fatalf("lawyer is now %s", u.Role)
	}
	if u := s.fresh(t, off); !u.Disabled {
		t.Fatal("disabled admin was enabled")
	}
	// Taking power away is allowed, and on record: it lifts no wall.
	s.update(t, w, other, vault.UserUpdate{Role: ptr(vault.RoleLawyer)})
	if ev := s.lastEvent(t); ev.Action != vault.ActUserRoleChange || ev.Outcome != vault.OutcomeOK || ev.Details["role"] != "lawyer" {
		t.Fatalf("last event %+v, want the demotion", ev)
	}
}

// TestService_InheritedWalls checks that an account a walled user creates
// is walled off the same matters, and cannot be granted or grant itself
// access there.
func TestService_InheritedWalls(t *testing.T) {
	ctx := context.Background()
	s := newWallScene(t)
	sock := s.create(t, s.walled, vault.RoleAdmin) // made before the wall
	s.wallOff(t)
	n := len(s.e.audit(t).Events())
	c := s.create(t, s.walled, vault.RoleAdmin)
	d := s.create(t, c, vault.RoleLawyer) // by the new account: still walled

	for _, u := range []*vault.User{c, d} {
		ws, err := s.e.DB.Walls(ctx, s.owner.TenantID, vault.WallFilter{UserID: u.ID})
		if err != nil || len(ws) != 1 || ws[0].MatterID != s.matter.ID || ws[0].Via != s.walled.ID || ws[0].CreatedBy != s.owner.ID {
			t.Fatalf("walls of the new account: %+v, %v; want one on the matter via the walled admin", ws, err)
		}
	}
	evs := s.e.audit(t).Events()[n:]
	if len(evs) < 2 || evs[0].Action != vault.ActUserCreate || evs[0].Details["walls_inherited"] != "1" ||
		evs[1].Action != vault.ActWallAdd || evs[1].Details["user_id"] != c.ID || evs[1].Details["via"] != s.walled.ID ||
		evs[1].Details["reason"] != "inherited" || evs[1].ActorID != s.walled.ID {
		t.Fatalf("events of the creation: %+v", evs)
	}
	doc := s.e.put(t, s.owner, s.matter.ID, "memo.pdf", []byte("memo"))
	fc := s.fresh(t, c)
	_, _, err := s.e.Svc.CreateGrant(ctx, fc, vault.NewGrant{UserID: c.ID, MatterID: s.matter.ID, Permissions: []vault.Permission{vault.PermRead}})
	wantCode(t, err, vault.EFORBIDDEN)
	_, _, err = s.e.Svc.CreateGrant(ctx, s.owner, vault.NewGrant{UserID: c.ID, DocumentID: doc.ID, Permissions: []vault.Permission{vault.PermRead}})
	wantCode(t, err, vault.ECONFLICT)
	if s.e.can(t, fc, doc.ID, vault.PermRead) {
		t.Fatal("the walled admin's new account may read the matter")
	}
	// The walled admin's older account may not lift the inherited wall
	// either (it extends the walled admin's); the owner may.
	err = s.e.Svc.RemoveWall(ctx, s.fresh(t, sock), s.matter.ID, c.ID)
	wantCode(t, err, vault.EFORBIDDEN)
	if ev := s.lastEvent(t); ev.Details["reason"] != "controlled_account" {
		t.Fatalf("refusal %+v, want reason controlled_account", ev)
	}
	if err := s.e.Svc.RemoveWall(ctx, s.owner, s.matter.ID, c.ID); err != nil {
		t.Fatalf("owner lifts the inherited wall: %v", err)
	}
	if ev := s.lastEvent(t); ev.Details["via"] != s.walled.ID {
		t.Fatalf("removal %+v, want via", ev)
	}
	// Once the walled admin's own wall is lifted, they still may not lift
	// a wall that extends it.
	if err := s.e.Svc.RemoveWall(ctx, s.owner, s.matter.ID, s.walled.ID); err != nil {
		t.Fatal(err)
	}
	err = s.e.Svc.RemoveWall(ctx, s.fresh(t, s.walled), s.matter.ID, d.ID)
	wantCode(t, err, vault.EFORBIDDEN)
	if ev := s.lastEvent(t); ev.Details["reason"] != "walled_user" || ev.Details["user_id"] != d.ID {
		t.Fatalf("refusal %+v, want reason walled_user", ev)
	}
	// An account made by an unwalled user inherits nothing.
	x := s.create(t, s.owner, vault.RoleLawyer)
	if ws, err := s.e.DB.Walls(ctx, s.owner.TenantID, vault.WallFilter{UserID: x.ID}); err != nil || len(ws) != 0 {
		t.Fatalf("walls of an account the owner made: %+v, %v", ws, err)
	}
}
