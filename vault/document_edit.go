package vault

import "context"

// DocumentUpdate changes a document's name, its matter, or both at once.
type DocumentUpdate struct {
	Name     *string
	MatterID *string
}

// RenameDocument renames a document. Errors: not_found, forbidden, invalid,
// conflict (trashed).
func (s *Service) RenameDocument(ctx context.Context, actor *User, id, name string) (*Document, error) {
	return s.UpdateDocument(ctx, actor, id, DocumentUpdate{Name: &name})
}

// MoveDocument moves a document to another matter of the same firm.
// Errors: not_found (document or matter), forbidden, conflict (trashed).
func (s *Service) MoveDocument(ctx context.Context, actor *User, id, matterID string) (*Document, error) {
	return s.UpdateDocument(ctx, actor, id, DocumentUpdate{MatterID: &matterID})
}

// UpdateDocument renames a document, moves it to another matter of the
// firm, or both, in one write: either everything changes or nothing does.
// A rename and a move are recorded as one event each. Renaming never needs
// the old name: a document whose name cannot be decrypted is repaired by a
// rename, which owners and admins not walled off its matter may make even
// without edit permission (it shows them nothing). Errors: not_found
// (document or matter), forbidden, invalid (nothing to change, bad name),
// conflict (trashed, a matter closed).
func (s *Service) UpdateDocument(ctx context.Context, actor *User, id string, up DocumentUpdate) (*Document, error) {
	if up.Name == nil && up.MatterID == nil {
		return nil, Errorf(EINVALID, "Nothing to change: give a name, a matter or both.")
	}
	var name string
	if up.Name != nil {
		var err error
		if name, err = cleanName("Document name", *up.Name, false); err != nil {
			return nil, err
		}
	}
	d, err := s.documentForUpdate(ctx, actor, id, up)
	if err != nil {
		return nil, err
	}
	if d.Trashed {
		return nil, Errorf(ECONFLICT, "Document is in the trash; restore it first.")
	}
	if err := s.requireOpen(ctx, d); err != nil {
		return nil, err
	}
	if up.MatterID != nil {
		if _, err := s.openMatter(ctx, actor, *up.MatterID); err != nil {
			return nil, err
		}
	}
	var events []AuditEvent
	repaired := false
	if up.Name != nil {
		ev := event(actor, ActDocumentRename, "document", d.ID)
		ev.Details["matter_id"] = d.MatterID
		if repaired = !d.Readable("name"); repaired {
			ev.Details["repaired"] = "name"
		}
		d.nameInto(ev.Private, "old_name")
		ev.Private["name"] = name
		events = append(events, ev)
		d.Name = name
		d.repaired("name")
	}
	if up.MatterID != nil {
		ev := event(actor, ActDocumentMove, "document", d.ID)
		ev.Details["matter_id"], ev.Details["to_matter_id"] = d.MatterID, *up.MatterID
		d.nameInto(ev.Private, "name")
		events = append(events, ev)
		d.MatterID = *up.MatterID
	}
	d, err = s.saveDocument(ctx, d, events...)
	if err == nil && repaired {
		s.forgetDamage(d.TenantID, "document", d.ID)
	}
	return d, err
}

// documentForUpdate loads a document for UpdateDocument: one the actor may
// edit, or, for a rename alone of a document whose name cannot be
// decrypted, one of an owner's or admin's firm in a matter no wall bars
// them from. Errors: not_found, forbidden.
func (s *Service) documentForUpdate(ctx context.Context, actor *User, id string, up DocumentUpdate) (*Document, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if !ValidID(PrefixDocument, id) {
		return nil, Errorf(ENOTFOUND, "Document not found.")
	}
	d, err := s.Store.Document(ctx, actor.TenantID, id)
	if err != nil {
		return nil, err
	}
	if up.Name == nil || up.MatterID != nil || !mayRepair(actor, d) {
		if _, err := s.authorize(ctx, actor, d, PermEdit); err != nil {
			return nil, err
		}
		return d, nil
	}
	walled, err := s.walled(ctx, actor.TenantID, d.MatterID, actor.ID)
	if err != nil {
		return nil, err
	}
	if walled {
		return nil, s.denial(ctx, actor, "document", d.ID, PermEdit, denied(PermEdit))
	}
	return d, nil
}

// saveDocument records events and then saves d.
func (s *Service) saveDocument(ctx context.Context, d *Document, events ...AuditEvent) (*Document, error) {
	d.UpdatedAt = s.now()
	if err := s.act(ctx, func() error { return s.Store.UpdateDocument(ctx, d) }, events...); err != nil {
		return nil, err
	}
	return d, nil
}

// TrashDocument moves a document to the trash: it leaves listings and its
// content cannot be opened until restored. Errors: not_found, forbidden,
// conflict (matter closed).
func (s *Service) TrashDocument(ctx context.Context, actor *User, id string) (*Document, error) {
	return s.updateDocument(ctx, actor, id, ActDocumentTrash, func(d *Document, _ *AuditEvent) error {
		if !d.Trashed {
			now := s.now()
			d.Trashed, d.TrashedAt = true, &now
		}
		return nil
	})
}

// RestoreDocument takes a document out of the trash. Errors: not_found,
// forbidden, conflict (matter closed).
func (s *Service) RestoreDocument(ctx context.Context, actor *User, id string) (*Document, error) {
	return s.updateDocument(ctx, actor, id, ActDocumentRestore, func(d *Document, _ *AuditEvent) error {
		d.Trashed, d.TrashedAt = false, nil
		return nil
	})
}

// updateDocument applies change to a document the actor may edit, records
// the action, and saves it.
func (s *Service) updateDocument(ctx context.Context, actor *User, id, action string, change func(*Document, *AuditEvent) error) (*Document, error) {
	d, err := s.accessDocument(ctx, actor, id, PermEdit)
	if err != nil {
		return nil, err
	}
	if err := s.requireOpen(ctx, d); err != nil {
		return nil, err
	}
	ev := event(actor, action, "document", d.ID)
	ev.Details["matter_id"] = d.MatterID
	d.nameInto(ev.Private, "name")
	if err := change(d, &ev); err != nil {
		return nil, err
	}
	return s.saveDocument(ctx, d, ev)
}
