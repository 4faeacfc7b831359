package vault

import (
	"context"
	"strconv"
)

// ActBackupDrill records a restore drill of the firm's region in the
// firm's log: the drill restored the region's latest backup into a
// temporary directory inside the region, checked it and deleted it.
const ActBackupDrill = "backup.drill"

// RecordDrill writes the outcome of a restore drill of region into the
// log of each firm the region serves, as the operator's backup.drill
// event (details: drill_id, ok, record_sha256, and rpo_ms and rto_ms when it
// passed, failure when it did not (outcome error)). recordSHA256 is the hex SHA-256 of the signed drill record. It
// returns how many firms' logs hold the event. A failed drill is also
// a notice (backup.drill) to each firm's channels, once its event is on
// record. Errors: unavailable (a log
// could not be written: the firms before it hold the event, the rest do
// not).
func (s *Service) RecordDrill(ctx context.Context, region string, d DrillSummary, recordSHA256 string) (int, error) {
	tenants, err := s.Store.Tenants(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range tenants {
		if t.Region != region {
			continue
		}
		ev := operatorEvent(t.ID, ActBackupDrill, "region", region)
		ev.Details["drill_id"] = d.ID
		ev.Details["ok"] = strconv.FormatBool(d.OK)
		ev.Details["record_sha256"] = recordSHA256
		if d.OK {
			ev.Details["rpo_ms"] = strconv.FormatInt(d.RPO.Milliseconds(), 10)
			ev.Details["rto_ms"] = strconv.FormatInt(d.RTO.Milliseconds(), 10)
		} else {
			ev.Outcome = OutcomeError
			ev.Details["failure"] = truncate(d.Failure, 200)
		}
		seq, err := s.record(ctx, ev)
		if err != nil {
			return n, err
		}
		n++
		if !d.OK {
			s.notify(ctx, Notice{TenantID: t.ID, Kind: NoticeDrillFailed, ObjectID: d.ID, Seq: seq,
				Rule: "restore_drill", Severity: "critical", Path: "/durability"})
		}
	}
	return n, nil
}

// DurabilityRegion returns the region whose durability figures actor may
// read (GET /api/v1/durability): their firm's, for owners and auditors.
// Errors: unauthorized, forbidden (admins and lawyers), not_found.
func (s *Service) DurabilityRegion(ctx context.Context, actor *User) (string, error) {
	if err := checkActor(actor); err != nil {
		return "", err
	}
	if actor.Role != RoleOwner && actor.Role != RoleAuditor {
		return "", Errorf(EFORBIDDEN, "Only owners and auditors can see the firm's backups and restore drills.")
	}
	return s.tenantRegion(ctx, actor.TenantID)
}
