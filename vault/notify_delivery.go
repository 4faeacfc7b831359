package vault

import (
	"context"
	"strconv"
)

// Deliveries returns the actor's firm's deliveries with their attempts,
// newest first; f.State DeliveryDead lists the dead letters. Owners,
// admins and auditors may read them. Errors: unauthorized, forbidden,
// invalid (state), unavailable.
func (s *Service) Deliveries(ctx context.Context, actor *User, f DeliveryFilter) ([]*Delivery, error) {
	if err := checkNotify(actor, false); err != nil {
		return nil, err
	}
	switch f.State {
	case "", DeliveryPending, DeliveryDelivered, DeliveryDead:
	default:
		return nil, Errorf(EINVALID, "state must be pending, delivered or dead.")
	}
	if f.Limit < 0 || f.Limit > 1000 {
		return nil, Errorf(EINVALID, "limit must be from 1 to 1000.")
	}
	ns, err := s.notifyStore()
	if err != nil {
		return nil, err
	}
	return ns.Deliveries(ctx, actor.TenantID, f)
}

// Redrive queues a dead letter of the actor's firm again: its attempts
// start over (the earlier ones stay on record). Owners and admins may;
// recorded (notify.redrive) before it takes effect.
// Errors: unauthorized, forbidden, not_found, conflict (not a dead
// letter), unavailable.
func (s *Service) Redrive(ctx context.Context, actor *User, id string) (*Delivery, error) {
	if err := checkNotify(actor, true); err != nil {
		return nil, err
	}
	ns, err := s.notifyStore()
	if err != nil {
		return nil, err
	}
	if !ValidID(PrefixDelivery, id) {
		return nil, Errorf(ENOTFOUND, "Delivery not found.")
	}
	d, err := ns.Delivery(ctx, actor.TenantID, id)
	if err != nil {
		return nil, err
	}
	if d.State != DeliveryDead {
		return nil, Errorf(ECONFLICT, "Only a dead letter can be redriven; this delivery is %s.", d.State)
	}
	ev := event(actor, ActNotifyRedrive, "notify_delivery", d.ID)
	ev.Details["notice_id"], ev.Details["channel_id"] = d.NoticeID, d.ChannelID
	if err := s.act(ctx, func() error { return ns.RedriveDelivery(ctx, actor.TenantID, id, s.now()) }, ev); err != nil {
		return nil, err
	}
	if cn, err := s.channelNotifier(); err == nil {
		cn.Kick()
	}
	return ns.Delivery(ctx, actor.TenantID, id)
}

// RecordDeliveryAttempt is the delivery worker's: it records attempt a of
// d and d's new state. A delivery that succeeded (state delivered) or
// ends as a dead letter (state dead) is first recorded in its firm's audit
// log (notify.delivered, notify.dead_letter, with ids and the attempt's
// status only); a dead letter whose event cannot be written stays pending
// and is tried again. Errors: unavailable, not_found.
func (s *Service) RecordDeliveryAttempt(ctx context.Context, d *Delivery, a DeliveryAttempt, state string) error {
	ns, err := s.notifyStore()
	if err != nil {
		return err
	}
	var action string
	switch state {
	case DeliveryDelivered:
		action = ActNotifyDelivered
	case DeliveryDead:
		action = ActNotifyDeadLetter
	default:
		return ns.RecordAttempt(ctx, d, a, state)
	}
	ev := event(nil, action, "notify_delivery", d.ID)
	ev.TenantID = d.TenantID
	ev.Details["notice_id"], ev.Details["channel_id"] = d.NoticeID, d.ChannelID
	ev.Details["notice_kind"] = d.Notice.Kind
	ev.Details["attempts"] = strconv.Itoa(a.N)
	ev.Details["status"] = strconv.Itoa(a.Status)
	if a.Error != "" {
		ev.Details["error"] = a.Error
	}
	if d.Notice.Seq > 0 {
		ev.Details["notice_seq"] = strconv.FormatInt(d.Notice.Seq, 10)
	}
	if state == DeliveryDead {
		ev.Outcome = OutcomeError
		return s.act(ctx, func() error { return ns.RecordAttempt(ctx, d, a, state) }, ev)
	}
	// Delivered: the receiver has it whatever happens next, so the
	// delivery is marked even when its event cannot be written (logged).
	if _, err := s.record(ctx, ev); err != nil {
		s.Log.Error().Err(err).Str("tenant_id", d.TenantID).Str("delivery_id", d.ID).Msg("notify.delivered not recorded")
	}
	return ns.RecordAttempt(ctx, d, a, state)
}

// NotifyBackupLate tells every firm of region that a backup of database
// (a file name such as casevault.db, naming no firm) is older than its
// schedule allows: a notice (backup.drill, rule backup_late) to their
// channels. serve's backup watch calls it when a backup turns stale; the
// staleness itself is on /metrics and in the log, not in the audit log.
func (s *Service) NotifyBackupLate(ctx context.Context, region, database string) error {
	if s.Notifier == nil {
		return nil
	}
	tenants, err := s.Store.Tenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		if t.Region == region {
			s.notify(ctx, Notice{TenantID: t.ID, Kind: NoticeDrillFailed, ObjectID: database, Rule: "backup_late",
				Severity: "critical", Path: "/durability"})
		}
	}
	return nil
}
