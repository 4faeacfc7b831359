// Package witness submits the audit log's checkpoints to independent
// witnesses over the C2SP tlog-witness protocol (c2sp.org/tlog-witness),
// with consistency proofs from the tree each witness knows, and stores the
// cosignatures they return in the audit log, from where bundles carry them.
//
// A witness cosigns a checkpoint only when it extends the one it cosigned
// before; a witness that accepted a checkpoint of a log and then refuses a
// later one of it (403 or 422) has seen a different history under the same
// key — a split view or a fork — and the refusal is logged as an error and
// counted (casevault_audit_witness_refusals_total), never dropped.
//
// Submission never blocks an append: each witness has a queue that holds
// the latest checkpoint of each log (a newer one replaces an older one not
// yet sent) and a goroutine that sends them, retrying with backoff.
package witness

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"filippo.io/torchwood"
	"github.com/rs/zerolog"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/vault"
)

// Defaults of Options.
const (
	DefaultTimeout    = 10 * time.Second
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = time.Minute
)

// Endpoint is one witness: where it listens, the key its cosignatures are
// checked with, and which logs it witnesses.
type Endpoint struct {
	Name string // the witness key's name, as in its verifier key
	URL  string // base URL; checkpoints go to URL + "/add-checkpoint"
	Key  string // cosignature verifier key, name+hash+base64 (algorithm 0x04)
	// Tenants and Regions, when either is set, limit the witness to the
	// logs of those firms and of the firms in those regions ("service" is
	// the service-wide log). Both empty: every log.
	Tenants []string
	Regions []string
}

// Options configure a Client.
type Options struct {
	Witnesses []Endpoint
	// RegionOf returns the region of a firm, for Endpoint.Regions.
	RegionOf func(ctx context.Context, tenant string) (string, error)
	// HTTP sends the requests; it defaults to a client with a 30 s timeout.
	HTTP *http.Client
	// Timeout bounds the wait of Cosign for all witnesses together
	// (default DefaultTimeout).
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the waits between retries.
	MinBackoff, MaxBackoff time.Duration
	Log                    zerolog.Logger
}

// Client submits checkpoints to witnesses. Submit is Options.OnSigned of
// the audit log; Start gives it the log once it is open.
type Client struct {
	opts Options
	log  zerolog.Logger
	ws   []*witness

	start     chan struct{}
	startOnce sync.Once
	stop      chan struct{}
	stopOnce  sync.Once
	wg        sync.WaitGroup
	alog      Log
}

// Log is the audit log the client reads proofs from and stores
// cosignatures in; *audit.Log and *audit.Router implement it.
type Log interface {
	ProveTree(ctx context.Context, tenant string, from, to int64) (tlog.TreeProof, error)
	AddCosignature(ctx context.Context, tenant string, size int64, line string) error
	Size(ctx context.Context, tenant string) (int64, error)
	Cosignatures(ctx context.Context, tenant string, size int64) ([]*audit.Cosignature, error)
}

// witness is one Endpoint with its queue and what it is known to hold.
type witness struct {
	Endpoint
	verifier *torchwood.CosignatureVerifier
	c        *Client

	// turn (a one-slot semaphore, so that a wait for it can end with its
	// context) serialises the submissions to this witness, so that what it
	// is known to hold stays in step with what was sent.
	turn  chan struct{}
	known map[string]int64 // tenant → tree size the witness holds, once learned (409 or 200)

	qmu     sync.Mutex
	pending map[string]*audit.Checkpoint // the latest queued checkpoint of each log
	refused map[string]bool              // logs whose latest submission it refused
	wake    chan struct{}

	cosigned, failures, refusals, dropped atomic.Int64
}

// New checks the witnesses' keys and returns a Client; its goroutines wait
// for Start. Errors: invalid.
func New(opts Options) (*Client, error) {
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(DefaultMaxBackoff, opts.MinBackoff)
	}
	c := &Client{opts: opts, log: opts.Log.With().Str("component", "witness").Logger(), start: make(chan struct{}), stop: make(chan struct{})}
	seen := map[string]bool{}
	for _, e := range opts.Witnesses {
		v, err := audit.ParseCosignatureKey(e.Key)
		if err != nil {
			return nil, vault.WrapError(vault.EINVALID, err, "Witness %q: invalid key.", e.Name)
		}
		if v.Name() != e.Name {
			return nil, vault.Errorf(vault.EINVALID, "Witness %q: its key is named %q.", e.Name, v.Name())
		}
		if seen[e.Name] {
			return nil, vault.Errorf(vault.EINVALID, "Witness %q is configured twice.", e.Name)
		}
		seen[e.Name] = true
		w := &witness{Endpoint: e, verifier: v, c: c, turn: make(chan struct{}, 1), known: map[string]int64{}, pending: map[string]*audit.Checkpoint{},
			refused: map[string]bool{}, wake: make(chan struct{}, 1)}
		c.ws = append(c.ws, w)
		c.wg.Add(1)
		go w.run()
	}
	return c, nil
}

// Start gives the client the audit log its checkpoints come from and
// starts sending what was queued.
func (c *Client) Start(l Log) {
	c.startOnce.Do(func() {
		c.alog = l
		close(c.start)
	})
}

// Close stops the goroutines; queued checkpoints are not sent.
func (c *Client) Close() error {
	c.stopOnce.Do(func() { close(c.stop) })
	c.wg.Wait()
	return nil
}

// Submit queues c for every witness of its log. It never blocks (a
// witness limited to regions is checked for the firm's region later, by
// its goroutine): a newer checkpoint of a log replaces one still queued.
func (c *Client) Submit(ck *audit.Checkpoint) {
	for _, w := range c.ws {
		if len(w.Regions) == 0 && !w.covers(ck.Tenant) {
			continue
		}
		w.qmu.Lock()
		if old := w.pending[ck.Tenant]; old != nil {
			if old.Size > ck.Size {
				w.qmu.Unlock()
				continue
			}
			w.dropped.Add(1)
		}
		w.pending[ck.Tenant] = ck
		w.qmu.Unlock()
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// Cosign submits ck to every witness of its log at once, and returns when
// each has cosigned it (the cosignature stored), refused it, or
// Options.Timeout is over. A witness that already cosigned ck is not asked
// again. It implements audit.Witnesser, for exports.
func (c *Client) Cosign(ctx context.Context, ck *audit.Checkpoint) {
	select {
	case <-c.start:
	default:
		return
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	have := map[string]bool{}
	if cs, err := c.alog.Cosignatures(ctx, ck.Tenant, ck.Size); err == nil {
		for _, s := range cs {
			have[fmt.Sprintf("%s+%08x", s.Name, s.Hash)] = true
		}
	}
	var wg sync.WaitGroup
	for _, w := range c.ws {
		if !w.covers(ck.Tenant) || have[fmt.Sprintf("%s+%08x", w.verifier.Name(), w.verifier.KeyHash())] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.submit(ctx, ck); err != nil {
				w.c.log.Warn().Err(err).Str("witness", w.Name).Str("tenant_id", ck.Tenant).Int64("size", ck.Size).
					Msg("witness did not cosign the export's checkpoint")
			}
		}()
	}
	wg.Wait()
}

var _ audit.Witnesser = (*Client)(nil)

// Stats returns each witness's counters, in configuration order.
func (c *Client) Stats() []vault.WitnessStats {
	out := make([]vault.WitnessStats, 0, len(c.ws))
	for _, w := range c.ws {
		w.qmu.Lock()
		refusing, waiting := 0, len(w.pending)
		for _, r := range w.refused {
			if r {
				refusing++
			}
		}
		w.qmu.Unlock()
		out = append(out, vault.WitnessStats{
			Name: w.Name, Cosigned: w.cosigned.Load(), Failures: w.failures.Load(), Refusals: w.refusals.Load(),
			Refusing: int64(refusing), Dropped: w.dropped.Load(), Waiting: int64(waiting),
		})
	}
	return out
}

// Refusing returns, for each witness that refuses the latest checkpoint of
// some log, those logs' tenants, sorted.
func (c *Client) Refusing() map[string][]string {
	out := map[string][]string{}
	for _, w := range c.ws {
		w.qmu.Lock()
		for t, r := range w.refused {
			if r {
				out[w.Name] = append(out[w.Name], t)
			}
		}
		w.qmu.Unlock()
		sort.Strings(out[w.Name])
	}
	return out
}

// covers reports whether the witness witnesses tenant's log.
func (w *witness) covers(tenant string) bool {
	if len(w.Tenants) == 0 && len(w.Regions) == 0 {
		return true
	}
	if slices.Contains(w.Tenants, tenant) {
		return true
	}
	if len(w.Regions) == 0 {
		return false
	}
	region := "service"
	if tenant != "" {
		if w.c.opts.RegionOf == nil {
			return false
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		r, err := w.c.opts.RegionOf(ctx, tenant)
		cancel()
		if err != nil {
			w.c.log.Warn().Err(err).Str("witness", w.Name).Str("tenant_id", tenant).Msg("cannot tell the region of a firm for its witnesses")
			return false
		}
		region = r
	}
	return slices.Contains(w.Regions, region)
}

// run sends the queued checkpoints, one log at a time, until Close.
func (w *witness) run() {
	defer w.c.wg.Done()
	select {
	case <-w.c.start:
	case <-w.c.stop:
		return
	}
	backoff := time.Duration(0)
	for {
		ck := w.next()
		if ck == nil {
			select {
			case <-w.wake:
				continue
			case <-w.c.stop:
				return
			}
		}
		if !w.covers(ck.Tenant) {
			w.done(ck)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), w.c.opts.Timeout)
		err := w.submit(ctx, ck)
		cancel()
		if err == nil {
			w.done(ck)
			backoff = 0
			continue
		}
		// Retried later, unless a newer checkpoint of the log came in.
		w.failures.Add(1)
		backoff = min(max(2*backoff, w.c.opts.MinBackoff), w.c.opts.MaxBackoff)
		w.c.log.Warn().Err(err).Str("witness", w.Name).Str("tenant_id", ck.Tenant).Int64("size", ck.Size).
			Dur("retry_in", backoff).Msg("checkpoint not submitted to witness")
		select {
		case <-time.After(backoff):
		case <-w.c.stop:
			return
		}
	}
}

// next returns a queued checkpoint, or nil.
func (w *witness) next() *audit.Checkpoint {
	w.qmu.Lock()
	defer w.qmu.Unlock()
	tenants := make([]string, 0, len(w.pending))
	for t := range w.pending {
		tenants = append(tenants, t)
	}
	if len(tenants) == 0 {
		return nil
	}
	sort.Strings(tenants)
	return w.pending[tenants[0]]
}

// done takes ck off the queue, unless a newer one replaced it.
func (w *witness) done(ck *audit.Checkpoint) {
	w.qmu.Lock()
	defer w.qmu.Unlock()
	if w.pending[ck.Tenant] == ck {
		delete(w.pending, ck.Tenant)
	}
}
