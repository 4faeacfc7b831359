package vault

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
)

// Limits of a channel's config.
const (
	maxChannelRecipients = 20
	maxChannelURL        = 2048
	maxRecipientLen      = 254
	// WebhookSecretPrefix starts every webhook secret, so one found in a
	// file is recognisable.
	WebhookSecretPrefix = "cvwh_"
)

// canReadNotify: owners, admins and auditors see channels, deliveries and
// dead letters; lawyers do not.
func canReadNotify(r Role) bool { return r == RoleOwner || r == RoleAdmin || r == RoleAuditor }

// canManageNotify: owners and admins add, delete, test and redrive.
func canManageNotify(r Role) bool { return r == RoleOwner || r == RoleAdmin }

// notifyStore returns the store's NotifyStore. Errors: unavailable.
func (s *Service) notifyStore() (NotifyStore, error) {
	ns, ok := s.Store.(NotifyStore)
	if !ok {
		return nil, Errorf(EUNAVAILABLE, "Notifications are not supported by this store.")
	}
	return ns, nil
}

// channelNotifier returns the Service's Notifier when it delivers to
// channels. Errors: unavailable (no delivery worker).
func (s *Service) channelNotifier() (ChannelNotifier, error) {
	cn, ok := s.Notifier.(ChannelNotifier)
	if !ok {
		return nil, Errorf(EUNAVAILABLE, "This server does not deliver notifications.")
	}
	return cn, nil
}

// checkNotify checks actor and that its role may read (manage false) or
// manage notifications.
func checkNotify(actor *User, manage bool) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if manage && !canManageNotify(actor.Role) {
		return Errorf(EFORBIDDEN, "Only owners and admins can manage the firm's notifications.")
	}
	if !canReadNotify(actor.Role) {
		return Errorf(EFORBIDDEN, "Only owners, admins and auditors can see the firm's notifications.")
	}
	return nil
}

// ChannelInput is a new channel: its kind and, for email, its recipients,
// for a webhook, its https:// URL.
type ChannelInput struct {
	Kind       string   `json:"kind"`
	Recipients []string `json:"recipients,omitempty"`
	URL        string   `json:"url,omitempty"`
}

// CleanChannelInput checks a new channel and returns its config in
// canonical form (trimmed, lowercased addresses). Errors: invalid, naming
// the field.
func CleanChannelInput(in ChannelInput) (ChannelConfig, error) {
	var c ChannelConfig
	switch strings.TrimSpace(in.Kind) {
	case ChannelEmail:
		if in.URL != "" {
			return c, Errorf(EINVALID, "An email channel takes recipients, not a url.")
		}
		if len(in.Recipients) == 0 {
			return c, Errorf(EINVALID, "recipients is required: at least one email address.")
		}
		if len(in.Recipients) > maxChannelRecipients {
			return c, Errorf(EINVALID, "recipients: at most %d addresses.", maxChannelRecipients)
		}
		seen := map[string]bool{}
		for _, r := range in.Recipients {
			a, err := mail.ParseAddress(strings.TrimSpace(r))
			if err != nil || a.Name != "" || len(a.Address) > maxRecipientLen || !strings.Contains(a.Address, "@") {
				return c, Errorf(EINVALID, "recipients: %q is not an email address.", r)
			}
			addr := strings.ToLower(a.Address)
			if !seen[addr] {
				seen[addr] = true
				c.Recipients = append(c.Recipients, addr)
			}
		}
	case ChannelWebhook:
		if len(in.Recipients) > 0 {
			return c, Errorf(EINVALID, "A webhook channel takes a url, not recipients.")
		}
		u := strings.TrimSpace(in.URL)
		if err := checkWebhookURL(u); err != nil {
			return c, err
		}
		c.URL = u
	case "":
		return c, Errorf(EINVALID, "kind is required: email or webhook.")
	default:
		return c, Errorf(EINVALID, "kind must be email or webhook.")
	}
	return c, nil
}

// checkWebhookURL accepts an absolute https:// URL without credentials or
// fragment. Where it resolves is checked at each delivery (the server
// refuses private addresses unless its configuration allows them).
func checkWebhookURL(s string) error {
	if s == "" {
		return Errorf(EINVALID, "url is required.")
	}
	if len(s) > maxChannelURL {
		return Errorf(EINVALID, "url is longer than %d bytes.", maxChannelURL)
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return Errorf(EINVALID, "url must be an absolute https:// URL.")
	case u.Scheme != "https":
		return Errorf(EINVALID, "url must use https://: webhooks are only sent over TLS.")
	case u.User != nil:
		return Errorf(EINVALID, "url must not hold credentials: deliveries are signed with the channel's secret.")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return Errorf(EINVALID, "url must not have a fragment.")
	}
	return nil
}

// newWebhookSecret returns a fresh 256-bit signing secret.
func newWebhookSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return WebhookSecretPrefix + hex.EncodeToString(b)
}

// Channels returns the actor's firm's notification channels, without
// their secrets. Owners, admins and auditors may read them.
// Errors: unauthorized, forbidden, unavailable.
func (s *Service) Channels(ctx context.Context, actor *User) ([]*ChannelView, error) {
	if err := checkNotify(actor, false); err != nil {
		return nil, err
	}
	ns, err := s.notifyStore()
	if err != nil {
		return nil, err
	}
	cs, err := ns.Channels(ctx, actor.TenantID)
	if err != nil {
		return nil, err
	}
	out := make([]*ChannelView, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.view())
	}
	return out, nil
}

// CreateChannel adds a notification channel to the actor's firm: an email
// channel (refused while the server has no SMTP server) or a webhook,
// whose signing secret the server generates and returns once, in the
// view's Secret. Owners and admins may; it is recorded
// (notify.channel_set, with the addresses or URL sealed in the event's
// private part, never the secret) before it takes effect.
// Errors: unauthorized, forbidden, invalid, unavailable.
func (s *Service) CreateChannel(ctx context.Context, actor *User, in ChannelInput) (*ChannelView, error) {
	if err := checkNotify(actor, true); err != nil {
		return nil, err
	}
	cfg, err := CleanChannelInput(in)
	if err != nil {
		return nil, err
	}
	kind := strings.TrimSpace(in.Kind)
	cn, err := s.channelNotifier()
	if err != nil {
		return nil, err
	}
	if kind == ChannelEmail && !cn.EmailConfigured() {
		return nil, Errorf(EINVALID, "Email is not configured on this server (notify.smtp in its configuration): ask the operator, or add a webhook.")
	}
	ns, err := s.notifyStore()
	if err != nil {
		return nil, err
	}
	if kind == ChannelWebhook {
		cfg.Secret = newWebhookSecret()
	}
	c := &Channel{ID: NewID(PrefixChannel), TenantID: actor.TenantID, Kind: kind, Config: cfg, CreatedBy: actor.ID, CreatedAt: s.now()}
	ev := event(actor, ActNotifyChannelSet, "notify_channel", c.ID)
	ev.Details["kind"] = kind
	if kind == ChannelEmail {
		ev.Details["recipients"] = strconv.Itoa(len(cfg.Recipients))
		ev.Private["recipients"] = strings.Join(cfg.Recipients, ",")
	} else {
		ev.Private["url"] = cfg.URL
	}
	if err := s.act(ctx, func() error { return ns.PutChannel(ctx, c) }, ev); err != nil {
		return nil, err
	}
	s.Log.Info().Str("tenant_id", actor.TenantID).Str("channel_id", c.ID).Str("kind", kind).Msg("notification channel added")
	v := c.view()
	v.Secret = cfg.Secret
	return v, nil
}

// DeleteChannel removes one of the actor's firm's channels: nothing more
// is sent to it. Owners and admins may; recorded (notify.channel_delete)
// before it takes effect. Another firm's channel is not_found.
// Errors: unauthorized, forbidden, not_found, unavailable.
func (s *Service) DeleteChannel(ctx context.Context, actor *User, id string) error {
	if err := checkNotify(actor, true); err != nil {
		return err
	}
	ns, err := s.notifyStore()
	if err != nil {
		return err
	}
	if !ValidID(PrefixChannel, id) {
		return Errorf(ENOTFOUND, "Channel not found.")
	}
	c, err := ns.Channel(ctx, actor.TenantID, id)
	if err != nil {
		return err
	}
	ev := event(actor, ActNotifyChannelDelete, "notify_channel", c.ID)
	ev.Details["kind"] = c.Kind
	return s.act(ctx, func() error { return ns.DeleteChannel(ctx, actor.TenantID, id) }, ev)
}

// TestChannel queues a test notice (kind notify.test) for one channel of
// the actor's firm and returns its delivery; its attempts show in the
// deliveries like any other. Owners and admins may.
// Errors: unauthorized, forbidden, not_found, unavailable.
func (s *Service) TestChannel(ctx context.Context, actor *User, id string) (*Delivery, error) {
	if err := checkNotify(actor, true); err != nil {
		return nil, err
	}
	ns, err := s.notifyStore()
	if err != nil {
		return nil, err
	}
	cn, err := s.channelNotifier()
	if err != nil {
		return nil, err
	}
	if !ValidID(PrefixChannel, id) {
		return nil, Errorf(ENOTFOUND, "Channel not found.")
	}
	if _, err := ns.Channel(ctx, actor.TenantID, id); err != nil {
		return nil, err
	}
	n := Notice{TenantID: actor.TenantID, Kind: NoticeTest, ObjectID: id, Severity: "info", Time: s.now(),
		Path: "/settings/security/notifications"}
	return cn.NotifyChannel(ctx, n, id)
}
