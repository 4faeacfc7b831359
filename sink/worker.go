package sink

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/vault"
)

// Defaults of Options.
const (
	DefaultInterval   = 30 * time.Second
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 5 * time.Minute
	DefaultTimeout    = time.Minute
)

// Source is the audit log the worker reads checkpoints and proofs from;
// *audit.Log implements it.
type Source interface {
	CheckpointsAfter(ctx context.Context, tenant string, size int64, limit int) ([]*audit.Checkpoint, error)
	CountCheckpointsAfter(ctx context.Context, tenant string, size int64) (int64, error)
	CheckpointAtOrBefore(ctx context.Context, tenant string, t time.Time) (*audit.Checkpoint, error)
	ProveTree(ctx context.Context, tenant string, from, to int64) (tlog.TreeProof, error)
}

// Options configure a Worker. Store and Source are required.
type Options struct {
	Store  vault.SinkStore
	Source Source
	// RootCAs verifies the sinks' TLS certificates; nil: the system's.
	RootCAs *x509.CertPool
	// AllowPrivate lets sinks resolve to loopback and private addresses
	// (tests, a sink on the operator's own network).
	AllowPrivate bool
	// Interval is how often every sink is looked at even without a new
	// checkpoint: retries, and sinks set or changed (default 30 s).
	Interval time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failed delivery,
	// doubled at each failure in a row (defaults 1 s and 5 min).
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds one delivery (default 1 min).
	Timeout time.Duration
	Now     func() time.Time
	Log     zerolog.Logger
}

// Worker delivers every firm's checkpoints to its sink, from the durable
// cursor each sink keeps in the store: as they are signed (OnSigned wakes
// it), at every Interval, and with exponential backoff after failures.
// Nothing it does blocks the audit log.
type Worker struct {
	opts Options
	tr   *http.Transport
	log  zerolog.Logger

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
	wg   sync.WaitGroup // the serveLoops

	startOnce sync.Once
	started   bool // set once, under startOnce

	mu     sync.Mutex
	latest map[string]*audit.Checkpoint // tenant → newest signed, for heartbeats of an unchanged size
	state  map[string]*sinkState        // sink id → retry state
}

// sinkState is a sink's in-memory retry state and destination.
type sinkState struct {
	config string // the config the destination was built from
	dest   destination
	// Guarded by Worker.mu:
	failures int
	next     time.Time // no attempt before
	pending  int64     // as of the last attempt
	running  bool      // a serveLoop is at work
	again    bool      // a pass came while it was
}

// New returns a Worker; Start runs it.
func New(opts Options) *Worker {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Worker{
		opts: opts, tr: newTransport(opts.RootCAs, opts.AllowPrivate),
		log:  opts.Log.With().Str("component", "audit_sink").Logger(),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		latest: map[string]*audit.Checkpoint{}, state: map[string]*sinkState{},
	}
}

// OnSigned is audit.Options.OnSigned: it notes c and wakes the worker,
// without waiting.
func (w *Worker) OnSigned(c *audit.Checkpoint) {
	w.mu.Lock()
	if old := w.latest[c.Tenant]; old == nil || !c.CreatedAt.Before(old.CreatedAt) {
		w.latest[c.Tenant] = c
	}
	w.mu.Unlock()
	w.Kick()
}

// Kick wakes the worker for a pass now (a sink was set).
func (w *Worker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Pending returns the checkpoints signed and not yet delivered, over every
// sink, as of each one's last attempt.
func (w *Worker) Pending() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var n int64
	for _, st := range w.state {
		n += st.pending
	}
	return n
}

// Bind sets the worker's Source, when it could not be given to New (the
// audit log is opened with the worker's OnSigned). Call it before Start.
func (w *Worker) Bind(src Source) { w.opts.Source = src }

// Start runs the worker until Close. It is started once.
func (w *Worker) Start() {
	w.startOnce.Do(func() { w.started = true; go w.run() })
}

// Close stops the worker and waits for the deliveries in progress; a
// worker never started closes at once.
func (w *Worker) Close() {
	w.startOnce.Do(func() {}) // no Start after Close
	if !w.started {
		return
	}
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	w.wg.Wait()
}

func (w *Worker) run() {
	defer close(w.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-w.stop
		cancel()
	}()
	tick := time.NewTicker(w.opts.Interval)
	defer tick.Stop()
	// Retries come sooner than the interval when a backoff ends.
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	for {
		wait := w.pass(ctx)
		if wait > 0 {
			retry.Reset(wait)
		}
		select {
		case <-w.stop:
			return
		case <-w.kick:
		case <-tick.C:
		case <-retry.C:
		}
	}
}

// pass starts a delivery goroutine for every sink that is due and has
// none running (one running is asked to go again when it is done), so that
// a slow or hanging sink delays no other firm's. It returns how soon a sink
// in backoff wants another pass (0: none does).
func (w *Worker) pass(ctx context.Context) time.Duration {
	sinks, err := w.opts.Store.AuditSinks(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn().Err(err).Msg("cannot read the audit sinks")
		}
		return w.opts.MinBackoff
	}
	var soonest time.Duration
	now := w.opts.Now()
	live := map[string]bool{}
	for _, sk := range sinks {
		live[sk.ID] = true
		if sk.Damage.Error != "" {
			continue // its config does not open; nothing can be sent
		}
		st, err := w.stateOf(sk)
		if err != nil {
			w.log.Error().Str("tenant_id", sk.TenantID).Msg("audit sink config unusable")
			continue
		}
		w.mu.Lock()
		switch {
		case st.next.After(now):
			if d := st.next.Sub(now); soonest == 0 || d < soonest {
				soonest = d
			}
		case st.running:
			st.again = true
		default:
			st.running = true
			w.wg.Add(1)
			go w.serveLoop(ctx, sk, st)
		}
		w.mu.Unlock()
	}
	w.mu.Lock()
	for id, st := range w.state {
		if !live[id] && !st.running {
			delete(w.state, id)
		}
	}
	w.mu.Unlock()
	return soonest
}

// serveLoop serves sk until nothing is due, going again when a pass asked
// for it meanwhile; after a failure it wakes the worker to set its retry.
func (w *Worker) serveLoop(ctx context.Context, sk *vault.AuditSink, st *sinkState) {
	defer w.wg.Done()
	for {
		wait := w.serve(ctx, sk, st)
		w.mu.Lock()
		st.pending = sk.Progress.Pending
		again := st.again && wait == 0 && ctx.Err() == nil
		st.again = false
		if !again {
			st.running = false
		}
		w.mu.Unlock()
		if !again {
			if wait > 0 {
				w.Kick()
			}
			return
		}
	}
}

// stateOf returns sk's retry state, with a destination for its current
// config.
func (w *Worker) stateOf(sk *vault.AuditSink) (*sinkState, error) {
	cfg, _ := json.Marshal(sk.Config)
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.state[sk.ID]
	if st == nil || st.config != string(cfg) {
		d, err := newDestination(sk.Config, w.tr)
		if err != nil {
			return nil, err
		}
		st = &sinkState{config: string(cfg), dest: d, pending: sk.Progress.Pending}
		w.state[sk.ID] = st
	}
	return st, nil
}

// serve delivers sk's due checkpoints in order, saving the cursor after
// each, until none is left or one fails. It returns the backoff wait after
// a failure, else 0.
func (w *Worker) serve(ctx context.Context, sk *vault.AuditSink, st *sinkState) time.Duration {
	for ctx.Err() == nil {
		c, err := w.due(ctx, sk)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn().Err(err).Str("tenant_id", sk.TenantID).Msg("cannot read checkpoints for the audit sink")
			}
			w.mu.Lock()
			st.next = w.opts.Now().Add(w.opts.MinBackoff)
			w.mu.Unlock()
			return w.opts.MinBackoff
		}
		if c == nil {
			return 0
		}
		o, err := w.object(ctx, sk, c)
		if err == nil {
			dctx, cancel := context.WithTimeout(ctx, w.opts.Timeout)
			err = st.dest.deliver(dctx, o)
			cancel()
		}
		if err != nil {
			if ctx.Err() != nil {
				return 0
			}
			return w.failed(ctx, sk, st, err)
		}
		w.mu.Lock()
		st.failures, st.next = 0, time.Time{}
		w.mu.Unlock()
		w.forget(c)
		sk.Progress.Cursor = vault.SinkCursor{Size: c.Size, Root: append([]byte(nil), c.Root[:]...),
			SignedAt: c.CreatedAt, DeliveredAt: w.opts.Now().UTC()}
		sk.Progress.LastError, sk.Progress.LastErrorAt = "", time.Time{}
		sk.Progress.Pending = w.countPending(ctx, sk)
		if err := w.opts.Store.SaveSinkProgress(ctx, sk.TenantID, sk.ID, sk.Progress); err != nil {
			// Removed or replaced meanwhile: stop here; a new sink has
			// its own cursor.
			return 0
		}
	}
	return 0
}

// failed records a failed delivery and schedules the retry.
func (w *Worker) failed(ctx context.Context, sk *vault.AuditSink, st *sinkState, err error) time.Duration {
	now := w.opts.Now()
	w.mu.Lock()
	st.failures++
	failures := st.failures
	wait := w.opts.MinBackoff << min(failures-1, 20)
	if wait > w.opts.MaxBackoff || wait <= 0 {
		wait = w.opts.MaxBackoff
	}
	st.next = now.Add(wait)
	w.mu.Unlock()
	w.log.Warn().Str("tenant_id", sk.TenantID).Str("kind", sk.Config.Kind).Int("failures", failures).
		Dur("retry_in", wait).Str("error", err.Error()).Msg("audit sink delivery failed")
	sk.Progress.LastError, sk.Progress.LastErrorAt = err.Error(), now.UTC()
	sk.Progress.Pending = w.countPending(ctx, sk)
	if serr := w.opts.Store.SaveSinkProgress(ctx, sk.TenantID, sk.ID, sk.Progress); serr != nil && ctx.Err() == nil {
		w.log.Warn().Err(serr).Str("tenant_id", sk.TenantID).Msg("cannot record the audit sink's status")
	}
	return wait
}

// due returns the next checkpoint sk should get, or nil: the stored
// checkpoint after its cursor (the newest one, for a new sink); else one
// signed since at a size not above the cursor's — a heartbeat of the same
// size, or the tree the server signed after a rollback — which is
// delivered too, so that the firm's copy shows it.
func (w *Worker) due(ctx context.Context, sk *vault.AuditSink) (*audit.Checkpoint, error) {
	cur := sk.Progress.Cursor
	if cur.Size == 0 {
		return w.first(ctx, sk)
	}
	cs, err := w.opts.Source.CheckpointsAfter(ctx, sk.TenantID, cur.Size, 1)
	if err != nil || len(cs) > 0 {
		if len(cs) > 0 {
			return cs[0], nil
		}
		return nil, err
	}
	w.mu.Lock()
	c := w.latest[sk.TenantID]
	w.mu.Unlock()
	if c != nil && c.Size <= cur.Size && c.CreatedAt.After(cur.SignedAt) {
		return c, nil
	}
	return nil, nil
}

// forget drops c from the checkpoints noted by OnSigned once it is
// delivered, so it is never taken for one signed since.
func (w *Worker) forget(c *audit.Checkpoint) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if l := w.latest[c.Tenant]; l != nil && l.Size == c.Size && l.CreatedAt.Equal(c.CreatedAt) && bytes.Equal(l.Note, c.Note) {
		delete(w.latest, c.Tenant)
	}
}

// first returns the checkpoint a new sink starts with: the newest stored
// when it was set, or else the first signed after; nil when there is none.
func (w *Worker) first(ctx context.Context, sk *vault.AuditSink) (*audit.Checkpoint, error) {
	c, err := w.opts.Source.CheckpointAtOrBefore(ctx, sk.TenantID, sk.CreatedAt)
	if !vault.IsCode(err, vault.ENOTFOUND) {
		return c, err
	}
	cs, err := w.opts.Source.CheckpointsAfter(ctx, sk.TenantID, 0, 1)
	if err != nil || len(cs) == 0 {
		return nil, err
	}
	return cs[0], nil
}

// object builds the object of c for sk, with the consistency proof from
// the cursor's checkpoint when c's tree is at least as large.
func (w *Worker) object(ctx context.Context, sk *vault.AuditSink, c *audit.Checkpoint) (*Object, error) {
	cur := sk.Progress.Cursor
	if cur.Size == 0 {
		return NewObject(c, nil, nil), nil
	}
	prev := &Previous{Size: cur.Size, Root: b64(cur.Root)}
	var proof tlog.TreeProof
	if c.Size > cur.Size {
		var err error
		if proof, err = w.opts.Source.ProveTree(ctx, sk.TenantID, cur.Size, c.Size); err != nil {
			return nil, err
		}
	}
	// A proof that does not hold is delivered all the same: the firm's copy
	// must show the fork. The server says so too.
	var root tlog.Hash
	copy(root[:], cur.Root)
	if c.Size >= cur.Size {
		if err := tlog.CheckTree(proof, c.Size, c.Root, cur.Size, root); err != nil {
			w.log.Error().Str("tenant_id", sk.TenantID).Int64("from", cur.Size).Int64("to", c.Size).
				Msg("audit log does not extend the checkpoint its sink holds: delivering it, the sink's verifier will fail")
		}
	} else {
		w.log.Error().Str("tenant_id", sk.TenantID).Int64("from", cur.Size).Int64("to", c.Size).
			Msg("audit log is shorter than the checkpoint its sink holds: delivering it, the sink's verifier will fail")
	}
	return NewObject(c, prev, proof), nil
}

// countPending counts the stored checkpoints after sk's cursor.
func (w *Worker) countPending(ctx context.Context, sk *vault.AuditSink) int64 {
	size := sk.Progress.Cursor.Size
	extra := int64(0)
	if size == 0 {
		// A new sink starts with the checkpoint first returns.
		c, err := w.first(ctx, sk)
		if err != nil || c == nil {
			return sk.Progress.Pending
		}
		size, extra = c.Size, 1
	}
	n, err := w.opts.Source.CountCheckpointsAfter(ctx, sk.TenantID, size)
	if err != nil {
		return sk.Progress.Pending
	}
	return n + extra
}
