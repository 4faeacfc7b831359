package vault

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Detection audit actions (docs/AUDIT-FORMAT.md).
const (
	ActAlertRaised       = "alert.raised"
	ActAlertAcknowledge  = "alert.acknowledge"
	ActAlertResolve      = "alert.resolve"
	ActDetectionSettings = "detection.settings"
	ActUserContain       = "user.contain"
	ActUserRelease       = "user.release"
)

// PrefixAlert is the id prefix of alerts.
const PrefixAlert = "alr"

// Alert statuses.
const (
	AlertOpen         = "open"
	AlertAcknowledged = "acknowledged"
	AlertResolved     = "resolved"
)

// Alert is one detection: a rule that fired, recorded as an alert.raised
// event (Seq) with the events that tripped it (Evidence). Only the
// resolution note is text a person wrote; it is sealed.
type Alert struct {
	ID             string     `json:"id"`
	TenantID       string     `json:"-"`
	Rule           string     `json:"rule"`
	UserID         string     `json:"user_id,omitempty"`
	TokenID        string     `json:"token_id,omitempty"`
	Status         string     `json:"status"`
	Seq            int64      `json:"seq"` // the alert.raised event
	Evidence       []int64    `json:"evidence"`
	Threshold      float64    `json:"threshold"`
	Observed       float64    `json:"observed"`
	Contained      bool       `json:"contained"`
	CreatedAt      time.Time  `json:"created_at"`
	AcknowledgedBy string     `json:"acknowledged_by,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	ResolvedBy     string     `json:"resolved_by,omitempty"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
	Note           string     `json:"note,omitempty"` // sealed
	Damage
}

// HourCount is how many views and downloads one user made in one hour
// (UTC, truncated), the baseline rule's memory.
type HourCount struct {
	UserID string
	Hour   time.Time
	Count  int
}

// Containment is a user's suspension by a rule: until released, none of
// their sessions or tokens is accepted and they cannot sign in.
type Containment struct {
	TenantID    string    `json:"-"`
	UserID      string    `json:"user_id"`
	AlertID     string    `json:"alert_id"`
	ContainedAt time.Time `json:"contained_at"`
}

// DetectionStore keeps alerts, detection settings, containments and the
// detector's counters. Implemented by sqlite.DB and cell.Router (by the
// firm's cell); the Service finds it by type assertion on Store.
type DetectionStore interface {
	// CreateAlert stores a. Errors: invalid, not_found (firm), internal.
	CreateAlert(ctx context.Context, a *Alert) error
	// Alert returns one alert of tenantID. Errors: not_found.
	Alert(ctx context.Context, tenantID, id string) (*Alert, error)
	// Alerts returns tenantID's alerts with status ("" for all), newest
	// first.
	Alerts(ctx context.Context, tenantID, status string) ([]*Alert, error)
	// UpdateAlert stores a's status, acknowledgement, resolution and note.
	// Errors: not_found.
	UpdateAlert(ctx context.Context, a *Alert) error
	// DetectionSettings returns tenantID's stored settings, and false when
	// it has none.
	DetectionSettings(ctx context.Context, tenantID string) (DetectionSettings, bool, error)
	// SetDetectionSettings stores tenantID's settings.
	SetDetectionSettings(ctx context.Context, tenantID string, st DetectionSettings, at time.Time) error
	// Contain records c; containing a contained user keeps the first.
	Contain(ctx context.Context, c Containment) error
	// Release ends a user's containment. Errors: not_found (not contained).
	Release(ctx context.Context, tenantID, userID string) error
	// Containment returns a user's containment. Errors: not_found.
	Containment(ctx context.Context, tenantID, userID string) (*Containment, error)
	// HourlyCounts returns tenantID's hourly counts from since on.
	HourlyCounts(ctx context.Context, tenantID string, since time.Time) ([]HourCount, error)
	// AddHourlyCounts adds counts to tenantID's stored hourly counts.
	AddHourlyCounts(ctx context.Context, tenantID string, counts []HourCount) error
	// TokenSources returns the keyed hashes of the sources each of
	// tenantID's API tokens was used from, by token id.
	TokenSources(ctx context.Context, tenantID string) (map[string][][]byte, error)
	// AddTokenSources notes that tokens were used from sources (hashes).
	AddTokenSources(ctx context.Context, tenantID string, sources []TokenSource) error
}

// TokenSource is one keyed hash of a source an API token was used from.
type TokenSource struct {
	TokenID string
	Hash    []byte
	At      time.Time
}

// IndexTokenSource is the Indexer purpose of a token's sources: the token
// id, a zero byte and the normalised source.
const IndexTokenSource = "token_source"

// detectionStore returns the store's DetectionStore. Errors: unavailable.
func (s *Service) detectionStore() (DetectionStore, error) {
	ds, ok := s.Store.(DetectionStore)
	if !ok {
		return nil, Errorf(EUNAVAILABLE, "Breach detection is not available on this server's store.")
	}
	return ds, nil
}

// TokenSourceHash is the keyed hash by which the detector remembers the
// sources an API token was used from: the source is never kept in the
// clear. Errors: not_found (firm), as Indexer.Index.
func (s *Service) TokenSourceHash(ctx context.Context, tenantID, tokenID, source string) ([]byte, error) {
	region, err := s.tenantRegion(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return s.Indexer.Index(ctx, region, IndexTokenSource, tokenID+"\x00"+NormalizeSource(source))
}

// raiseAlert records f as an alert.raised event, stores the alert,
// contains its user when f asks for it, and tells the Notifier. It runs
// inside the append of the event that tripped the rule; its failures are
// logged, never returned: that event is on record already.
func (s *Service) raiseAlert(ctx context.Context, f Finding) {
	ds, err := s.detectionStore()
	if err != nil {
		s.Log.Error().Err(err).Str("tenant_id", f.TenantID).Str("rule", f.Rule).Msg("alert not stored")
		return
	}
	a := &Alert{ID: NewID(PrefixAlert), TenantID: f.TenantID, Rule: f.Rule, UserID: f.UserID, TokenID: f.TokenID,
		Status: AlertOpen, Evidence: f.Evidence, Threshold: f.Threshold, Observed: f.Observed, CreatedAt: s.now()}
	ev := operatorEvent(f.TenantID, ActAlertRaised, "alert", a.ID)
	ev.ActorID = "" // the service itself
	ev.Details["rule"] = f.Rule
	if f.UserID != "" {
		ev.Details["user_id"] = f.UserID
	}
	if f.TokenID != "" {
		ev.Details["token_id"] = f.TokenID
	}
	ev.Details["evidence"] = formatSeqs(f.Evidence)
	ev.Details["threshold"] = strconv.FormatFloat(f.Threshold, 'f', -1, 64)
	ev.Details["observed"] = strconv.FormatFloat(f.Observed, 'f', -1, 64)
	seq, err := s.record(ctx, ev)
	if err != nil {
		return // logged by record
	}
	a.Seq = seq
	if err := ds.CreateAlert(ctx, a); err != nil {
		s.Log.Error().Err(err).Str("tenant_id", f.TenantID).Str("alert_id", a.ID).Msg("alert recorded but not stored")
		return
	}
	s.Log.Warn().Str("tenant_id", f.TenantID).Str("alert_id", a.ID).Str("rule", f.Rule).Int64("seq", seq).Msg("alert raised")
	s.notify(ctx, Notice{TenantID: f.TenantID, Kind: NoticeAlertRaised, ObjectID: a.ID, Seq: seq, Rule: f.Rule,
		Severity: "warning", Path: "/settings/security/alerts/" + a.ID})
	if f.Contain && f.UserID != "" {
		s.containUser(ctx, ds, a)
	}
}

// formatSeqs renders sequence numbers as "1,2,3".
func formatSeqs(seqs []int64) string {
	parts := make([]string, len(seqs))
	for i, q := range seqs {
		parts[i] = strconv.FormatInt(q, 10)
	}
	return strings.Join(parts, ",")
}

// canReadAlerts: owners, admins and auditors read alerts.
func canReadAlerts(r Role) bool { return r == RoleOwner || r == RoleAdmin || r == RoleAuditor }

// alertReader checks that actor may read alerts. Errors: unauthorized,
// forbidden.
func alertReader(actor *User) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if !canReadAlerts(actor.Role) {
		return Errorf(EFORBIDDEN, "Only owners, admins and auditors see alerts.")
	}
	return nil
}

// Alerts returns the actor's firm's alerts with status ("" for all),
// newest first. Errors: unauthorized, forbidden, invalid (status),
// unavailable.
func (s *Service) Alerts(ctx context.Context, actor *User, status string) ([]*Alert, error) {
	if err := alertReader(actor); err != nil {
		return nil, err
	}
	switch status {
	case "", AlertOpen, AlertAcknowledged, AlertResolved:
	default:
		return nil, Errorf(EINVALID, "Status must be open, acknowledged or resolved.")
	}
	ds, err := s.detectionStore()
	if err != nil {
		return nil, err
	}
	as, err := ds.Alerts(ctx, actor.TenantID, status)
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		s.reportDamage(ctx, actor, "alert", a.ID, "", &a.Damage)
	}
	if as == nil {
		as = []*Alert{}
	}
	return as, nil
}

// Alert returns one alert of the actor's firm; another firm's is
// not_found. Errors: unauthorized, forbidden, not_found, unavailable.
func (s *Service) Alert(ctx context.Context, actor *User, id string) (*Alert, error) {
	if err := alertReader(actor); err != nil {
		return nil, err
	}
	ds, err := s.detectionStore()
	if err != nil {
		return nil, err
	}
	if !ValidID(PrefixAlert, id) {
		return nil, Errorf(ENOTFOUND, "Alert not found.")
	}
	a, err := ds.Alert(ctx, actor.TenantID, id)
	if err != nil {
		return nil, err
	}
	s.reportDamage(ctx, actor, "alert", a.ID, "", &a.Damage)
	return a, nil
}

// alertChanger returns the alert id of the actor's firm that an owner or
// admin may change. Errors: unauthorized, forbidden (auditors read only,
// lawyers see nothing), not_found.
func (s *Service) alertChanger(ctx context.Context, actor *User, id string) (DetectionStore, *Alert, error) {
	if err := alertReader(actor); err != nil {
		return nil, nil, err
	}
	if !canAdminister(actor.Role) {
		return nil, nil, Errorf(EFORBIDDEN, "Only owners and admins acknowledge or resolve alerts.")
	}
	a, err := s.Alert(ctx, actor, id)
	if err != nil {
		return nil, nil, err
	}
	ds, err := s.detectionStore()
	return ds, a, err
}

// AcknowledgeAlert marks an open alert acknowledged: someone is looking.
// Errors: unauthorized, forbidden, not_found, conflict (not open),
// unavailable.
func (s *Service) AcknowledgeAlert(ctx context.Context, actor *User, id string) (*Alert, error) {
	ds, a, err := s.alertChanger(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if a.Status != AlertOpen {
		return nil, Errorf(ECONFLICT, "The alert is %s, not open.", a.Status)
	}
	now := s.now()
	a.Status, a.AcknowledgedBy, a.AcknowledgedAt = AlertAcknowledged, actor.ID, &now
	ev := event(actor, ActAlertAcknowledge, "alert", a.ID)
	ev.Details["rule"] = a.Rule
	if err := s.act(ctx, func() error { return ds.UpdateAlert(ctx, a) }, ev); err != nil {
		return nil, err
	}
	return a, nil
}

// ResolveAlert closes an alert with a note (sealed; required).
// Errors: unauthorized, forbidden, not_found, invalid (note), conflict
// (already resolved), unavailable.
func (s *Service) ResolveAlert(ctx context.Context, actor *User, id, note string) (*Alert, error) {
	ds, a, err := s.alertChanger(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	note = strings.TrimSpace(note)
	if note == "" || len(note) > 4000 {
		return nil, Errorf(EINVALID, "A resolution note of 1 to 4000 characters is required.")
	}
	if a.Status == AlertResolved {
		return nil, Errorf(ECONFLICT, "The alert is resolved already.")
	}
	now := s.now()
	a.Status, a.ResolvedBy, a.ResolvedAt, a.Note = AlertResolved, actor.ID, &now, note
	ev := event(actor, ActAlertResolve, "alert", a.ID)
	ev.Details["rule"] = a.Rule
	ev.Private["note"] = note
	if err := s.act(ctx, func() error { return ds.UpdateAlert(ctx, a) }, ev); err != nil {
		return nil, err
	}
	return a, nil
}
