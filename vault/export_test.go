package vault

import (
	"context"
	"sync"
	"time"
)

// PasswordChecks returns how many argon2id computations ran so far.
func PasswordChecks() uint64 { return hashRuns.Load() }

// LoginMinChecks is the number of password checks every sign-in costs at
// least.
const LoginMinChecks = loginMinChecks

// NewMemoryThrottle returns the in-memory limiter of earlier versions as a
// Throttle, for the benchmark that compares the database-backed throttle
// with it.
func NewMemoryThrottle() Throttle { return newMemoryThrottle() }

// DefaultThrottle returns the Throttle s uses.
func (s *Service) DefaultThrottle() Throttle { return s.throttle() }

// ManualRecheck stands in for the watchdog timers of a Service's reads, so
// that a test decides when "a second" has passed.
type ManualRecheck struct {
	mu     sync.Mutex
	timers []*manualTimer
}

type manualTimer struct {
	m     *ManualRecheck
	f     func()
	armed bool
	d     time.Duration
}

func (t *manualTimer) Reset(d time.Duration) bool {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	was := t.armed
	t.armed, t.d = true, d
	return was
}

func (t *manualTimer) Stop() bool {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	was := t.armed
	t.armed = false
	return was
}

// UseManualRecheck makes the watchdogs of reads s opens from now on fire
// only through Fire.
func UseManualRecheck(s *Service) *ManualRecheck {
	m := &ManualRecheck{}
	s.afterFunc = func(d time.Duration, f func()) recheckTimer {
		m.mu.Lock()
		defer m.mu.Unlock()
		t := &manualTimer{m: m, f: f, armed: true, d: d}
		m.timers = append(m.timers, t)
		return t
	}
	return m
}

// Fire fires the watchdog of the read opened last, as its timer would, if
// it is armed, and reports whether it was. The check runs before it
// returns.
func (m *ManualRecheck) Fire() bool {
	m.mu.Lock()
	if len(m.timers) == 0 || !m.timers[len(m.timers)-1].armed {
		m.mu.Unlock()
		return false
	}
	t := m.timers[len(m.timers)-1]
	t.armed = false
	m.mu.Unlock()
	t.f()
	return true
}

// Armed reports whether the watchdog of the read opened last is set to
// fire, and after how long.
func (m *ManualRecheck) Armed() (time.Duration, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.timers) == 0 {
		return 0, false
	}
	t := m.timers[len(m.timers)-1]
	return t.d, t.armed
}

// Rechecks returns how many times c's authorization was decided again
// after OpenVersion decided it first.
func Rechecks(c *Content) int {
	c.guard.mu.Lock()
	defer c.guard.mu.Unlock()
	return c.guard.checks
}

// Recheck decides c's authorization again now, as its watchdog would.
func Recheck(c *Content) error { return c.guard.check() }

// ChallengeUser is challengeUser, for the black-box tests (the passkey
// sign-in calls it to begin a WebAuthn assertion).
func (s *Service) ChallengeUser(ctx context.Context, challenge string) (*User, error) {
	return s.challengeUser(ctx, challenge)
}

// UserFactors is userFactors, for the black-box tests.
func (s *Service) UserFactors(ctx context.Context, u *User) ([]string, error) {
	return s.userFactors(ctx, u)
}
