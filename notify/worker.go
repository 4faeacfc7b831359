// Package notify delivers a firm's notices (vault.Notice: alerts,
// breach-register changes, failed drills) to its channels: email over SMTP
// (github.com/wneessen/go-mail) and HTTPS webhooks signed with
// HMAC-SHA256 (docs/WEBHOOKS.md). Notify queues a notice durably in the
// firm's cell and returns; the Worker delivers each queued notice to each
// channel in the background, records every attempt, retries with
// exponential backoff and, after the last attempt, leaves a dead letter
// that an owner or admin can redrive. Queued work survives a restart.
package notify

import (
	"context"
	"crypto/x509"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/vault"
)

// Defaults of Options.
const (
	DefaultAttempts   = 6
	DefaultFirstRetry = 30 * time.Second
	DefaultMaxRetry   = time.Hour
	DefaultInterval   = 5 * time.Second
	DefaultTimeout    = 30 * time.Second
)

// Recorder records an attempt and the delivery's new state, putting
// successes and dead letters on the firm's audit log first;
// *vault.Service implements it.
type Recorder interface {
	RecordDeliveryAttempt(ctx context.Context, d *vault.Delivery, a vault.DeliveryAttempt, state string) error
}

// Options configure a Worker. Store and Recorder are required.
type Options struct {
	Store    vault.NotifyStore
	Recorder Recorder
	// PublicURL is the server's address as people reach it
	// (https://vault.example.com); a notice's Path is joined to it for
	// the link in each message. "": messages carry the path alone.
	PublicURL string
	// SMTP sends email channels' messages; nil: email is not configured
	// and email channels are refused.
	SMTP *SMTPConfig
	// RootCAs verifies webhooks' (and the SMTP server's) TLS
	// certificates; nil: the system's.
	RootCAs *x509.CertPool
	// AllowPrivate lets webhooks resolve to loopback, private and
	// link-local addresses (tests, a receiver on the operator's network).
	AllowPrivate bool
	// Attempts is how many attempts a delivery gets before it is a dead
	// letter (default 6). FirstRetry is the wait after the first failure,
	// doubled after each further one up to MaxRetry (defaults 30 s and
	// 1 h).
	Attempts             int
	FirstRetry, MaxRetry time.Duration
	// Interval is how often the queue is looked at without a new notice
	// (default 5 s); Timeout bounds one attempt (default 30 s).
	Interval, Timeout time.Duration
	Now               func() time.Time
	Log               zerolog.Logger
}

// Worker queues notices (it is the vault.Service's Notifier) and delivers
// them. Start runs it; Close stops it.
type Worker struct {
	opts Options
	http *http.Client
	log  zerolog.Logger

	kick chan struct{}
	stop chan struct{}
	done chan struct{}

	startOnce, closeOnce sync.Once
	started              bool
}

var _ vault.ChannelNotifier = (*Worker)(nil)

// New returns a Worker with opts, defaults filled in.
func New(opts Options) *Worker {
	if opts.Attempts <= 0 {
		opts.Attempts = DefaultAttempts
	}
	if opts.FirstRetry <= 0 {
		opts.FirstRetry = DefaultFirstRetry
	}
	if opts.MaxRetry <= 0 {
		opts.MaxRetry = DefaultMaxRetry
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Worker{
		opts: opts, http: newWebhookClient(opts.RootCAs, opts.AllowPrivate, opts.Timeout),
		log:  opts.Log.With().Str("component", "notify").Logger(),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
}

// Notify implements vault.Notifier: it queues n for every channel of its
// firm, in the firm's cell, and wakes the worker. Errors: invalid,
// unavailable (it could not be queued).
func (w *Worker) Notify(ctx context.Context, n vault.Notice) error {
	_, err := w.enqueue(ctx, n, "")
	return err
}

// NotifyChannel implements vault.ChannelNotifier: n for channelID only.
func (w *Worker) NotifyChannel(ctx context.Context, n vault.Notice, channelID string) (*vault.Delivery, error) {
	ds, err := w.enqueue(ctx, n, channelID)
	if err != nil {
		return nil, err
	}
	if len(ds) != 1 {
		return nil, vault.Errorf(vault.ENOTFOUND, "Channel not found.")
	}
	return ds[0], nil
}

func (w *Worker) enqueue(ctx context.Context, n vault.Notice, channelID string) ([]*vault.Delivery, error) {
	if n.TenantID == "" || n.Kind == "" {
		return nil, vault.Errorf(vault.EINVALID, "A notice needs a firm and a kind.")
	}
	if n.Time.IsZero() {
		n.Time = w.opts.Now().UTC()
	}
	// What the notice reports has happened: a client that goes away
	// does not take the notice with it.
	ctx = context.WithoutCancel(ctx)
	ds, err := w.opts.Store.EnqueueNotice(ctx, vault.NewID(vault.PrefixNotice), n, channelID)
	if err != nil {
		if vault.IsCode(err, vault.ENOTFOUND) || vault.IsCode(err, vault.EINVALID) {
			return nil, err
		}
		return nil, vault.WrapError(vault.EUNAVAILABLE, err, "The notice could not be queued.")
	}
	if len(ds) > 0 {
		w.Kick()
	}
	return ds, nil
}

// Kick implements vault.ChannelNotifier: it wakes the worker without
// waiting.
func (w *Worker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// EmailConfigured implements vault.ChannelNotifier.
func (w *Worker) EmailConfigured() bool { return w.opts.SMTP != nil && w.opts.SMTP.Host != "" }

// Start runs the worker in the background; what was queued before, by
// this process or an earlier one, is delivered.
func (w *Worker) Start() {
	w.startOnce.Do(func() {
		w.started = true
		go w.run()
	})
}

// Close stops the worker and waits for the attempts in flight (each
// bounded by Timeout). Deliveries it did not finish stay queued.
func (w *Worker) Close() {
	w.closeOnce.Do(func() {
		close(w.stop)
		w.startOnce.Do(func() {}) // no Start after Close
		if w.started {
			<-w.done
		}
	})
}

func (w *Worker) run() {
	defer close(w.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-w.stop
		cancel()
	}()
	t := time.NewTicker(w.opts.Interval)
	defer t.Stop()
	for {
		w.pass(ctx)
		select {
		case <-w.stop:
			return
		case <-w.kick:
		case <-t.C:
		}
	}
}

// parallel bounds the attempts in flight at once.
const parallel = 8

// pass delivers every delivery that is due, a batch at a time.
func (w *Worker) pass(ctx context.Context) {
	for ctx.Err() == nil {
		now := w.opts.Now().UTC()
		// A claimed delivery is not claimed again before its attempt has
		// had its time; after a crash, it is claimed once the lease ends.
		ds, err := w.opts.Store.ClaimDeliveries(ctx, now, now.Add(2*w.opts.Timeout+10*time.Second), 4*parallel)
		if err != nil {
			w.log.Warn().Err(err).Msg("cannot read the notification queue")
		}
		if len(ds) == 0 {
			return
		}
		sem := make(chan struct{}, parallel)
		var wg sync.WaitGroup
		for _, d := range ds {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				w.deliver(ctx, d)
			})
		}
		wg.Wait()
	}
}

// backoff is the wait after the tries-th failure in a row.
func (w *Worker) backoff(tries int) time.Duration {
	d := w.opts.FirstRetry
	for i := 1; i < tries && d < w.opts.MaxRetry; i++ {
		d *= 2
	}
	return min(d, w.opts.MaxRetry)
}

// deliver makes one attempt of d and records it.
func (w *Worker) deliver(ctx context.Context, d *vault.Delivery) {
	log := w.log.With().Str("tenant_id", d.TenantID).Str("delivery_id", d.ID).Str("channel_id", d.ChannelID).Logger()
	a := vault.DeliveryAttempt{ChannelID: d.ChannelID}
	final := false
	ch, err := w.opts.Store.Channel(ctx, d.TenantID, d.ChannelID)
	switch {
	case vault.IsCode(err, vault.ENOTFOUND):
		a.Error, final = "channel_deleted", true
	case err != nil:
		if ctx.Err() != nil {
			return // shutting down: the lease ends and it is claimed again
		}
		a.Error = "unavailable"
	case ch.Damage.Damaged():
		a.Error, final = vault.ECANNOTDECRYPT, true
	default:
		actx, cancel := context.WithTimeout(ctx, w.opts.Timeout)
		a.Status, a.Error = w.send(actx, ch, d)
		cancel()
		if ctx.Err() != nil {
			return // cut short by the shutdown: not an attempt
		}
	}
	a.At = w.opts.Now().UTC()
	state := vault.DeliveryDelivered
	a.Result = vault.AttemptOK
	if a.Error != "" {
		a.Result = vault.AttemptFailed
		state = vault.DeliveryPending
		if final || d.Tries+1 >= w.opts.Attempts {
			state = vault.DeliveryDead
		} else {
			next := a.At.Add(w.backoff(d.Tries + 1))
			a.NextAt = &next
		}
	}
	// The attempt's number is the store's (it counts across redrives).
	if err := w.opts.Recorder.RecordDeliveryAttempt(context.WithoutCancel(ctx), d, a, state); err != nil {
		log.Error().Err(err).Msg("cannot record a notification attempt: it is tried again when its lease ends")
		return
	}
	switch state {
	case vault.DeliveryDead:
		log.Warn().Str("error", a.Error).Int("status", a.Status).Msg("notification is a dead letter")
	case vault.DeliveryPending:
		log.Info().Str("error", a.Error).Int("status", a.Status).Time("next_at", *a.NextAt).Msg("notification attempt failed")
	}
}

// send delivers d to ch and returns the status (HTTP status, SMTP reply
// code) and "" or the error's fixed word.
func (w *Worker) send(ctx context.Context, ch *vault.Channel, d *vault.Delivery) (int, string) {
	switch ch.Kind {
	case vault.ChannelWebhook:
		return w.sendWebhook(ctx, ch, d)
	case vault.ChannelEmail:
		if !w.EmailConfigured() {
			return 0, "not_configured"
		}
		return w.sendEmail(ctx, ch, d)
	}
	return 0, "not_configured"
}
