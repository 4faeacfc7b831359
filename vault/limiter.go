package vault

import (
	"context"
	"sync"
	"time"
)

// The in-memory limiter's rules, as earlier versions enforced them: failures
// counted per account and per source address over a sliding window, each
// blocked outright past its maximum. It is kept only to compare the
// database-backed throttle against (BenchmarkService_LoginThrottle): it
// locks an account out for everyone once five guesses fail, blocks an
// office behind one address for anyone's failures, forgets everything on a
// restart and is not shared between processes.
const (
	loginWindow             = 15 * time.Minute
	loginMaxAccountFailures = 5
	loginMaxSourceFailures  = 20
	limiterMaxKeys          = 10000 // per limiter; bounds its memory
)

// memoryThrottle is the in-memory Throttle of earlier versions.
type memoryThrottle struct {
	accounts *limiter // failures per normalised email
	sources  *limiter // failures per source address

	// noticed maps an account and source to the end of the block last
	// recorded for them.
	noticedMu sync.Mutex
	noticed   map[string]time.Time
}

var _ Throttle = (*memoryThrottle)(nil)

func newMemoryThrottle() *memoryThrottle {
	return &memoryThrottle{
		accounts: newLimiter(loginMaxAccountFailures, loginWindow, limiterMaxKeys),
		sources:  newLimiter(loginMaxSourceFailures, loginWindow, limiterMaxKeys),
	}
}

// Check implements Throttle.
func (m *memoryThrottle) Check(_ context.Context, account, source string, now time.Time) (*Attempt, error) {
	a := &Attempt{at: now, account: account, source: source}
	until, blocked := m.accounts.blockedUntil(account, now)
	if source != "" {
		if t, ok := m.sources.blockedUntil(source, now); ok {
			blocked = true
			if t.After(until) {
				until = t
			}
		}
	}
	if !blocked {
		a.Allowed = true
		return a, nil
	}
	a.Until, a.Notice = until, m.firstNoticeOfBlock(account+"\x00"+source, until)
	return a, nil
}

// Failed implements Throttle.
func (m *memoryThrottle) Failed(_ context.Context, a *Attempt) error {
	m.accounts.fail(a.account, a.at)
	if a.source != "" {
		m.sources.fail(a.source, a.at)
	}
	return nil
}

// Succeeded implements Throttle: it resets the account, not the source.
func (m *memoryThrottle) Succeeded(_ context.Context, a *Attempt) error {
	m.accounts.reset(a.account)
	return nil
}

// Purge implements Throttle: the limiters drop stale keys as they go.
func (m *memoryThrottle) Purge(context.Context, time.Time) (int, error) { return 0, nil }

// firstNoticeOfBlock reports whether the block of key until until has not
// been seen before, and notes it. Its memory is bounded like the limiters':
// past limiterMaxKeys it starts over, at worst recording a block twice.
func (m *memoryThrottle) firstNoticeOfBlock(key string, until time.Time) bool {
	m.noticedMu.Lock()
	defer m.noticedMu.Unlock()
	if m.noticed == nil || len(m.noticed) >= limiterMaxKeys {
		m.noticed = map[string]time.Time{}
	}
	if m.noticed[key].Equal(until) {
		return false
	}
	m.noticed[key] = until
	return true
}

// limiter counts failures per key over a sliding window and blocks a key
// that has max failures within it. It keeps at most maxKeys keys, dropping
// stale ones first and then those whose last failure is oldest.
type limiter struct {
	max     int
	window  time.Duration
	maxKeys int

	mu    sync.Mutex
	fails map[string][]time.Time // per key, oldest first, at most max
}

func newLimiter(max int, window time.Duration, maxKeys int) *limiter {
	return &limiter{max: max, window: window, maxKeys: maxKeys, fails: make(map[string][]time.Time)}
}

// blockedUntil reports whether key is blocked at now, and until when.
func (l *limiter) blockedUntil(key string, now time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.recent(key, now)
	if len(f) < l.max {
		return time.Time{}, false
	}
	// Blocked until the oldest of the last max failures leaves the window.
	return f[len(f)-l.max].Add(l.window), true
}

// fail records a failure of key at now.
func (l *limiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := append(l.recent(key, now), now)
	if len(f) > l.max {
		f = append([]time.Time(nil), f[len(f)-l.max:]...)
	}
	l.fails[key] = f
	if len(l.fails) > l.maxKeys {
		l.prune(key, now)
	}
}

// reset forgets key's failures.
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}

// recent drops key's failures that have left the window at now and returns
// the rest. Called with mu held.
func (l *limiter) recent(key string, now time.Time) []time.Time {
	f, ok := l.fails[key]
	if !ok {
		return nil
	}
	cutoff := now.Add(-l.window)
	i := 0
	for i < len(f) && !f[i].After(cutoff) {
		i++
	}
	if i == len(f) {
		delete(l.fails, key)
		return nil
	}
	if i > 0 {
		f = f[i:]
		l.fails[key] = f
	}
	return f
}

// prune brings the number of keys down to maxKeys, never dropping keep, the
// key that just failed. Called with mu held.
func (l *limiter) prune(keep string, now time.Time) {
	for k := range l.fails {
		l.recent(k, now)
	}
	for len(l.fails) > l.maxKeys {
		var oldest string
		var at time.Time
		found := false
		for k, f := range l.fails {
			if last := f[len(f)-1]; k != keep && (!found || last.Before(at)) {
				oldest, at, found = k, last, true
			}
		}
		if !found {
			return
		}
		delete(l.fails, oldest)
	}
}
