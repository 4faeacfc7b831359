package vault

import (
	"context"
	"time"
)

// Permission is one right on a document: view it inline, download it, or
// edit it (new version, rename, move, trash, restore).
type Permission string

// The permissions a grant can give.
const (
	PermRead     Permission = "read"
	PermDownload Permission = "download"
	PermEdit     Permission = "edit"
)

// Valid reports whether p is a known permission.
func (p Permission) Valid() bool {
	switch p {
	case PermRead, PermDownload, PermEdit:
		return true
	}
	return false
}

// permSet is a set of permissions.
type permSet uint8

// permAll is every permission: what an uploader holds.
const permAll permSet = 1<<3 - 1

// bit is p's member of a permSet; 0 for an unknown permission.
func (p Permission) bit() permSet {
	for i, q := range permissionOrder {
		if p == q {
			return 1 << i
		}
	}
	return 0
}

func setOf(ps []Permission) permSet {
	var s permSet
	for _, p := range ps {
		s |= p.bit()
	}
	return s
}

func (s permSet) has(p Permission) bool { b := p.bit(); return b != 0 && s&b == b }

// list returns the permissions in s in canonical order.
func (s permSet) list() []Permission {
	out := []Permission{}
	for _, p := range permissionOrder {
		if s.has(p) {
			out = append(out, p)
		}
	}
	return out
}

// checkActor fails unless actor is a signed-in, enabled user who need not
// change a one-time password first.
func checkActor(actor *User) error {
	if err := checkSignedIn(actor); err != nil {
		return err
	}
	if actor.MustChangePassword {
		return Errorf(EPASSWORDCHANGE, "Your password was reset: change it (POST /api/v1/me/password, with the one-time password as old_password) before anything else.")
	}
	if actor.MFAEnrolmentRequired {
		return Errorf(EMFAENROL, "Your firm requires a second sign-in factor: enrol an authenticator app (POST /api/v1/me/mfa/totp) before anything else.")
	}
	return nil
}

// checkSignedIn fails unless actor is a signed-in, enabled user; it is
// checkActor for the only things a user with a one-time password may do:
// change it and sign out.
func checkSignedIn(actor *User) error {
	switch {
	case actor == nil || actor.ID == "" || actor.TenantID == "":
		return Errorf(EUNAUTHORIZED, "Sign in first.")
	case actor.Disabled:
		return Errorf(EFORBIDDEN, "Your account is disabled.")
	}
	return nil
}

// The rules of access, in one place (docs/PERMISSIONS.md is their
// plain-language form):
//
//  1. Another firm's objects do not exist for the actor (not_found).
//  2. Disabled users and auditors hold no permission on any document.
//  3. A wall between the actor and the document's matter removes every
//     permission, whatever the actor's ownership or grants.
//  4. The uploader holds read, download and edit.
//  5. Each active (unrevoked, unexpired) grant to the actor on the document
//     or on its matter adds its permissions.
//
// Nothing else gives access: owners and admins hold only what ownership and
// grants give them, like anyone else. The one thing their role adds on a
// document is mayRepair: renaming a document whose name cannot be
// decrypted, which shows them nothing of it.

// permissions returns what actor may do with d now. d must be of the
// actor's firm. Errors: unavailable.
func (s *Service) permissions(ctx context.Context, actor *User, d *Document) (permSet, error) {
	if actor.Disabled || actor.Role == RoleAuditor || actor.TenantID != d.TenantID {
		return 0, nil
	}
	walled, err := s.walled(ctx, actor.TenantID, d.MatterID, actor.ID)
	if err != nil || walled {
		return 0, err
	}
	if d.CreatedBy == actor.ID {
		return permAll, nil
	}
	grants, err := s.Store.AccessGrants(ctx, actor.TenantID, actor.ID, d.ID, d.MatterID, s.now())
	if err != nil {
		return 0, err
	}
	var set permSet
	for _, g := range grants {
		set |= setOf(g.Permissions)
	}
	return set, nil
}

// walledMatters returns the ids of the matters a wall bars actor from:
// what their matter and document listings, grant listings and audit
// readings must leave out or keep nameless.
func (s *Service) walledMatters(ctx context.Context, actor *User) (map[string]bool, error) {
	walls, err := s.Store.Walls(ctx, actor.TenantID, WallFilter{UserID: actor.ID})
	if err != nil {
		return nil, err
	}
	m := make(map[string]bool, len(walls))
	for _, w := range walls {
		m[w.MatterID] = true
	}
	return m, nil
}

// walled reports whether a wall bars userID from matterID.
func (s *Service) walled(ctx context.Context, tenantID, matterID, userID string) (bool, error) {
	ws, err := s.Store.Walls(ctx, tenantID, WallFilter{MatterID: matterID, UserID: userID})
	return len(ws) > 0, err
}

// authorize fails unless actor holds perm on d, or for perm "" any
// permission at all (seeing a document — listing, metadata, versions —
// needs no more), and returns what actor holds. It is the one place where
// access to a document is decided; everything that reads or changes a
// document goes through it. Errors: unauthorized, forbidden, not_found
// (another firm), unavailable.
func (s *Service) authorize(ctx context.Context, actor *User, d *Document, perm Permission) (permSet, error) {
	if err := checkActor(actor); err != nil {
		return 0, err
	}
	if actor.TenantID != d.TenantID {
		return 0, Errorf(ENOTFOUND, "Document not found.")
	}
	if perm != "" && !perm.Valid() {
		return 0, Errorf(EINTERNAL, "Unknown permission.")
	}
	set, err := s.permissions(ctx, actor, d)
	switch {
	case err != nil:
		return 0, err
	case perm == "" && set == 0:
		return 0, s.denial(ctx, actor, "document", d.ID, "", Errorf(EFORBIDDEN, "You do not have access to this document."))
	case perm != "" && !set.has(perm):
		return 0, s.denial(ctx, actor, "document", d.ID, perm, denied(perm))
	}
	return set, nil
}

// denied is the error for a missing permission. It is the same whether the
// reason is a wall, an expired grant or no grant at all: the reason is for
// admins (DocumentAccess), not for the person refused.
func denied(perm Permission) error {
	return Errorf(EFORBIDDEN, "You do not have %s permission on this document.", perm)
}

// visibility answers "may actor see d?" for many documents of one firm with
// two queries: the actor's walls and active grants, loaded once.
type visibility struct {
	actor   *User
	walled  map[string]bool // matter ids
	docs    map[string]bool // document ids with a grant
	matters map[string]bool // matter ids with a grant
}

// newVisibility loads what actor's listings depend on at now.
func (s *Service) newVisibility(ctx context.Context, actor *User, now time.Time) (*visibility, error) {
	v := &visibility{actor: actor, walled: map[string]bool{}, docs: map[string]bool{}, matters: map[string]bool{}}
	if actor.Disabled || actor.Role == RoleAuditor {
		return v, nil
	}
	var err error
	if v.walled, err = s.walledMatters(ctx, actor); err != nil {
		return nil, err
	}
	grants, err := s.Store.Grants(ctx, actor.TenantID, GrantFilter{UserID: actor.ID, ActiveAt: now})
	if err != nil {
		return nil, err
	}
	for _, g := range grants {
		if len(g.Permissions) == 0 {
			continue
		}
		if g.DocumentID != "" {
			v.docs[g.DocumentID] = true
		} else {
			v.matters[g.MatterID] = true
		}
	}
	return v, nil
}

// document reports whether the actor holds any permission on d: the same
// answer authorize gives for any permission, from the preloaded facts.
func (v *visibility) document(d *Document) bool {
	a := v.actor
	switch {
	case a.Disabled || a.Role == RoleAuditor || a.TenantID != d.TenantID || v.walled[d.MatterID]:
		return false
	case d.CreatedBy == a.ID:
		return true
	}
	return v.docs[d.ID] || v.matters[d.MatterID]
}

// mayRepair reports whether actor may rename d without edit permission:
// an owner or admin may give a document whose name cannot be decrypted a
// new name (walls still apply; the caller checks them).
func mayRepair(actor *User, d *Document) bool {
	return canAdminister(actor.Role) && !d.Readable("name")
}

// mayEditMatter reports whether actor may rename or close m: owners,
// admins and the lawyer who opened it. Reopening is canAdminister alone.
func mayEditMatter(actor *User, m *Matter) bool {
	return canAdminister(actor.Role) || (actor.Role == RoleLawyer && m.CreatedBy == actor.ID)
}

// canCreateMatter reports whether the role may open matters.
func canCreateMatter(r Role) bool { return r == RoleOwner || r == RoleAdmin || r == RoleLawyer }

// canUpload reports whether the role may upload documents.
func canUpload(r Role) bool { return r == RoleOwner || r == RoleAdmin || r == RoleLawyer }

// CanCreateMatter and CanUpload report what the service lets a role do, so
// that a page offers only the forms the service would accept (the service
// still decides, on every request).
func CanCreateMatter(r Role) bool { return canCreateMatter(r) }

// CanUpload reports whether the role may upload documents (see
// CanCreateMatter).
func CanUpload(r Role) bool { return canUpload(r) }

// canAdminister reports whether the role may grant anything in its firm and
// manage walls.
func canAdminister(r Role) bool { return r == RoleOwner || r == RoleAdmin }
