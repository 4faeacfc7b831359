package vault

import (
	"fmt"
	"testing"
	"time"
)

// The limiter is in-memory state that an attacker can feed: these tests pin
// its bound, which the black-box tests cannot see.
func TestLimiter_Bounded(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	l := newLimiter(3, 15*time.Minute, 100)

	// A flood of distinct keys never holds more than maxKeys.
	for i := range 1000 {
		l.fail(fmt.Sprintf("k%d", i), now.Add(time.Duration(i)*time.Millisecond))
		if got := len(l.fails); got > l.maxKeys {
			t.Fatalf("after %d failures the limiter holds %d keys, want at most %d", i+1, got, l.maxKeys)
		}
	}
	// The newest keys survive; the oldest were dropped.
	if _, ok := l.fails["k999"]; !ok {
		t.Error("newest key was dropped")
	}
	if _, ok := l.fails["k0"]; ok {
		t.Error("oldest key was kept")
	}

	// A key keeps at most max failures.
	for range 50 {
		l.fail("hot", now)
	}
	if got := len(l.fails["hot"]); got != l.max {
		t.Errorf("hot key holds %d failures, want %d", got, l.max)
	}

	// Once the window has passed, stale keys go first and a fresh key is
	// kept even while others are blocked.
	later := now.Add(time.Hour)
	l.fail("fresh", later)
	if got := len(l.fails); got != 1 {
		t.Errorf("after the window the limiter holds %d keys, want 1", got)
	}
	if _, blocked := l.blockedUntil("hot", later); blocked {
		t.Error("hot key still blocked after the window")
	}
}

func TestLimiter_Window(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	l := newLimiter(2, 10*time.Minute, 10)
	l.fail("a", t0)
	if _, blocked := l.blockedUntil("a", t0); blocked {
		t.Fatal("blocked after one failure of two")
	}
	l.fail("a", t0.Add(4*time.Minute))
	until, blocked := l.blockedUntil("a", t0.Add(5*time.Minute))
	if !blocked || !until.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("blockedUntil = %v, %v; want %v, true", until, blocked, t0.Add(10*time.Minute))
	}
	// The first failure leaves the window; one more is allowed, which
	// blocks again until the second leaves.
	if _, blocked := l.blockedUntil("a", t0.Add(10*time.Minute)); blocked {
		t.Fatal("still blocked when the first failure left the window")
	}
	l.fail("a", t0.Add(10*time.Minute))
	until, blocked = l.blockedUntil("a", t0.Add(10*time.Minute))
	if !blocked || !until.Equal(t0.Add(14*time.Minute)) {
		t.Fatalf("blockedUntil = %v, %v; want %v, true", until, blocked, t0.Add(14*time.Minute))
	}
	l.reset("a")
	if _, blocked := l.blockedUntil("a", t0.Add(10*time.Minute)); blocked {
		t.Fatal("blocked after reset")
	}
}

func TestSourceKey(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{" 192.0.2.1:8080 ", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2::9]:443", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"", ""},
		{"proxy-client", "proxy-client"},
	} {
		if got := NormalizeSource(tt.in); got != tt.want {
			t.Errorf("NormalizeSource(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
