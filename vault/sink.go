package vault

import (
	"context"
	"time"
)

// Audit actions of a firm's checkpoint sink.
const (
	ActAuditSinkSet     = "audit.sink_set"
	ActAuditSinkRemoved = "audit.sink_removed"
)

// PrefixSink starts the ids of audit sinks.
const PrefixSink = "snk"

// Kinds of checkpoint sink.
const (
	SinkS3      = "s3"      // an S3-compatible bucket of the firm's
	SinkWebhook = "webhook" // an HTTPS endpoint of the firm's, POSTed to
)

// AuditSinkConfig is where a firm's checkpoints go: an S3-compatible bucket
// (Endpoint, Bucket, Prefix, Region, AccessKeyID, SecretAccessKey) or a
// webhook (URL, Token). It is stored sealed with the firm's field key; the
// secrets never leave the server again and are never in an audit leaf.
type AuditSinkConfig struct {
	Kind string `json:"kind"`

	// Endpoint is https://host[:port] (http:// only to a loopback address).
	Endpoint        string `json:"endpoint,omitempty"`
	Bucket          string `json:"bucket,omitempty"`
	Prefix          string `json:"prefix,omitempty"`
	Region          string `json:"region,omitempty"`
	AccessKeyID     string `json:"access_key_id,omitempty"`
	SecretAccessKey string `json:"secret_access_key,omitempty"`

	// URL is the webhook's https:// URL; Token, when set, is sent as a
	// bearer token.
	URL   string `json:"url,omitempty"`
	Token string `json:"token,omitempty"`
}

// SinkCursor is the checkpoint a sink received last: the next one is
// proved consistent with it. A zero Size means nothing was delivered yet.
type SinkCursor struct {
	Size        int64
	Root        []byte // 32 bytes once Size > 0
	SignedAt    time.Time
	DeliveredAt time.Time
}

// SinkProgress is what the delivery worker records after each attempt.
type SinkProgress struct {
	Cursor      SinkCursor
	Pending     int64     // checkpoints signed and not yet delivered
	LastError   string    // "" after a success; sealed at rest
	LastErrorAt time.Time // zero after a success
}

// AuditSink is a firm's configured checkpoint sink with its delivery
// progress.
type AuditSink struct {
	ID        string
	TenantID  string
	Config    AuditSinkConfig
	CreatedBy string
	CreatedAt time.Time
	Progress  SinkProgress
	// Damage marks a sealed column that does not open (then Config or
	// LastError is empty).
	Damage Damage
}

// SinkStore keeps each firm's checkpoint sink (at most one) and its
// delivery cursor. Implemented by vault/sqlite, which seals the config and
// the last error with the firm's field key.
type SinkStore interface {
	// AuditSink returns tenantID's sink. Errors: not_found.
	AuditSink(ctx context.Context, tenantID string) (*AuditSink, error)
	// AuditSinks returns every firm's sink, for the delivery worker; one
	// whose config does not open is returned marked in Damage.
	AuditSinks(ctx context.Context) ([]*AuditSink, error)
	// PutAuditSink stores s as its firm's sink, replacing any earlier one
	// and its cursor. Errors: invalid, not_found (tenant).
	PutAuditSink(ctx context.Context, s *AuditSink) error
	// DeleteAuditSink removes tenantID's sink. Errors: not_found.
	DeleteAuditSink(ctx context.Context, tenantID string) error
	// SaveSinkProgress records the progress of sink sinkID of tenantID.
	// Errors: not_found (the sink was removed or replaced meanwhile).
	SaveSinkProgress(ctx context.Context, tenantID, sinkID string, p SinkProgress) error
}

// AuditSinkView is a firm's sink as owners and admins see it: the config
// without its secrets, and the delivery status.
type AuditSinkView struct {
	ID          string     `json:"id"`
	Kind        string     `json:"kind"`
	Endpoint    string     `json:"endpoint,omitempty"`
	Bucket      string     `json:"bucket,omitempty"`
	Prefix      string     `json:"prefix,omitempty"`
	Region      string     `json:"region,omitempty"`
	AccessKeyID string     `json:"access_key_id,omitempty"`
	SecretSet   bool       `json:"secret_set"`
	URL         string     `json:"url,omitempty"`
	TokenSet    bool       `json:"token_set"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	Status      SinkStatus `json:"status"`
	Damage
}

// SinkStatus is a sink's delivery status.
type SinkStatus struct {
	DeliveredSize int64      `json:"delivered_size"`          // 0: nothing yet
	DeliveredAt   *time.Time `json:"delivered_at"`            // null: nothing yet
	Pending       int64      `json:"pending"`                 // signed, not yet delivered
	LastError     string     `json:"last_error,omitempty"`    // of the last attempt, if it failed
	LastErrorAt   *time.Time `json:"last_error_at,omitempty"` // when it failed
}

// view is the sink without its secrets.
func (s *AuditSink) view() *AuditSinkView {
	c := s.Config
	v := &AuditSinkView{
		ID: s.ID, Kind: c.Kind, Endpoint: c.Endpoint, Bucket: c.Bucket, Prefix: c.Prefix, Region: c.Region,
		AccessKeyID: c.AccessKeyID, SecretSet: c.SecretAccessKey != "", URL: c.URL, TokenSet: c.Token != "",
		CreatedBy: s.CreatedBy, CreatedAt: s.CreatedAt, Damage: s.Damage,
		Status: SinkStatus{DeliveredSize: s.Progress.Cursor.Size, Pending: s.Progress.Pending, LastError: s.Progress.LastError},
	}
	if t := s.Progress.Cursor.DeliveredAt; !t.IsZero() {
		v.Status.DeliveredAt = &t
	}
	if t := s.Progress.LastErrorAt; !t.IsZero() {
		v.Status.LastErrorAt = &t
	}
	return v
}

func canReadSink(r Role) bool { return r == RoleOwner || r == RoleAdmin }

// sinkStore returns the store's SinkStore. Errors: unavailable.
func (s *Service) sinkStore() (SinkStore, error) {
	ss, ok := s.Store.(SinkStore)
	if !ok {
		return nil, Errorf(EUNAVAILABLE, "Checkpoint sinks are not supported by this store.")
	}
	return ss, nil
}

// AuditSink returns the actor's firm's checkpoint sink, without its
// secrets, with its delivery status. Owners and admins may read it.
// Errors: unauthorized, forbidden, not_found (none set), unavailable.
func (s *Service) AuditSink(ctx context.Context, actor *User) (*AuditSinkView, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if !canReadSink(actor.Role) {
		return nil, Errorf(EFORBIDDEN, "Only owners and admins can see the firm's checkpoint sink.")
	}
	ss, err := s.sinkStore()
	if err != nil {
		return nil, err
	}
	sk, err := ss.AuditSink(ctx, actor.TenantID)
	if err != nil {
		return nil, err
	}
	return sk.view(), nil
}

// SetAuditSink names the actor's firm's checkpoint sink, replacing any
// earlier one: from then on every checkpoint of the firm's audit log is
// delivered there, starting with the newest. Only the owner may. The change
// is recorded (audit.sink_set, with where to but never a secret) before it
// takes effect. Errors: unauthorized, forbidden, invalid, unavailable.
func (s *Service) SetAuditSink(ctx context.Context, actor *User, cfg AuditSinkConfig) (*AuditSinkView, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if actor.Role != RoleOwner {
		return nil, Errorf(EFORBIDDEN, "Only the firm's owner can set its checkpoint sink.")
	}
	cfg, err := CleanSinkConfig(cfg)
	if err != nil {
		return nil, err
	}
	ss, err := s.sinkStore()
	if err != nil {
		return nil, err
	}
	sk := &AuditSink{ID: NewID(PrefixSink), TenantID: actor.TenantID, Config: cfg, CreatedBy: actor.ID, CreatedAt: s.now()}
	ev := event(actor, ActAuditSinkSet, "audit_sink", sk.ID)
	ev.Details["kind"] = cfg.Kind
	switch cfg.Kind {
	case SinkS3:
		// Where, sealed in the leaf's private part; the secret never.
		ev.Private["endpoint"], ev.Private["bucket"], ev.Private["prefix"] = cfg.Endpoint, cfg.Bucket, cfg.Prefix
	case SinkWebhook:
		ev.Private["url"] = cfg.URL
	}
	if err := s.act(ctx, func() error { return ss.PutAuditSink(ctx, sk) }, ev); err != nil {
		return nil, err
	}
	s.Log.Info().Str("tenant_id", actor.TenantID).Str("kind", cfg.Kind).Msg("audit sink set")
	if s.SinkChanged != nil {
		s.SinkChanged()
	}
	return sk.view(), nil
}

// RemoveAuditSink removes the actor's firm's checkpoint sink: nothing more
// is delivered. Only the owner may; it is recorded (audit.sink_removed)
// before it takes effect. Errors: unauthorized, forbidden, not_found,
// unavailable.
func (s *Service) RemoveAuditSink(ctx context.Context, actor *User) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if actor.Role != RoleOwner {
		return Errorf(EFORBIDDEN, "Only the firm's owner can remove its checkpoint sink.")
	}
	ss, err := s.sinkStore()
	if err != nil {
		return err
	}
	sk, err := ss.AuditSink(ctx, actor.TenantID)
	if err != nil {
		return err
	}
	ev := event(actor, ActAuditSinkRemoved, "audit_sink", sk.ID)
	ev.Details["kind"] = sk.Config.Kind
	if err := s.act(ctx, func() error { return ss.DeleteAuditSink(ctx, actor.TenantID) }, ev); err != nil {
		return err
	}
	s.Log.Info().Str("tenant_id", actor.TenantID).Msg("audit sink removed")
	if s.SinkChanged != nil {
		s.SinkChanged()
	}
	return nil
}
