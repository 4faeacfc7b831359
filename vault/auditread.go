package vault

import (
	"context"
	"io"
	"strconv"
)

// MaxAuditPage is the most events one AuditEvents call returns.
const MaxAuditPage = 1000

// canReadAudit reports whether the role may read the firm's audit log.
func canReadAudit(r Role) bool { return r == RoleOwner || r == RoleAdmin || r == RoleAuditor }

// auditReader checks that actor may read the audit log and that one is
// configured.
func (s *Service) auditReader(actor *User) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if !canReadAudit(actor.Role) {
		return Errorf(EFORBIDDEN, "Only owners, admins and auditors can read the audit log.")
	}
	if s.AuditReader == nil {
		return Errorf(EUNAVAILABLE, "The audit log is not configured.")
	}
	return nil
}

// checkAuditFilter makes the ids in f name objects of the actor's firm, so
// another firm's id is not_found like a missing one.
func (s *Service) checkAuditFilter(ctx context.Context, actor *User, f AuditFilter) error {
	if f.ActorID != "" && f.ActorID != ActorOperator {
		if !ValidID(PrefixUser, f.ActorID) {
			return Errorf(ENOTFOUND, "User not found.")
		}
		if _, err := s.Store.User(ctx, actor.TenantID, f.ActorID); err != nil {
			return err
		}
	}
	if f.MatterID != "" {
		if _, err := s.loadGrantObject(ctx, actor, "", f.MatterID); err != nil {
			return err
		}
	}
	if f.ObjectType == "document" && f.ObjectID != "" {
		if _, err := s.loadGrantObject(ctx, actor, f.ObjectID, ""); err != nil {
			return err
		}
	}
	return nil
}

// filterDetails describes f for the audit.read and audit.export events.
func filterDetails(ev *AuditEvent, f AuditFilter) {
	for k, v := range map[string]string{
		"actor_id": f.ActorID, "object_type": f.ObjectType, "object_id": f.ObjectID, "matter_id": f.MatterID,
		"action": f.Action, "outcome": f.Outcome,
	} {
		if v != "" {
			ev.Details["filter_"+k] = v
		}
	}
	// Times in the layout of the leaf (audit.TimeLayout), as a bundle
	// header's filter states them: a bundle's header is checked against its
	// audit.export event member by member.
	const layout = "2006-01-02T15:04:05.000000000Z"
	if !f.From.IsZero() {
		ev.Details["filter_from"] = f.From.UTC().Format(layout)
	}
	if !f.To.IsZero() {
		ev.Details["filter_to"] = f.To.UTC().Format(layout)
	}
	if f.AfterSeq > 0 {
		ev.Details["after_seq"] = strconv.FormatInt(f.AfterSeq, 10)
	}
}

// AuditEvents returns one page of the actor's firm's audit events matching
// f (at most f.Limit, at most MaxAuditPage) and the cursor of the next page
// (0 when there is none). Reading the log is itself recorded first.
// Owners, admins and auditors may. Errors: unauthorized, forbidden,
// not_found (an id in f), unavailable.
func (s *Service) AuditEvents(ctx context.Context, actor *User, f AuditFilter) ([]*AuditRecord, int64, error) {
	if err := s.auditReader(actor); err != nil {
		return nil, 0, err
	}
	if err := s.checkAuditFilter(ctx, actor, f); err != nil {
		return nil, 0, err
	}
	if f.Limit <= 0 || f.Limit > MaxAuditPage {
		f.Limit = MaxAuditPage
	}
	var err error
	if f.Withhold, err = s.walledMatters(ctx, actor); err != nil {
		return nil, 0, err
	}
	ev := event(actor, ActAuditRead, "audit", actor.TenantID)
	filterDetails(&ev, f)
	if _, err := s.record(ctx, ev); err != nil {
		return nil, 0, err
	}
	want := f.Limit
	f.Limit++ // one more tells whether there is a next page
	var out []*AuditRecord
	err = s.AuditReader.Events(ctx, actor.TenantID, f, func(r *AuditRecord) error {
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(out) > want {
		out = out[:want]
		next = out[want-1].Seq
	}
	if out == nil {
		out = []*AuditRecord{}
	}
	return out, next, nil
}

// ExportAudit writes the actor's firm's audit events matching f to w in
// format (jsonl: the verifiable bundle, csv or pdf), streaming. The export
// is recorded first, with a new export id, the format and the filter in its
// details and the export's time as its time, so it is in the log it
// exports: a bundle covers the log up to that event and ends with it
// (docs/AUDIT-FORMAT.md). Errors: unauthorized,
// forbidden, invalid (format), not_found (an id in f), unavailable.
func (s *Service) ExportAudit(ctx context.Context, actor *User, format string, f AuditFilter, w io.Writer) error {
	if err := s.auditReader(actor); err != nil {
		return err
	}
	switch format {
	case AuditFormatJSONL, AuditFormatCSV, AuditFormatPDF:
	default:
		return Errorf(EINVALID, "Unknown export format %q: use jsonl, csv or pdf.", truncate(format, 20))
	}
	if err := s.checkAuditFilter(ctx, actor, f); err != nil {
		return err
	}
	var err error
	if f.Withhold, err = s.walledMatters(ctx, actor); err != nil {
		return err
	}
	ev := event(actor, ActAuditExport, "audit", actor.TenantID)
	ev.Time = s.now()
	x := AuditExport{ID: NewID(PrefixExport), Time: ev.Time}
	if format == AuditFormatPDF {
		if t, err := s.Tenant(ctx, actor.TenantID); err == nil {
			x.Firm = t.Name
		}
	}
	ev.Details["format"] = format
	ev.Details["export_id"] = x.ID
	filterDetails(&ev, f)
	if f.Limit > 0 {
		ev.Details["filter_limit"] = strconv.Itoa(f.Limit)
	}
	if x.Seq, err = s.record(ctx, ev); err != nil {
		return err
	}
	return s.AuditReader.Export(ctx, actor.TenantID, format, f, x, w)
}

// AuditCheckpoint returns the latest signed checkpoint of the actor's
// firm's log; the read is recorded first, so the checkpoint covers it.
// Errors: unauthorized, forbidden, unavailable.
func (s *Service) AuditCheckpoint(ctx context.Context, actor *User) (*AuditCheckpoint, error) {
	if err := s.auditReader(actor); err != nil {
		return nil, err
	}
	ev := event(actor, ActAuditRead, "audit", actor.TenantID)
	ev.Details["read"] = "checkpoint"
	if _, err := s.record(ctx, ev); err != nil {
		return nil, err
	}
	return s.AuditReader.Checkpoint(ctx, actor.TenantID)
}

// AuditKeys returns every verifier key of the region of the actor's firm,
// current and retired, with its validity, and those of the regions it
// moved from, so that an auditor can check bundles spanning a key rotation
// or a move. The read is recorded first. Errors:
// unauthorized, forbidden, unavailable.
func (s *Service) AuditKeys(ctx context.Context, actor *User) ([]AuditKey, error) {
	if err := s.auditReader(actor); err != nil {
		return nil, err
	}
	ev := event(actor, ActAuditRead, "audit", actor.TenantID)
	ev.Details["read"] = "keys"
	if _, err := s.record(ctx, ev); err != nil {
		return nil, err
	}
	return s.AuditReader.Keys(ctx, actor.TenantID)
}

// AuditProof returns the inclusion proof of event seq of the actor's firm's
// log against the latest checkpoint. Errors: unauthorized, forbidden,
// not_found, unavailable.
func (s *Service) AuditProof(ctx context.Context, actor *User, seq int64) (*AuditProof, error) {
	if err := s.auditReader(actor); err != nil {
		return nil, err
	}
	if seq < 1 {
		return nil, Errorf(ENOTFOUND, "Event not found.")
	}
	ev := event(actor, ActAuditRead, "audit", actor.TenantID)
	ev.Details["read"], ev.Details["seq"] = "proof", strconv.FormatInt(seq, 10)
	if _, err := s.record(ctx, ev); err != nil {
		return nil, err
	}
	return s.AuditReader.Prove(ctx, actor.TenantID, seq)
}

// AuditConsistency returns the consistency proof of the actor's firm's log
// from tree size from to tree size to (0: the latest checkpoint's). The
// read is recorded first. Errors: unauthorized, forbidden, invalid,
// not_found, unavailable.
func (s *Service) AuditConsistency(ctx context.Context, actor *User, from, to int64) (*AuditConsistency, error) {
	if err := s.auditReader(actor); err != nil {
		return nil, err
	}
	if from < 1 || to < 0 || (to > 0 && from > to) {
		return nil, Errorf(EINVALID, "Tree sizes must satisfy 1 ≤ from ≤ to.")
	}
	ev := event(actor, ActAuditRead, "audit", actor.TenantID)
	ev.Details["read"], ev.Details["from"] = "consistency", strconv.FormatInt(from, 10)
	if to > 0 {
		ev.Details["to"] = strconv.FormatInt(to, 10)
	}
	if _, err := s.record(ctx, ev); err != nil {
		return nil, err
	}
	return s.AuditReader.Consistency(ctx, actor.TenantID, from, to)
}
