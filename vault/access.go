package vault

import (
	"context"
	"time"
)

// AccessReport says who can access one document at one moment, and why.
type AccessReport struct {
	DocumentID string       `json:"document_id"`
	MatterID   string       `json:"matter_id"`
	At         time.Time    `json:"at"`
	Users      []UserAccess `json:"users"`
}

// UserAccess is one user's access to a document: what they hold now, every
// ground they would have, and what blocks those grounds.
type UserAccess struct {
	UserID      string         `json:"user_id"`
	Email       string         `json:"email"`
	Role        Role           `json:"role"`
	Permissions []Permission   `json:"permissions"` // what the user may do now
	Reasons     []AccessReason `json:"reasons"`
	// BlockedBy is why the reasons give nothing: "wall", "disabled" or
	// "auditor" (auditors never hold content permissions); "" when not
	// blocked.
	BlockedBy string `json:"blocked_by,omitempty"`
	Wall      *Wall  `json:"wall,omitempty"`
}

// AccessReason is one ground for access.
type AccessReason struct {
	// Kind is "uploader", "document_grant" or "matter_grant".
	Kind        string       `json:"kind"`
	Permissions []Permission `json:"permissions"`
	GrantID     string       `json:"grant_id,omitempty"`
	MatterID    string       `json:"matter_id,omitempty"` // for a matter grant
	GrantedBy   string       `json:"granted_by,omitempty"`
	ExpiresAt   *time.Time   `json:"expires_at,omitempty"`
}

// Kinds of AccessReason.
const (
	ReasonUploader      = "uploader"
	ReasonDocumentGrant = "document_grant"
	ReasonMatterGrant   = "matter_grant"
)

// DocumentAccess explains who can access a document now and why: every user
// with a ground for access (ownership, an active grant on the document or
// on its matter), with what they hold after walls, disabled accounts and
// roles are applied. Owners and admins not walled off the matter may ask; it
// shows ids, never the document's name. Errors: unauthorized, forbidden,
// not_found.
func (s *Service) DocumentAccess(ctx context.Context, actor *User, id string) (*AccessReport, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	obj, err := s.loadGrantObject(ctx, actor, id, "")
	if err != nil {
		return nil, err
	}
	if !canAdminister(actor.Role) {
		return nil, Errorf(EFORBIDDEN, "Only owners and admins can see who has access.")
	}
	if walled, err := s.walled(ctx, actor.TenantID, obj.matterID, actor.ID); err != nil || walled {
		if err == nil {
			err = Errorf(EFORBIDDEN, "You do not have access to this matter.")
		}
		return nil, err
	}
	d, now := obj.doc, s.now()
	byUser := map[string]*UserAccess{}
	var order []string
	add := func(userID string, r AccessReason) {
		ua := byUser[userID]
		if ua == nil {
			ua = &UserAccess{UserID: userID}
			byUser[userID] = ua
			order = append(order, userID)
		}
		ua.Reasons = append(ua.Reasons, r)
	}
	add(d.CreatedBy, AccessReason{Kind: ReasonUploader, Permissions: permAll.list()})
	for _, f := range []GrantFilter{{DocumentID: d.ID, ActiveAt: now}, {MatterID: d.MatterID, ActiveAt: now}} {
		gs, err := s.Store.Grants(ctx, actor.TenantID, f)
		if err != nil {
			return nil, err
		}
		for _, g := range gs {
			r := AccessReason{Kind: ReasonDocumentGrant, Permissions: g.Permissions, GrantID: g.ID, GrantedBy: g.CreatedBy, ExpiresAt: g.ExpiresAt}
			if g.MatterID != "" {
				r.Kind, r.MatterID = ReasonMatterGrant, g.MatterID
			}
			add(g.UserID, r)
		}
	}
	walls, err := s.Store.Walls(ctx, actor.TenantID, WallFilter{MatterID: d.MatterID})
	if err != nil {
		return nil, err
	}
	wallOf := map[string]*Wall{}
	for _, w := range walls {
		wallOf[w.UserID] = w
	}

	rep := &AccessReport{DocumentID: d.ID, MatterID: d.MatterID, At: now, Users: make([]UserAccess, 0, len(order))}
	for _, uid := range order {
		ua := byUser[uid]
		u, err := s.Store.User(ctx, actor.TenantID, uid)
		if err != nil {
			return nil, err
		}
		ua.Email, ua.Role = u.Email, u.Role
		var held permSet
		for _, r := range ua.Reasons {
			held |= setOf(r.Permissions)
		}
		switch {
		case wallOf[uid] != nil:
			ua.BlockedBy, ua.Wall, held = "wall", wallOf[uid], 0
		case u.Disabled:
			ua.BlockedBy, held = "disabled", 0
		case u.Role == RoleAuditor:
			ua.BlockedBy, held = "auditor", 0
		}
		// Cross-check with the one decision procedure, so the report can
		// never claim what authorize would not do.
		if got, err := s.permissions(ctx, u, d); err != nil {
			return nil, err
		} else if got != held {
			return nil, Errorf(EINTERNAL, "Access report disagrees with authorization.")
		}
		ua.Permissions = held.list()
		rep.Users = append(rep.Users, *ua)
	}
	return rep, nil
}
