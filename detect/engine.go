// Package detect evaluates CaseVault's breach-detection rules as events
// are appended to a firm's audit log (vault.Service.WithDetection). Every
// rule works on in-memory counters with the firm's settings cached: the
// only database work is reading a firm's settings and hourly counts the
// first time one of its events is seen, writing the hourly counts in
// batches (Flush), and reading and adding the hashed sources of an API
// token the first time it is seen and when it is used from a new one.
package detect

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/vault"
)

// Options configure an Engine.
type Options struct {
	// Settings returns a firm's settings (vault.Service.LoadDetectionSettings).
	// Nil: the defaults.
	Settings func(ctx context.Context, tenantID string) (vault.DetectionSettings, error)
	// Store keeps the baseline's hourly counts and the API tokens' hashed
	// sources across restarts. Nil: they are kept in memory only.
	Store vault.DetectionStore
	// SourceHash is the keyed hash of a token's source
	// (vault.Service.TokenSourceHash). Required for token_new_source.
	SourceHash func(ctx context.Context, tenantID, tokenID, source string) ([]byte, error)
	// Log receives the failures of the database work (never sources).
	Log zerolog.Logger
}

// Engine is the rule engine. It implements vault.Detector.
type Engine struct {
	opt   Options
	mu    sync.RWMutex
	firms map[string]*firm
	gone  map[string]bool // firms forgotten (Forget): never observed or written again

	flushMu sync.Mutex // held by Flush, and by Forget to wait for one in progress
}

var _ vault.Detector = (*Engine)(nil)

// New returns an Engine.
func New(opt Options) *Engine {
	opt.Log = opt.Log.With().Str("component", "detect").Logger()
	return &Engine{opt: opt, firms: map[string]*firm{}, gone: map[string]bool{}}
}

// firm is one firm's settings and counters.
type firm struct {
	mu         sync.Mutex
	st         vault.DetectionSettings
	configured bool           // st was set by Configure or loaded
	retryAt    time.Time      // when loading the settings failed: when to try again
	loc        *time.Location // the working hours' zone
	open       [7]bool        // working days by time.Weekday
	start, end int            // working hours, minutes after midnight
	offDay     map[string]int // user id → local day (yyyymmdd) off_hours last fired

	sessions map[string]*session    // token id →
	hourly   map[string]*window     // user id → views+downloads
	denied   map[string]*window     // user id → access.denied
	spray    map[string]*distinct   // source → accounts failing
	sources  map[string]*distinct   // account → sources failing
	grants   map[string][]selfGrant // user id → their grants to themselves
	tokens   map[string]*tokenSeen  // token id →
	seed     maphash.Seed

	baseLoaded bool
	hours      map[string]map[int64]int // user id → hour (unix) → views+downloads
	dirty      map[string]map[int64]int // counts not yet written
	newSources []vault.TokenSource      // token sources not yet written
	base       map[string]*baseline     // user id →
}

// session is one sign-in token's count of views and downloads.
type session struct {
	n    int
	seqs []int64
	last time.Time
}

// selfGrant is a grant to oneself and the reads of its matter since.
type selfGrant struct {
	seq    int64
	at     time.Time
	matter string
	reads  []int64
	fired  bool
}

// tokenSeen are the hashed sources an API token was used from: their
// keyed hashes as stored, and, for speed, the process's own short hashes
// of those seen here (maphash under a random seed of the process), so
// that a source seen before costs no keyed hash.
type tokenSeen struct {
	hashes map[string]bool
	fast   map[uint64]bool
}

// baseline is a user's mean hourly count over the last vault.BaselineDays,
// computed once per hour, and this hour's evidence.
type baseline struct {
	hour  int64
	mean  float64
	seqs  []int64
	fired bool // this hour
}

func newFirm() *firm {
	return &firm{
		st: vault.DefaultDetectionSettings(), loc: time.UTC,
		sessions: map[string]*session{}, hourly: map[string]*window{}, denied: map[string]*window{},
		spray: map[string]*distinct{}, sources: map[string]*distinct{}, grants: map[string][]selfGrant{},
		tokens: map[string]*tokenSeen{}, hours: map[string]map[int64]int{}, dirty: map[string]map[int64]int{},
		base: map[string]*baseline{}, offDay: map[string]int{}, seed: maphash.MakeSeed(),
	}
}

// firmOf returns tenantID's state, created on first use.
func (e *Engine) firmOf(tenantID string) *firm {
	e.mu.RLock()
	f := e.firms[tenantID]
	e.mu.RUnlock()
	if f != nil {
		return f
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.gone[tenantID] {
		return newFirm() // forgotten: state of this call only, never flushed
	}
	if f = e.firms[tenantID]; f == nil {
		f = newFirm()
		e.firms[tenantID] = f
	}
	return f
}

// Configure replaces the settings used for tenantID.
func (e *Engine) Configure(tenantID string, st vault.DetectionSettings) {
	f := e.firmOf(tenantID)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setSettings(st)
}

func (f *firm) setSettings(st vault.DetectionSettings) {
	f.st, f.configured = st, true
	wh := st.WorkingHours
	f.loc = time.UTC
	if loc, err := time.LoadLocation(wh.TimeZone); err == nil {
		f.loc = loc
	}
	f.start, _ = vault.ClockMinutes(wh.Start)
	f.end, _ = vault.ClockMinutes(wh.End)
	f.open = [7]bool{}
	for d := time.Sunday; d <= time.Saturday; d++ {
		// A day is open when a moment of it, at the start of the hours, is.
		f.open[d] = wh.Within(time.Date(2023, 1, 1+int(d), 0, f.start, 0, 0, f.loc)) // 2023-01-01 was a Sunday
	}
}

// within reports whether t is inside the firm's working hours, with the
// parsed settings (WorkingHours.Within parses them on every call).
func (f *firm) within(t time.Time) bool {
	local := t.In(f.loc)
	m := local.Hour()*60 + local.Minute()
	return f.open[local.Weekday()] && m >= f.start && m < f.end
}

// Observe evaluates o against the rules of its firm.
func (e *Engine) Observe(ctx context.Context, o vault.Observation) []vault.Finding {
	ev := o.Event
	if e.forgotten(ev.TenantID) {
		return nil
	}
	f := e.firmOf(ev.TenantID)
	f.mu.Lock()
	defer f.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	e.load(ctx, f, ev.TenantID, ev.Time)
	return e.evaluate(ctx, f, o)
}

// load reads the firm's settings and hourly counts the first time.
func (e *Engine) load(ctx context.Context, f *firm, tenantID string, now time.Time) {
	if !f.configured && e.opt.Settings != nil && !now.Before(f.retryAt) {
		st, err := e.opt.Settings(ctx, tenantID)
		if err != nil {
			e.opt.Log.Error().Err(err).Str("tenant_id", tenantID).Msg("detection settings not read: using the defaults for a minute")
			f.retryAt = now.Add(time.Minute)
		} else {
			f.setSettings(st)
		}
	}
	if !f.baseLoaded && e.opt.Store != nil {
		counts, err := e.opt.Store.HourlyCounts(ctx, tenantID, now.Add(-vault.BaselineDays*24*time.Hour).Truncate(time.Hour))
		if err != nil {
			e.opt.Log.Error().Err(err).Str("tenant_id", tenantID).Msg("baseline counts not read")
		}
		sources, err := e.opt.Store.TokenSources(ctx, tenantID)
		if err != nil {
			e.opt.Log.Error().Err(err).Str("tenant_id", tenantID).Msg("token sources not read")
		}
		for token, hs := range sources {
			seen := f.token(token)
			for _, h := range hs {
				seen.hashes[string(h)] = true
			}
		}
		for _, c := range counts {
			byHour := f.hours[c.UserID]
			if byHour == nil {
				byHour = map[int64]int{}
				f.hours[c.UserID] = byHour
			}
			byHour[c.Hour.Unix()] += c.Count
		}
		f.baseLoaded = true
	} else if e.opt.Store == nil {
		f.baseLoaded = true
	}
}

// Flush writes the hourly counts and the API tokens' new sources gathered
// since the last Flush. Run calls it periodically,
// Close at the end.
func (e *Engine) Flush(ctx context.Context) error {
	e.flushMu.Lock()
	defer e.flushMu.Unlock()
	e.mu.RLock()
	firms := make(map[string]*firm, len(e.firms))
	for id, f := range e.firms {
		firms[id] = f
	}
	e.mu.RUnlock()
	var first error
	for id, f := range firms {
		f.mu.Lock()
		dirty, sources := f.dirty, f.newSources
		f.dirty, f.newSources = map[string]map[int64]int{}, nil
		f.mu.Unlock()
		if e.opt.Store == nil {
			continue
		}
		if len(sources) > 0 {
			if err := e.opt.Store.AddTokenSources(ctx, id, sources); err != nil {
				e.opt.Log.Error().Err(err).Str("tenant_id", id).Msg("token sources not written")
				if first == nil {
					first = err
				}
				f.mu.Lock()
				f.newSources = append(f.newSources, sources...)
				f.mu.Unlock()
			}
		}
		if len(dirty) == 0 {
			continue
		}
		var counts []vault.HourCount
		for user, byHour := range dirty {
			for h, n := range byHour {
				counts = append(counts, vault.HourCount{UserID: user, Hour: time.Unix(h, 0).UTC(), Count: n})
			}
		}
		if err := e.opt.Store.AddHourlyCounts(ctx, id, counts); err != nil {
			e.opt.Log.Error().Err(err).Str("tenant_id", id).Msg("baseline counts not written")
			if first == nil {
				first = err
			}
			// Kept for the next flush.
			f.mu.Lock()
			for user, byHour := range dirty {
				for h, n := range byHour {
					addCount(f.dirty, user, h, n)
				}
			}
			f.mu.Unlock()
		}
	}
	return first
}

// Run flushes every interval until ctx ends, then once more.
func (e *Engine) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			e.Flush(context.WithoutCancel(ctx))
			return
		case <-t.C:
			e.Flush(ctx)
		}
	}
}

// token returns the sources of token, created on first use.
func (f *firm) token(id string) *tokenSeen {
	seen := f.tokens[id]
	if seen == nil {
		seen = &tokenSeen{hashes: map[string]bool{}, fast: map[uint64]bool{}}
		f.tokens[id] = seen
	}
	return seen
}

func addCount(m map[string]map[int64]int, user string, hour int64, n int) {
	byHour := m[user]
	if byHour == nil {
		byHour = map[int64]int{}
		m[user] = byHour
	}
	byHour[hour] += n
}
