package vault

import (
	"context"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Breach-register audit actions (issue #15, item 4).
const (
	ActBreachCreate = "breach.create" // an incident was entered
	ActBreachUpdate = "breach.update" // an entry changed (details: the names of the fields, never their contents)
	ActBreachExport = "breach.export" // the register was exported (CSV or PDF)
	ActBreachDelete = "breach.delete" // an entry was deleted, or the deletion refused (denied, error retention)
)

// PrefixBreach starts the ids of breach-register entries.
const PrefixBreach = "brc"

// BreachRetention is how long a breach-register entry must be kept after
// it was created: PIPEDA's breach of security safeguards regulations keep
// every record 24 months.
const BreachRetention = 24 // months

// Breach statuses.
const (
	BreachOpen   = "open"
	BreachClosed = "closed"
)

// Breach is one entry of a firm's breach register. Description and
// RiskAssessment (and whether it finds a real risk of significant harm)
// are sealed with the firm's field key; the rest is ids and times.
type Breach struct {
	ID       string `json:"id"`
	TenantID string `json:"-"`
	// AlertID is the alert the entry was made from ("" by hand); an id
	// only, not checked against the alerts.
	AlertID     string   `json:"alert_id"`
	Description string   `json:"description"`
	MatterIDs   []string `json:"matter_ids"`
	UserIDs     []string `json:"user_ids"`
	// RealRisk says whether the assessment finds a real risk of
	// significant harm (PIPEDA s. 10.1).
	RealRisk       bool   `json:"real_risk_of_significant_harm"`
	RiskAssessment string `json:"risk_assessment"`
	Status         string `json:"status"`
	// When the regulator, the clients and the individuals were notified;
	// nil: not (yet).
	RegulatorNotifiedAt   *time.Time `json:"regulator_notified_at"`
	ClientsNotifiedAt     *time.Time `json:"clients_notified_at"`
	IndividualsNotifiedAt *time.Time `json:"individuals_notified_at"`
	CreatedBy             string     `json:"created_by"`
	CreatedAt             time.Time  `json:"created_at"`
	UpdatedBy             string     `json:"updated_by"`
	UpdatedAt             time.Time  `json:"updated_at"`
	Damage
}

// BreachChange is what a create or an update sets: nil fields are left as
// they are (on create: empty). A notification time that points to the
// zero time clears it.
type BreachChange struct {
	AlertID               *string
	Description           *string
	MatterIDs             *[]string
	UserIDs               *[]string
	RealRisk              *bool
	RiskAssessment        *string
	Status                *string
	RegulatorNotifiedAt   *time.Time
	ClientsNotifiedAt     *time.Time
	IndividualsNotifiedAt *time.Time
}

// BreachStore keeps firms' breach registers. Implemented by vault/sqlite,
// which seals the description and assessment; vault/cell routes it to the
// firm's cell.
type BreachStore interface {
	// Breaches returns tenantID's entries, oldest first. Errors: unavailable.
	Breaches(ctx context.Context, tenantID string) ([]*Breach, error)
	// Breach returns one entry. Errors: not_found.
	Breach(ctx context.Context, tenantID, id string) (*Breach, error)
	// PutBreach creates or replaces b (with its subjects).
	// Errors: invalid, not_found (tenant).
	PutBreach(ctx context.Context, b *Breach) error
	// DeleteBreach removes an entry. Errors: not_found.
	DeleteBreach(ctx context.Context, tenantID, id string) error
}

// breachStore returns the store's BreachStore. Errors: unavailable.
func (s *Service) breachStore() (BreachStore, error) {
	bs, ok := s.Store.(BreachStore)
	if !ok {
		return nil, Errorf(EUNAVAILABLE, "The breach register is not supported by this store.")
	}
	return bs, nil
}

func canReadBreaches(r Role) bool  { return r == RoleOwner || r == RoleAdmin || r == RoleAuditor }
func canWriteBreaches(r Role) bool { return r == RoleOwner || r == RoleAdmin }

// checkBreachAccess allows readers (owners, admins, auditors) or, when
// write, writers (owners, admins).
func checkBreachAccess(actor *User, write bool) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if write && !canWriteBreaches(actor.Role) {
		return Errorf(EFORBIDDEN, "Only owners and admins can change the breach register.")
	}
	if !canReadBreaches(actor.Role) {
		return Errorf(EFORBIDDEN, "Only owners, admins and auditors can see the breach register.")
	}
	return nil
}

// Breaches returns the firm's breach register, oldest first, for owners,
// admins and auditors. Errors: unauthorized, forbidden, unavailable.
func (s *Service) Breaches(ctx context.Context, actor *User) ([]*Breach, error) {
	if err := checkBreachAccess(actor, false); err != nil {
		return nil, err
	}
	bs, err := s.breachStore()
	if err != nil {
		return nil, err
	}
	return bs.Breaches(ctx, actor.TenantID)
}

// Breach returns one entry of the firm's register. Errors: unauthorized,
// forbidden, not_found (another firm's too), unavailable.
func (s *Service) Breach(ctx context.Context, actor *User, id string) (*Breach, error) {
	if err := checkBreachAccess(actor, false); err != nil {
		return nil, err
	}
	bs, err := s.breachStore()
	if err != nil {
		return nil, err
	}
	return bs.Breach(ctx, actor.TenantID, id)
}

// CreateBreach enters an incident in the firm's register, for owners and
// admins: a description is required; affected matters and users must be
// the firm's. breach.create is recorded (with the names of the fields
// given) before the entry is stored; the firm's channels are then told.
// Errors: unauthorized, forbidden, invalid, unavailable.
func (s *Service) CreateBreach(ctx context.Context, actor *User, ch BreachChange) (*Breach, error) {
	if err := checkBreachAccess(actor, true); err != nil {
		return nil, err
	}
	bs, err := s.breachStore()
	if err != nil {
		return nil, err
	}
	now := s.now()
	b := &Breach{ID: NewID(PrefixBreach), TenantID: actor.TenantID, Status: BreachOpen, MatterIDs: []string{}, UserIDs: []string{},
		CreatedBy: actor.ID, CreatedAt: now, UpdatedBy: actor.ID, UpdatedAt: now}
	fields, err := s.applyBreachChange(ctx, actor.TenantID, b, ch)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(b.Description) == "" {
		return nil, Errorf(EINVALID, "A description of the incident is required.")
	}
	ev := event(actor, ActBreachCreate, "breach", b.ID)
	ev.Details["fields"] = strings.Join(fields, ",")
	if b.AlertID != "" {
		ev.Details["alert_id"] = b.AlertID
	}
	return b, s.storeBreach(ctx, bs, b, ev, NoticeBreachCreated)
}

// UpdateBreach changes an entry of the firm's register, for owners and
// admins. breach.update is recorded with the names of the fields that
// change (never their contents) before the change is stored; a change
// that changes nothing records nothing. Errors: unauthorized, forbidden,
// not_found, invalid, unavailable.
func (s *Service) UpdateBreach(ctx context.Context, actor *User, id string, ch BreachChange) (*Breach, error) {
	if err := checkBreachAccess(actor, true); err != nil {
		return nil, err
	}
	bs, err := s.breachStore()
	if err != nil {
		return nil, err
	}
	b, err := bs.Breach(ctx, actor.TenantID, id)
	if err != nil {
		return nil, err
	}
	if b.Damaged() {
		return nil, Errorf(ECANNOTDECRYPT, "This entry's sealed fields cannot be opened, so it cannot be changed.")
	}
	fields, err := s.applyBreachChange(ctx, actor.TenantID, b, ch)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(b.Description) == "" {
		return nil, Errorf(EINVALID, "A description of the incident is required.")
	}
	if len(fields) == 0 {
		return b, nil
	}
	b.UpdatedBy, b.UpdatedAt = actor.ID, s.now()
	ev := event(actor, ActBreachUpdate, "breach", b.ID)
	ev.Details["fields"] = strings.Join(fields, ",")
	return b, s.storeBreach(ctx, bs, b, ev, NoticeBreachUpdated)
}

// storeBreach records ev, stores b and then tells the firm's channels.
func (s *Service) storeBreach(ctx context.Context, bs BreachStore, b *Breach, ev AuditEvent, kind string) error {
	ev.Time = b.UpdatedAt
	seq, err := s.record(ctx, ev)
	if err != nil {
		return err
	}
	if err := bs.PutBreach(ctx, b); err != nil {
		s.recordFailure(ctx, ev, seq, err)
		return err
	}
	s.notify(ctx, Notice{TenantID: b.TenantID, Kind: kind, ObjectID: b.ID, Seq: seq, Severity: "warning",
		Time: b.UpdatedAt, Path: "/settings/security/breaches/" + b.ID})
	return nil
}

// applyBreachChange applies ch to b and returns the names (JSON field
// names) of the fields it changed, sorted. Matters and users are checked
// to be the firm's (invalid otherwise).
func (s *Service) applyBreachChange(ctx context.Context, tenantID string, b *Breach, ch BreachChange) ([]string, error) {
	var fields []string
	setStr := func(name string, dst *string, v *string, max int) error {
		if v == nil || *v == *dst {
			return nil
		}
		if len(*v) > max {
			return Errorf(EINVALID, "%s is longer than %d bytes.", name, max)
		}
		*dst = *v
		fields = append(fields, name)
		return nil
	}
	if err := setStr("alert_id", &b.AlertID, ch.AlertID, 100); err != nil {
		return nil, err
	}
	if err := setStr("description", &b.Description, ch.Description, 64<<10); err != nil {
		return nil, err
	}
	if err := setStr("risk_assessment", &b.RiskAssessment, ch.RiskAssessment, 64<<10); err != nil {
		return nil, err
	}
	if ch.Status != nil && *ch.Status != b.Status {
		if *ch.Status != BreachOpen && *ch.Status != BreachClosed {
			return nil, Errorf(EINVALID, "status must be open or closed.")
		}
		b.Status = *ch.Status
		fields = append(fields, "status")
	}
	if ch.RealRisk != nil && *ch.RealRisk != b.RealRisk {
		b.RealRisk = *ch.RealRisk
		fields = append(fields, "real_risk_of_significant_harm")
	}
	for _, t := range []struct {
		name string
		dst  **time.Time
		v    *time.Time
	}{
		{"regulator_notified_at", &b.RegulatorNotifiedAt, ch.RegulatorNotifiedAt},
		{"clients_notified_at", &b.ClientsNotifiedAt, ch.ClientsNotifiedAt},
		{"individuals_notified_at", &b.IndividualsNotifiedAt, ch.IndividualsNotifiedAt},
	} {
		if t.v == nil {
			continue
		}
		var next *time.Time
		if !t.v.IsZero() {
			u := t.v.UTC()
			next = &u
		}
		if (next == nil) == (*t.dst == nil) && (next == nil || next.Equal(**t.dst)) {
			continue
		}
		*t.dst = next
		fields = append(fields, t.name)
	}
	for _, l := range []struct {
		name string
		dst  *[]string
		v    *[]string
		kind string
	}{{"matter_ids", &b.MatterIDs, ch.MatterIDs, "matter"}, {"user_ids", &b.UserIDs, ch.UserIDs, "user"}} {
		if l.v == nil {
			continue
		}
		ids := slices.Clone(*l.v)
		sort.Strings(ids)
		ids = slices.Compact(ids)
		if len(ids) > 1000 {
			return nil, Errorf(EINVALID, "At most 1000 %ss per entry.", l.kind)
		}
		if slices.Equal(ids, *l.dst) {
			continue
		}
		for _, id := range ids {
			var err error
			if l.kind == "matter" {
				_, err = s.Store.Matter(ctx, tenantID, id)
			} else {
				_, err = s.Store.User(ctx, tenantID, id)
			}
			if IsCode(err, ENOTFOUND) {
				return nil, Errorf(EINVALID, "Affected %s %q is not one of this firm's.", l.kind, id)
			} else if err != nil {
				return nil, err
			}
		}
		*l.dst = ids
		fields = append(fields, l.name)
	}
	sort.Strings(fields)
	return fields, nil
}

// ExportBreaches returns the firm's whole register for an export in format
// ("csv" or "pdf"), for owners, admins and auditors, once breach.export is
// on record. Errors: unauthorized, forbidden, invalid, unavailable.
func (s *Service) ExportBreaches(ctx context.Context, actor *User, format string) ([]*Breach, error) {
	if err := checkBreachAccess(actor, false); err != nil {
		return nil, err
	}
	if format != "csv" && format != "pdf" {
		return nil, Errorf(EINVALID, "format must be csv or pdf.")
	}
	bs, err := s.breachStore()
	if err != nil {
		return nil, err
	}
	list, err := bs.Breaches(ctx, actor.TenantID)
	if err != nil {
		return nil, err
	}
	ev := event(actor, ActBreachExport, "breach_register", actor.TenantID)
	ev.Details["format"], ev.Details["entries"] = format, strconv.Itoa(len(list))
	if _, err := s.record(ctx, ev); err != nil {
		return nil, err
	}
	return list, nil
}

// DeleteBreach deletes an entry, for owners and admins, once it is at
// least BreachRetention months old; before that the deletion is refused
// (code retention) and the refusal recorded (breach.delete, denied). The
// deletion itself is recorded before it takes effect. Errors:
// unauthorized, forbidden, not_found, retention, unavailable.
func (s *Service) DeleteBreach(ctx context.Context, actor *User, id string) error {
	if err := checkBreachAccess(actor, true); err != nil {
		return err
	}
	bs, err := s.breachStore()
	if err != nil {
		return err
	}
	b, err := bs.Breach(ctx, actor.TenantID, id)
	if err != nil {
		return err
	}
	ev := event(actor, ActBreachDelete, "breach", b.ID)
	keepUntil := b.CreatedAt.AddDate(0, BreachRetention, 0)
	if s.now().Before(keepUntil) {
		ev.Outcome = OutcomeDenied
		ev.Details["error"] = ERETENTION
		ev.Details["keep_until"] = keepUntil.Format(time.RFC3339)
		if _, err := s.record(ctx, ev); err != nil {
			return err
		}
		return Errorf(ERETENTION, "Breach-register entries are kept %d months: this one may be deleted from %s.",
			BreachRetention, keepUntil.Format("2 January 2006"))
	}
	return s.act(ctx, func() error { return bs.DeleteBreach(ctx, actor.TenantID, b.ID) }, ev)
}
