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
	// DefaultUserUploads is how many uploads (new documents and new
	// versions) one user may have in progress at once. Uploads to an S3
	// region share a memory budget, and a user with many slow uploads
	// must not hold all of it.
	DefaultUserUploads = 4
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
		if c.GetBool(ctxPage) && c.Request.Header.Values(csrfHeader) == nil {
			// A page; the UI's scripts (uploads) read JSON.
			s.renderError(c, err)
		} else {
			s.Error(c, err)
		}
		return
	}
	c.Next()
}

// userSlots counts each signed-in user's requests in progress of one kind.
type userSlots struct {
	max int

	mu    sync.Mutex
	inUse map[string]int
}

func newUserSlots(max int) *userSlots { return &userSlots{max: max, inUse: map[string]int{}} }

// take claims one of userID's slots; false when all are in use.
func (l *userSlots) take(userID string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inUse[userID] >= l.max {
		return false
	}
	l.inUse[userID]++
	return true
}

// give returns a slot taken by take.
func (l *userSlots) give(userID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inUse[userID]--; l.inUse[userID] <= 0 {
		delete(l.inUse, userID)
	}
}

// limitUploads refuses a user's upload beyond their uploads in progress
// with 429 rate_limited, before any of its body is read.
func (s *Server) limitUploads(c *gin.Context) {
	u := actorOf(c)
	if u == nil || s.uploads == nil {
		c.Next()
		return
	}
	if !s.uploads.take(u.ID) {
		err := vault.Errorf(vault.ERATELIMITED, "Too many uploads at once: at most %d per user. Try again when one has finished.", s.uploads.max)
		err.RetryAfter = time.Second
		s.Error(c, err)
		return
	}
	defer s.uploads.give(u.ID)
	c.Next()
}
