package web

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"github.com/casevault/casevault/vault"
)

// Per-user request limits. Every request is recorded in the audit log, and
// a full audit disk stops the service by design, so one account must not
// be able to write without bound. The defaults are far above what a person
// or a sequential script does.
const (
	DefaultUserRate  = 20  // requests per second, sustained
	DefaultUserBurst = 200 // requests at once
	maxUserLimiters  = 10000
)

// userLimiter holds a token bucket per signed-in user.
type userLimiter struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

func newUserLimiter(perSecond float64, burst int) *userLimiter {
	return &userLimiter{rate: rate.Limit(perSecond), burst: burst, buckets: map[string]*rate.Limiter{}}
}

// allow takes one token of userID's bucket, or says how long until one is
// there.
func (l *userLimiter) allow(userID string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	b := l.buckets[userID]
	if b == nil {
		if len(l.buckets) >= maxUserLimiters {
			// Forget every bucket: at worst each user gets a fresh burst.
			l.buckets = map[string]*rate.Limiter{}
		}
		b = rate.NewLimiter(l.rate, l.burst)
		l.buckets[userID] = b
	}
	l.mu.Unlock()
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// limitUser refuses a signed-in user's requests beyond their rate with 429
// rate_limited and Retry-After.
func (s *Server) limitUser(c *gin.Context) {
	u := actorOf(c)
	if u == nil || s.limiter == nil {
		c.Next()
		return
	}
	if ok, wait := s.limiter.allow(u.ID, time.Now()); !ok {
		secs := int64(math.Ceil(wait.Seconds()))
		err := vault.Errorf(vault.ERATELIMITED, "Too many requests; try again in %s s.", strconv.FormatInt(secs, 10))
		err.RetryAfter = wait
		s.Error(c, err)
		return
	}
	c.Next()
}
