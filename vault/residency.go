package vault

import "context"

// ResidencyReport returns the actor's firm's residency report, signed by
// its region's audit key (docs/RESIDENCY.md), for owners, admins and
// auditors; the reading is recorded first (audit.read, read=residency).
// Errors: unauthorized, forbidden, unavailable (not configured, or the
// report could not be made), conflict (a scan found something of the firm
// in another cell: the report is refused, never signed).
func (s *Service) ResidencyReport(ctx context.Context, actor *User) ([]byte, error) {
	if err := s.auditReader(actor); err != nil {
		return nil, err
	}
	if s.Residency == nil {
		return nil, Errorf(EUNAVAILABLE, "Residency reports are not configured.")
	}
	ev := event(actor, ActAuditRead, "audit", actor.TenantID)
	ev.Details["read"] = "residency"
	if _, err := s.record(ctx, ev); err != nil {
		return nil, err
	}
	b, err := s.Residency(ctx, actor.TenantID)
	if err != nil {
		if IsCode(err, ECONFLICT) {
			// The scan's hits name paths and the firm's own identifiers
			// (emails): neither the log nor the answer repeats them; the
			// operator sees them with `casevault tenant residency`.
			s.Log.Error().Str("tenant_id", actor.TenantID).Msg("residency report refused: a scan found the firm in another cell; run casevault tenant residency for the details")
			return nil, Errorf(ECONFLICT, "The residency report was refused: a scan found data of this firm in another region's cell. The operator has been told.")
		}
		return nil, err
	}
	return b, nil
}
