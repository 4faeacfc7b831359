package vault

import (
	"context"
	"time"
)

// Notice kinds: what a Notice is about.
const (
	NoticeAlertRaised   = "alert.raised"  // a breach-detection rule fired
	NoticeBreachCreated = "breach.create" // an incident was entered in the breach register
	NoticeBreachUpdated = "breach.update" // a breach-register entry changed
	NoticeDrillFailed   = "backup.drill"  // a restore drill failed or a backup is late
	NoticeContainment   = "user.contain"  // a user's sessions and tokens were suspended
)

// Notice is one thing a firm's people are told about by email and webhook.
// It carries ids and links only: never a document's, matter's, user's or
// firm's name, nor any content. Notifiers send it as it is.
type Notice struct {
	TenantID string
	Kind     string    // one of the Notice* kinds
	ObjectID string    // the alert's or breach entry's id
	Seq      int64     // the audit event that recorded it, 0 when none
	Rule     string    // for an alert: the rule's id (e.g. "downloads_per_hour")
	Severity string    // "info", "warning" or "critical"
	Time     time.Time // when it happened
	Path     string    // the UI path that shows it (e.g. "/alerts/ID"), joined to the server's public URL
}

// Notifier sends notices to a firm's channels (email, webhooks). Notify must
// not block the caller for long: it queues the notice durably and delivers
// it in the background, with retries. Errors: unavailable (it could not be
// queued).
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// notify hands n to the Service's Notifier, when one is set. A notice that
// cannot be queued is logged: the action it reports has already happened
// and is on record in the audit log.
func (s *Service) notify(ctx context.Context, n Notice) {
	if s.Notifier == nil {
		return
	}
	if n.Time.IsZero() {
		n.Time = s.now()
	}
	if err := s.Notifier.Notify(ctx, n); err != nil {
		s.Log.Error().Err(err).Str("kind", n.Kind).Str("tenant_id", n.TenantID).Msg("notice not queued")
	}
}
