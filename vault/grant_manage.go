package vault

import "context"

// SharePermissions returns the permissions actor may grant on a document
// now, by the rules of CreateGrant (mayManageGrants), in canonical order:
// all three for an owner or admin not walled off its matter, those they
// hold for the lawyer who uploaded it, none for anyone else. A UI offers a
// share form only when the list is not empty. Errors: unauthorized,
// not_found.
func (s *Service) SharePermissions(ctx context.Context, actor *User, documentID string) ([]Permission, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	obj, err := s.loadGrantObject(ctx, actor, documentID, "")
	if err != nil {
		return nil, err
	}
	var out []Permission
	for _, p := range permissionOrder {
		err := s.mayManageGrants(ctx, actor, obj, setOf([]Permission{p}), "")
		switch {
		case err == nil:
			out = append(out, p)
		case !IsCode(err, EFORBIDDEN):
			return nil, err
		}
	}
	return out, nil
}

// MayRevokeGrant reports whether actor may revoke g (RevokeGrant would not
// refuse it as forbidden): owners and admins not walled off its matter,
// and the lawyer who made it. Errors: unauthorized, not_found.
func (s *Service) MayRevokeGrant(ctx context.Context, actor *User, g *Grant) (bool, error) {
	if err := checkActor(actor); err != nil {
		return false, err
	}
	if g.TenantID != "" && g.TenantID != actor.TenantID {
		return false, Errorf(ENOTFOUND, "Grant not found.")
	}
	obj, err := s.loadGrantObject(ctx, actor, g.DocumentID, g.MatterID)
	if err != nil {
		return false, err
	}
	err = s.mayManageGrants(ctx, actor, obj, 0, g.CreatedBy)
	if IsCode(err, EFORBIDDEN) {
		return false, nil
	}
	return err == nil, err
}
