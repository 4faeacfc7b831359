package vault

import (
	"context"
	"strings"
)

// MsgMatterClosed is the message of the conflict a change inside a closed
// matter gets.
const MsgMatterClosed = "Matter is closed."

// CreateMatter opens a matter in the actor's firm. Owners, admins and lawyers
// may. Errors: unauthorized, forbidden, invalid.
func (s *Service) CreateMatter(ctx context.Context, actor *User, name, client string) (*Matter, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if !canCreateMatter(actor.Role) {
		return nil, Errorf(EFORBIDDEN, "Your role cannot open matters.")
	}
	name, err := cleanName("Matter name", name, true)
	if err != nil {
		return nil, err
	}
	if client, err = cleanName("Client", client, true); err != nil {
		return nil, err
	}
	m := &Matter{ID: NewID(PrefixMatter), TenantID: actor.TenantID, Name: name, Client: client, CreatedBy: actor.ID, CreatedAt: s.now()}
	ev := event(actor, ActMatterCreate, "matter", m.ID)
	ev.Details["matter_id"] = m.ID
	ev.Private["name"], ev.Private["client"] = name, client
	if err := s.act(ctx, func() error { return s.Store.CreateMatter(ctx, m) }, ev); err != nil {
		return nil, err
	}
	return m, nil
}

// Matter returns a matter of the actor's firm that no wall bars the actor
// from. Errors: not_found, forbidden (walled), cannot_decrypt (its name or
// client does not open: "Matter name cannot be decrypted.").
func (s *Service) Matter(ctx context.Context, actor *User, id string) (*Matter, error) {
	m, err := s.matter(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if m.Damaged() {
		s.reportDamage(ctx, actor, "matter", m.ID, m.ID, &m.Damage)
		return nil, m.err("Matter")
	}
	return m, nil
}

// matter is Matter for the vault's own checks: a matter whose fields are
// damaged is returned, marked, since what is done in it needs only its id.
func (s *Service) matter(ctx context.Context, actor *User, id string) (*Matter, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if !ValidID(PrefixMatter, id) {
		return nil, Errorf(ENOTFOUND, "Matter not found.")
	}
	m, err := s.Store.Matter(ctx, actor.TenantID, id)
	if err != nil {
		return nil, err
	}
	walled, err := s.walled(ctx, actor.TenantID, id, actor.ID)
	if err != nil {
		return nil, err
	}
	if walled {
		return nil, s.denial(ctx, actor, "matter", id, "", Errorf(EFORBIDDEN, "You do not have access to this matter."))
	}
	return m, nil
}

// openMatter is matter for a change inside it (an upload, a new version, a
// rename, a move in or out, trash): it fails with conflict when the matter
// is closed.
func (s *Service) openMatter(ctx context.Context, actor *User, id string) (*Matter, error) {
	m, err := s.matter(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if m.Closed {
		return nil, Errorf(ECONFLICT, MsgMatterClosed)
	}
	return m, nil
}

// requireOpen fails with conflict when the matter of an authorized
// document is closed.
func (s *Service) requireOpen(ctx context.Context, d *Document) error {
	m, err := s.Store.Matter(ctx, d.TenantID, d.MatterID)
	if err != nil {
		return err
	}
	if m.Closed {
		return Errorf(ECONFLICT, MsgMatterClosed)
	}
	return nil
}

// Matters returns the matters of the actor's firm, without those a wall
// bars the actor from, and without closed ones unless includeClosed. A
// matter whose name or client does not open is listed with its id and
// "error":"cannot_decrypt", and reported (logged and audited) once.
func (s *Service) Matters(ctx context.Context, actor *User, includeClosed bool) ([]*Matter, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	walled, err := s.walledMatters(ctx, actor)
	if err != nil {
		return nil, err
	}
	all, err := s.Store.Matters(ctx, actor.TenantID)
	if err != nil {
		return nil, err
	}
	visible := all[:0]
	for _, m := range all {
		if walled[m.ID] || (m.Closed && !includeClosed) {
			continue
		}
		s.reportDamage(ctx, actor, "matter", m.ID, m.ID, &m.Damage)
		visible = append(visible, m.shown())
	}
	return visible, nil
}

// shown is m as answers show it: a matter whose name or client cannot be
// decrypted shows neither, only its ids, times, state and error, since
// its row is not whole.
func (m *Matter) shown() *Matter {
	if m.Damaged() {
		m.Name, m.Client = "", ""
	}
	return m
}

// MatterUpdate changes a matter's name, client, closed state, or several
// at once. A nil field is left as it is.
type MatterUpdate struct {
	Name   *string
	Client *string
	Closed *bool
}

// UpdateMatter renames a matter (name, client or both), closes it or
// reopens it. Owners and admins may, and the lawyer who opened the matter
// may rename and close it; only owners and admins reopen. Nobody walled off
// the matter may. A closed matter is renamed only together with reopening
// it. Renaming never needs the old name, so it repairs a matter whose name
// or client cannot be decrypted. Each change is recorded (matter.reopen,
// matter.rename, matter.close, in that order) before it is saved; a request
// that changes nothing records nothing. Errors: unauthorized, forbidden,
// not_found, invalid, conflict (renaming a closed matter).
func (s *Service) UpdateMatter(ctx context.Context, actor *User, id string, up MatterUpdate) (*Matter, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if up.Name == nil && up.Client == nil && up.Closed == nil {
		return nil, Errorf(EINVALID, "Nothing to change: give name, client, closed or several of them.")
	}
	var name, client string
	var err error
	if up.Name != nil {
		if name, err = cleanName("Matter name", *up.Name, true); err != nil {
			return nil, err
		}
	}
	if up.Client != nil {
		if client, err = cleanName("Client", *up.Client, true); err != nil {
			return nil, err
		}
	}
	m, err := s.matter(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if !mayEditMatter(actor, m) {
		return nil, Errorf(EFORBIDDEN, "Only owners, admins and the lawyer who opened a matter can change it.")
	}

	next := *m
	var events []AuditEvent
	if up.Closed != nil && !*up.Closed && m.Closed {
		if !canAdminister(actor.Role) {
			return nil, Errorf(EFORBIDDEN, "Only owners and admins can reopen a matter.")
		}
		next.Closed, next.ClosedAt = false, nil
		events = append(events, matterEvent(actor, ActMatterReopen, m))
	}

	rename := matterEvent(actor, ActMatterRename, m)
	var repaired []string
	change := func(column, value string, field *string) {
		switch {
		case !next.Readable(column):
			repaired = append(repaired, column)
		case *field == value:
			return
		default:
			rename.Private["old_"+column] = *field
		}
		rename.Private[column] = value
		*field = value
		next.repaired(column)
	}
	if up.Name != nil {
		change("name", name, &next.Name)
	}
	if up.Client != nil {
		change("client", client, &next.Client)
	}
	if len(rename.Private) > 0 {
		if next.Closed {
			return nil, Errorf(ECONFLICT, "%s Reopen it to rename it.", MsgMatterClosed)
		}
		if len(repaired) > 0 {
			rename.Details["repaired"] = strings.Join(repaired, ",")
		}
		events = append(events, rename)
	}

	if up.Closed != nil && *up.Closed && !m.Closed {
		now := s.now()
		next.Closed, next.ClosedAt = true, &now
		events = append(events, matterEvent(actor, ActMatterClose, m))
	}
	if len(events) == 0 {
		return m.shown(), nil
	}
	if err := s.act(ctx, func() error { return s.Store.UpdateMatter(ctx, &next) }, events...); err != nil {
		return nil, err
	}
	if len(repaired) > 0 {
		s.forgetDamage(actor.TenantID, "matter", m.ID)
	}
	return next.shown(), nil
}

// matterEvent starts an event about a change to matter m.
func matterEvent(actor *User, action string, m *Matter) AuditEvent {
	ev := event(actor, action, "matter", m.ID)
	ev.Details["matter_id"] = m.ID
	return ev
}
