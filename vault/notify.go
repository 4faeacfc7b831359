package vault

import (
	"context"
	"time"
)

// Audit actions of notifications (docs/AUDIT-FORMAT.md).
const (
	ActNotifyChannelSet    = "notify.channel_set"
	ActNotifyChannelDelete = "notify.channel_delete"
	ActNotifyDelivered     = "notify.delivered"
	ActNotifyDeadLetter    = "notify.dead_letter"
	ActNotifyRedrive       = "notify.redrive"
)

// Id prefixes of notification objects.
const (
	PrefixChannel  = "nch" // a notification channel
	PrefixNotice   = "ntc" // a queued notice
	PrefixDelivery = "ndl" // one notice's delivery to one channel
)

// Kinds of notification channel.
const (
	ChannelEmail   = "email"   // SMTP, to the channel's recipients
	ChannelWebhook = "webhook" // an HTTPS POST signed with the channel's secret
)

// NoticeTest is the kind of the notice a test send delivers.
const NoticeTest = "notify.test"

// States of a delivery.
const (
	DeliveryPending   = "pending"   // queued, or waiting for its next attempt
	DeliveryDelivered = "delivered" // an attempt succeeded
	DeliveryDead      = "dead"      // every attempt failed: a dead letter, until redriven
)

// Results of a delivery attempt.
const (
	AttemptOK     = "ok"
	AttemptFailed = "failed"
)

// ChannelConfig is where a channel delivers: an email channel's
// Recipients, or a webhook's URL and Secret. It is stored sealed with the
// firm's field key, whole.
type ChannelConfig struct {
	Recipients []string `json:"recipients,omitempty"`
	URL        string   `json:"url,omitempty"`
	// Secret signs webhook bodies (HMAC-SHA256). The server generates it;
	// it is shown once, when the channel is created.
	Secret string `json:"secret,omitempty"`
}

// Channel is one of a firm's notification channels.
type Channel struct {
	ID        string
	TenantID  string
	Kind      string // ChannelEmail or ChannelWebhook
	Config    ChannelConfig
	CreatedBy string
	CreatedAt time.Time
	// Damage marks a config that does not open (then Config is empty).
	Damage Damage
}

// ChannelView is a channel as owners, admins and auditors see it: never
// its secret, except Secret once, in the answer that created it.
type ChannelView struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Recipients []string  `json:"recipients,omitempty"`
	URL        string    `json:"url,omitempty"`
	Secret     string    `json:"secret,omitempty"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
	Damage
}

func (c *Channel) view() *ChannelView {
	return &ChannelView{ID: c.ID, Kind: c.Kind, Recipients: c.Config.Recipients, URL: c.Config.URL,
		CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt, Damage: c.Damage}
}

// DeliveryAttempt is one attempt to deliver a notice to a channel.
type DeliveryAttempt struct {
	N         int       `json:"n"` // 1 for the first attempt, counting across redrives
	At        time.Time `json:"at"`
	ChannelID string    `json:"channel_id"`
	Result    string    `json:"result"` // AttemptOK or AttemptFailed
	// Status is the HTTP status a webhook answered, or the SMTP reply
	// code of a refusal (250 for an accepted message); 0 when none came.
	Status int `json:"status"`
	// Error says why an attempt failed, in a fixed word (refused,
	// timeout, tls, private_address, http_status, smtp, channel_deleted,
	// not_configured, unreachable); "" when it succeeded.
	Error string `json:"error,omitempty"`
	// NextAt is when the next attempt is due, nil when there is none.
	NextAt *time.Time `json:"next_at"`
}

// Delivery is one notice's delivery to one of its firm's channels, with
// its attempts.
type Delivery struct {
	ID        string            `json:"id"`
	TenantID  string            `json:"-"`
	NoticeID  string            `json:"notice_id"`
	ChannelID string            `json:"channel_id"`
	Notice    Notice            `json:"-"`
	State     string            `json:"state"`
	Tries     int               `json:"tries"` // attempts since it was queued or last redriven
	NextAt    *time.Time        `json:"next_at"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
	Attempts  []DeliveryAttempt `json:"attempts"`
}

// DeliveryFilter selects deliveries: State "" for any; Limit 0 for the
// store's default (100, newest first).
type DeliveryFilter struct {
	State string
	Limit int
}

// NotifyStore keeps each firm's notification channels and the queue of
// its notices, their deliveries and their attempts, in the firm's cell.
// Implemented by vault/sqlite, which seals channel configs with the firm's
// field key; vault/cell routes it by tenant.
type NotifyStore interface {
	// Channels returns tenantID's channels, oldest first.
	Channels(ctx context.Context, tenantID string) ([]*Channel, error)
	// Channel returns one channel. Errors: not_found.
	Channel(ctx context.Context, tenantID, id string) (*Channel, error)
	// PutChannel stores a new channel. Errors: invalid, not_found (firm).
	PutChannel(ctx context.Context, c *Channel) error
	// DeleteChannel removes a channel; its pending deliveries fail at
	// their next attempt. Errors: not_found.
	DeleteChannel(ctx context.Context, tenantID, id string) error
	// EnqueueNotice stores notice n under id and one pending delivery of
	// it per channel of its firm (only channelID's when it is not ""),
	// due at once, in one transaction. It returns the deliveries made.
	// Errors: invalid, not_found (firm or channel), unavailable.
	EnqueueNotice(ctx context.Context, id string, n Notice, channelID string) ([]*Delivery, error)
	// ClaimDeliveries returns up to limit pending deliveries of every
	// firm due at now and moves their next attempt to leaseUntil, so a
	// delivery in flight is not claimed twice, and one whose worker died
	// is claimed again after leaseUntil.
	ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*Delivery, error)
	// RecordAttempt appends a to d's attempts and sets its state, tries
	// and next attempt (a.NextAt). Errors: not_found.
	RecordAttempt(ctx context.Context, d *Delivery, a DeliveryAttempt, state string) error
	// Deliveries returns tenantID's deliveries, newest first, with their
	// attempts.
	Deliveries(ctx context.Context, tenantID string, f DeliveryFilter) ([]*Delivery, error)
	// Delivery returns one delivery with its attempts. Errors: not_found.
	Delivery(ctx context.Context, tenantID, id string) (*Delivery, error)
	// RedriveDelivery makes a dead delivery pending again, due at now,
	// with its tries reset. Errors: not_found, conflict (not dead).
	RedriveDelivery(ctx context.Context, tenantID, id string, now time.Time) error
}

// ChannelNotifier is a Notifier that can also deliver one notice to one
// channel (a test send) and be woken when a dead letter is redriven.
// notify.Worker implements it.
type ChannelNotifier interface {
	Notifier
	// NotifyChannel queues n for channelID of n's firm only.
	// Errors: not_found (channel), unavailable.
	NotifyChannel(ctx context.Context, n Notice, channelID string) (*Delivery, error)
	// Kick wakes the delivery worker.
	Kick()
	// EmailConfigured reports whether the server has an SMTP server to
	// send email channels' messages through.
	EmailConfigured() bool
}
