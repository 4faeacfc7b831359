package vault

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Grant gives one user explicit permissions on one document, or on one
// matter and so on every document in it, present and future. Grants are
// never edited: a revoked or expired grant stays on record.
type Grant struct {
	ID          string       `json:"id"`
	TenantID    string       `json:"-"`
	UserID      string       `json:"user_id"`
	DocumentID  string       `json:"document_id,omitempty"` // exactly one of DocumentID
	MatterID    string       `json:"matter_id,omitempty"`   // and MatterID is set
	Permissions []Permission `json:"permissions"`           // canonical: see CanonicalPermissions
	ExpiresAt   *time.Time   `json:"expires_at,omitempty"`
	CreatedBy   string       `json:"created_by"`
	CreatedAt   time.Time    `json:"created_at"`
	RevokedAt   *time.Time   `json:"revoked_at,omitempty"`
	RevokedBy   string       `json:"revoked_by,omitempty"`
}

// Grant states, as reported by Grant.Status.
const (
	GrantActive  = "active"
	GrantExpired = "expired"
	GrantRevoked = "revoked"
)

// ActiveAt reports whether g is neither revoked nor expired at t. A grant
// expires at its ExpiresAt instant: from then on it gives nothing.
func (g *Grant) ActiveAt(t time.Time) bool {
	return g.RevokedAt == nil && (g.ExpiresAt == nil || t.Before(*g.ExpiresAt))
}

// Status is GrantActive, GrantExpired or GrantRevoked at t.
func (g *Grant) Status(t time.Time) string {
	switch {
	case g.RevokedAt != nil:
		return GrantRevoked
	case !g.ActiveAt(t):
		return GrantExpired
	}
	return GrantActive
}

// Has reports whether g lists p.
func (g *Grant) Has(p Permission) bool { return slices.Contains(g.Permissions, p) }

// GrantFilter selects grants of one firm; set fields are ANDed. DocumentID
// selects grants on that document (not grants on its matter); MatterID
// selects grants on that matter (not grants on documents in it).
type GrantFilter struct {
	UserID     string
	DocumentID string
	MatterID   string
	CreatedBy  string
	// ActiveAt, when not zero, keeps only grants neither revoked nor
	// expired at that time.
	ActiveAt time.Time
}

// permissionOrder is the canonical order of permissions.
var permissionOrder = []Permission{PermRead, PermDownload, PermEdit}

// CanonicalPermissions returns ps without duplicates in the order read,
// download, edit. Errors: invalid (empty, or an unknown permission).
func CanonicalPermissions(ps []Permission) ([]Permission, error) {
	if len(ps) == 0 {
		return nil, Errorf(EINVALID, "Permissions required: any of read, download, edit.")
	}
	for _, p := range ps {
		if !p.Valid() {
			return nil, Errorf(EINVALID, "Unknown permission %q: use read, download or edit.", truncate(string(p), 20))
		}
	}
	var out []Permission
	for _, p := range permissionOrder {
		if slices.Contains(ps, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// FormatPermissions joins canonical permissions with commas, as stored.
func FormatPermissions(ps []Permission) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ",")
}

// ParsePermissions reads what FormatPermissions wrote.
// Errors: invalid.
func ParsePermissions(s string) ([]Permission, error) {
	var ps []Permission
	for p := range strings.SplitSeq(s, ",") {
		ps = append(ps, Permission(p))
	}
	return CanonicalPermissions(ps)
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// NewGrant is the input for CreateGrant: exactly one of DocumentID and
// MatterID, and the grantee by UserID or, when that is empty, by Email
// within the actor's firm.
type NewGrant struct {
	UserID      string
	Email       string
	DocumentID  string
	MatterID    string
	Permissions []Permission
	ExpiresAt   *time.Time
}

// grantObject is what a grant is on, loaded and checked for the actor.
type grantObject struct {
	matterID string    // the matter, or the document's matter
	doc      *Document // nil for a matter grant
}

// loadGrantObject finds the document or matter ng names in the actor's firm.
func (s *Service) loadGrantObject(ctx context.Context, actor *User, documentID, matterID string) (grantObject, error) {
	switch {
	case (documentID == "") == (matterID == ""):
		return grantObject{}, Errorf(EINVALID, "Give exactly one of document_id and matter_id.")
	case documentID != "":
		if !ValidID(PrefixDocument, documentID) {
			return grantObject{}, Errorf(ENOTFOUND, "Document not found.")
		}
		d, err := s.Store.Document(ctx, actor.TenantID, documentID)
		if err != nil {
			return grantObject{}, err
		}
		return grantObject{matterID: d.MatterID, doc: d}, nil
	}
	if !ValidID(PrefixMatter, matterID) {
		return grantObject{}, Errorf(ENOTFOUND, "Matter not found.")
	}
	if _, err := s.Store.Matter(ctx, actor.TenantID, matterID); err != nil {
		return grantObject{}, err
	}
	return grantObject{matterID: matterID}, nil
}

// mayManageGrants decides whether actor may give perms on obj, or with
// perms 0 revoke a grant created by createdBy. Owners and admins may do
// anything in their firm; a lawyer may share documents they uploaded, with
// permissions they hold themselves, and revoke the grants they made.
// Nobody may while walled off the object's matter.
func (s *Service) mayManageGrants(ctx context.Context, actor *User, obj grantObject, perms permSet, createdBy string) error {
	walled, err := s.walled(ctx, actor.TenantID, obj.matterID, actor.ID)
	if err != nil {
		return err
	}
	switch {
	case walled:
		return Errorf(EFORBIDDEN, "You do not have access to this matter.")
	case canAdminister(actor.Role):
		return nil
	case actor.Role != RoleLawyer:
		return Errorf(EFORBIDDEN, "Your role cannot grant or revoke access.")
	case obj.doc == nil:
		return Errorf(EFORBIDDEN, "Only owners and admins can grant access to a whole matter.")
	case obj.doc.CreatedBy != actor.ID:
		return Errorf(EFORBIDDEN, "You can share only documents you uploaded.")
	case perms == 0 && createdBy != actor.ID:
		return Errorf(EFORBIDDEN, "You can revoke only grants you made.")
	}
	held, err := s.permissions(ctx, actor, obj.doc)
	if err != nil {
		return err
	}
	if perms&^held != 0 {
		return Errorf(EFORBIDDEN, "You can grant only permissions you hold yourself.")
	}
	return nil
}

// CreateGrant gives a user permissions on a document or a matter, see
// mayManageGrants for who may. Granting what an active grant of the same
// user on the same object already gives (the same or more permissions, an
// expiry no earlier) creates nothing and returns that grant with created
// false. Grants go only to enabled lawyers, admins and owners of the firm
// who are not walled off the matter: auditors never get content.
// Errors: unauthorized, forbidden, invalid, not_found (user, document or
// matter; also of another firm), conflict (user disabled or walled).
func (s *Service) CreateGrant(ctx context.Context, actor *User, ng NewGrant) (g *Grant, created bool, err error) {
	if err := checkActor(actor); err != nil {
		return nil, false, err
	}
	perms, err := CanonicalPermissions(ng.Permissions)
	if err != nil {
		return nil, false, err
	}
	now := s.now()
	if ng.ExpiresAt != nil {
		at := ng.ExpiresAt.UTC()
		if !at.After(now) {
			return nil, false, Errorf(EINVALID, "Expiry must be in the future.")
		}
		ng.ExpiresAt = &at
	}
	obj, err := s.loadGrantObject(ctx, actor, ng.DocumentID, ng.MatterID)
	if err != nil {
		return nil, false, err
	}
	if err := s.mayManageGrants(ctx, actor, obj, setOf(perms), ""); err != nil {
		return nil, false, err
	}
	grantee, err := s.granteeOf(ctx, actor, ng, obj.matterID)
	if err != nil {
		return nil, false, err
	}
	if obj.doc != nil && obj.doc.CreatedBy == grantee.ID {
		return nil, false, Errorf(EINVALID, "The user uploaded this document and already holds every permission on it.")
	}

	same := GrantFilter{UserID: grantee.ID, DocumentID: ng.DocumentID, MatterID: ng.MatterID, ActiveAt: now}
	if g, err := s.coveringGrant(ctx, actor.TenantID, same, perms, ng.ExpiresAt); g != nil || err != nil {
		return g, false, err
	}
	g = &Grant{
		ID: NewID(PrefixGrant), TenantID: actor.TenantID, UserID: grantee.ID,
		DocumentID: ng.DocumentID, MatterID: ng.MatterID, Permissions: perms,
		ExpiresAt: ng.ExpiresAt, CreatedBy: actor.ID, CreatedAt: now,
	}
	ev := grantEvent(actor, ActGrantCreate, g, obj.matterID)
	if err := s.act(ctx, func() error { return s.Store.CreateGrant(ctx, g) }, ev); err != nil {
		if IsCode(err, ECONFLICT) {
			// The same grant was made at the same moment: it is this one.
			if g, err2 := s.coveringGrant(ctx, actor.TenantID, same, perms, ng.ExpiresAt); g != nil || err2 != nil {
				return g, false, err2
			}
		}
		return nil, false, err
	}
	return g, true, nil
}

// grantEvent describes g for the audit log.
func grantEvent(actor *User, action string, g *Grant, matterID string) AuditEvent {
	ev := event(actor, action, "grant", g.ID)
	ev.Details["user_id"], ev.Details["permissions"] = g.UserID, FormatPermissions(g.Permissions)
	ev.Details["matter_id"] = matterID
	if g.DocumentID != "" {
		ev.Details["document_id"] = g.DocumentID
	}
	if g.ExpiresAt != nil {
		ev.Details["expires_at"] = g.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	return ev
}

// granteeOf is grantee for ng's user, named by id or by email. By email,
// an actor who may not list the firm's users (a lawyer) learns only that
// the address is, or is not, a colleague who can be given access: an
// unknown address, another firm's, an auditor, a disabled or a walled user
// all answer the same not_found.
func (s *Service) granteeOf(ctx context.Context, actor *User, ng NewGrant, matterID string) (*User, error) {
	if ng.UserID != "" || ng.Email == "" {
		return s.grantee(ctx, actor.TenantID, ng.UserID, matterID)
	}
	u, err := s.colleagueByEmail(ctx, actor, ng.Email)
	if err == nil {
		u, err = s.grantee(ctx, actor.TenantID, u.ID, matterID)
	}
	if err != nil && !canManageUsers(actor.Role) && (IsCode(err, ENOTFOUND) || IsCode(err, EINVALID) || IsCode(err, ECONFLICT)) {
		return nil, Errorf(ENOTFOUND, "No colleague with this email can be given access to this document.")
	}
	return u, err
}

// grantee loads the user a grant is for and checks they may hold one.
func (s *Service) grantee(ctx context.Context, tenantID, userID, matterID string) (*User, error) {
	if userID == "" {
		return nil, Errorf(EINVALID, "user_id required.")
	}
	if !ValidID(PrefixUser, userID) {
		return nil, Errorf(ENOTFOUND, "User not found.")
	}
	u, err := s.Store.User(ctx, tenantID, userID)
	if err != nil {
		return nil, err
	}
	switch {
	case u.Role == RoleAuditor:
		return nil, Errorf(EINVALID, "Auditors cannot be given access to documents.")
	case u.Disabled:
		return nil, Errorf(ECONFLICT, "The user is disabled.")
	}
	walled, err := s.walled(ctx, tenantID, matterID, u.ID)
	if err != nil {
		return nil, err
	}
	if walled {
		return nil, Errorf(ECONFLICT, "The user is walled off this matter; remove the wall first.")
	}
	return u, nil
}

// coveringGrant returns an active grant matching f that gives at least
// perms until at least expires (nil: never), or nil.
func (s *Service) coveringGrant(ctx context.Context, tenantID string, f GrantFilter, perms []Permission, expires *time.Time) (*Grant, error) {
	gs, err := s.Store.Grants(ctx, tenantID, f)
	if err != nil {
		return nil, err
	}
	want := setOf(perms)
	for _, g := range gs {
		if g.DocumentID != f.DocumentID || g.MatterID != f.MatterID || setOf(g.Permissions)&want != want {
			continue
		}
		if g.ExpiresAt == nil || (expires != nil && !g.ExpiresAt.Before(*expires)) {
			return g, nil
		}
	}
	return nil, nil
}

// RevokeGrant revokes a grant: owners and admins any in their firm, a
// lawyer those they made. It returns the revoked grant. Errors:
// unauthorized, forbidden, not_found (also another firm's), conflict
// (already revoked).
func (s *Service) RevokeGrant(ctx context.Context, actor *User, id string) (*Grant, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if !ValidID(PrefixGrant, id) {
		return nil, Errorf(ENOTFOUND, "Grant not found.")
	}
	g, err := s.Store.Grant(ctx, actor.TenantID, id)
	if err != nil {
		return nil, err
	}
	obj, err := s.loadGrantObject(ctx, actor, g.DocumentID, g.MatterID)
	if err != nil {
		return nil, err
	}
	if err := s.mayManageGrants(ctx, actor, obj, 0, g.CreatedBy); err != nil {
		return nil, err
	}
	if g.RevokedAt != nil {
		return nil, Errorf(ECONFLICT, "Grant is already revoked.")
	}
	now := s.now()
	ev := grantEvent(actor, ActGrantRevoke, g, obj.matterID)
	if err := s.act(ctx, func() error { return s.Store.RevokeGrant(ctx, actor.TenantID, id, actor.ID, now) }, ev); err != nil {
		return nil, err
	}
	g.RevokedAt, g.RevokedBy = &now, actor.ID
	return g, nil
}

// Grants lists grants of the actor's firm matching f, in every state.
// Owners, admins and auditors see all; lawyers see the grants they made and
// those made to them. Nobody sees grants on a matter they are walled off,
// or on its documents. Ids in f must name objects of the actor's firm.
// Errors: unauthorized, forbidden (role, or f names an object behind the
// actor's wall), not_found (an id in f).
func (s *Service) Grants(ctx context.Context, actor *User, f GrantFilter) ([]*Grant, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if actor.Role != RoleLawyer && !canAdminister(actor.Role) && actor.Role != RoleAuditor {
		return nil, Errorf(EFORBIDDEN, "Your role cannot list grants.")
	}
	if f.UserID != "" {
		if !ValidID(PrefixUser, f.UserID) {
			return nil, Errorf(ENOTFOUND, "User not found.")
		}
		if _, err := s.Store.User(ctx, actor.TenantID, f.UserID); err != nil {
			return nil, err
		}
	}
	hidden, err := s.walledObjects(ctx, actor)
	if err != nil {
		return nil, err
	}
	for _, o := range []struct{ doc, matter string }{{f.DocumentID, ""}, {"", f.MatterID}} {
		if o.doc == "" && o.matter == "" {
			continue
		}
		obj, err := s.loadGrantObject(ctx, actor, o.doc, o.matter)
		if err != nil {
			return nil, err
		}
		if hidden[obj.matterID] {
			return nil, Errorf(EFORBIDDEN, "You do not have access to this matter.")
		}
	}
	gs, err := s.Store.Grants(ctx, actor.TenantID, f)
	if err != nil {
		return nil, err
	}
	visible := gs[:0]
	for _, g := range gs {
		if hidden[g.MatterID] || hidden[g.DocumentID] {
			continue
		}
		if actor.Role == RoleLawyer && g.UserID != actor.ID && g.CreatedBy != actor.ID {
			continue
		}
		visible = append(visible, g)
	}
	return visible, nil
}

// walledObjects returns the ids of the matters a wall bars actor from and
// of every document in them: what the actor's grant listings must not
// show. Walls per user are few, so this is usually empty and one query.
func (s *Service) walledObjects(ctx context.Context, actor *User) (map[string]bool, error) {
	walled, err := s.walledMatters(ctx, actor)
	if err != nil {
		return nil, err
	}
	hidden := map[string]bool{}
	for matterID := range walled {
		hidden[matterID] = true
		docs, err := s.Store.Documents(ctx, actor.TenantID, DocumentFilter{MatterID: matterID, IncludeTrashed: true})
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			hidden[d.ID] = true
		}
	}
	return hidden, nil
}

// RecordExpiries writes a grant.expire event for every grant whose expiry
// has passed and is not yet on record, and returns how many it recorded.
// Expiry takes effect on the clock by itself, whether or not this has run;
// the janitor calls it every minute so the log shows when access ended. An
// expiry recorded but not marked (a crash in between) is recorded again.
func (s *Service) RecordExpiries(ctx context.Context) (int, error) {
	n := 0
	for {
		gs, err := s.Store.UnrecordedExpiries(ctx, s.now(), 100)
		if err != nil || len(gs) == 0 {
			return n, err
		}
		for _, g := range gs {
			matterID := g.MatterID
			if g.DocumentID != "" {
				if d, err := s.Store.Document(ctx, g.TenantID, g.DocumentID); err == nil {
					matterID = d.MatterID
				}
			}
			ev := grantEvent(nil, ActGrantExpire, g, matterID)
			ev.TenantID = g.TenantID
			if _, err := s.record(ctx, ev); err != nil {
				return n, err
			}
			if err := s.Store.MarkExpiryRecorded(ctx, g.TenantID, g.ID, s.now()); err != nil {
				return n, err
			}
			n++
		}
	}
}
