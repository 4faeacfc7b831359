// Package mirror keeps every ciphertext blob of a region on two sites: the
// region's store (the primary) and its mirror (a second directory, S3
// endpoint or bucket). Store implements vault.BlobStore over the two:
// uploads fan out to both at once in constant memory; reads use the
// primary and fall back to the mirror when it fails, also in the middle of
// a stream; a part that fails authentication is read from the other site
// (vault.AlternateReader) and the damaged copy repaired; Scrub compares
// both sites and re-copies what is missing or damaged.
//
// The mirror holds exactly what the primary holds: ciphertext under the
// same keys. Nothing in this package sees plaintext or keys.
package mirror

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/vault"
)

// The two sites, as indexes of Store.sites.
const (
	primary = 0
	second  = 1
)

// siteNames name the sites in logs and reports.
var siteNames = [2]string{"primary", "mirror"}

// DefaultRetryAfter is how long a site that failed is read only after the
// other one.
const DefaultRetryAfter = 5 * time.Second

// Options configure a Store.
type Options struct {
	// Required makes Put succeed only once both sites hold the object
	// (require_mirror). Otherwise the primary must succeed, and a failure
	// of the mirror leaves the object pending for Scrub.
	Required bool
	// Log receives one line per fallback, repair and pending object.
	Log zerolog.Logger
	// RetryAfter is how long a site whose read failed is tried second;
	// default DefaultRetryAfter.
	RetryAfter time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Store is a vault.BlobStore over a primary site and its mirror.
type Store struct {
	sites      [2]vault.BlobStore
	required   bool
	log        zerolog.Logger
	retryAfter time.Duration
	now        func() time.Time

	downUntil [2]atomic.Int64 // unix nanoseconds until which a site is read second

	fallbacks atomic.Int64
	repaired  atomic.Int64

	mu        sync.Mutex
	pending   map[pendingKey]time.Time // what one site lacks, since when
	absent    map[pendingKey]bool      // what a failed Put left nowhere: no delete needed
	lastScrub scrubState
	repairs   sync.WaitGroup
}

var (
	_ vault.BlobStore       = (*Store)(nil)
	_ vault.ChecksumStore   = (*Store)(nil)
	_ vault.MirrorReporter  = (*Store)(nil)
	_ vault.AlternateReader = (*Store)(nil)
)

// New returns a Store over the primary p and the mirror m.
func New(p, m vault.BlobStore, opt Options) *Store {
	s := &Store{
		sites: [2]vault.BlobStore{p, m}, required: opt.Required, log: opt.Log,
		retryAfter: opt.RetryAfter, now: opt.Now,
		pending: map[pendingKey]time.Time{}, absent: map[pendingKey]bool{},
	}
	if s.retryAfter <= 0 {
		s.retryAfter = DefaultRetryAfter
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// SetLog sets the logger, before the store is used.
func (s *Store) SetLog(l zerolog.Logger) { s.log = l }

// Primary returns the region's own site.
func (s *Store) Primary() vault.BlobStore { return s.sites[primary] }

// Mirror returns the second site.
func (s *Store) Mirror() vault.BlobStore { return s.sites[second] }

// Required reports whether an upload needs both sites.
func (s *Store) Required() bool { return s.required }

// Wait waits for the repairs started in the background so far.
func (s *Store) Wait() { s.repairs.Wait() }

// order returns the sites in the order a read tries them: the primary
// first, unless it failed within RetryAfter.
func (s *Store) order() (first, other int) {
	if s.isDown(primary) && !s.isDown(second) {
		return second, primary
	}
	return primary, second
}

func (s *Store) isDown(i int) bool { return s.now().UnixNano() < s.downUntil[i].Load() }

// failed notes that site i failed to answer (not a missing object).
func (s *Store) failed(i int, err error) {
	if vault.IsCode(err, vault.EUNAVAILABLE) && !errors.Is(err, context.Canceled) {
		s.downUntil[i].Store(s.now().Add(s.retryAfter).UnixNano())
	}
}

// Ping checks the primary: without it nothing can be stored. The mirror
// has PingMirror.
func (s *Store) Ping(ctx context.Context) error { return s.sites[primary].Ping(ctx) }

// PingMirror checks the mirror site. Errors: unavailable.
func (s *Store) PingMirror(ctx context.Context) error { return s.sites[second].Ping(ctx) }

// UploadMemory is the sum of the sites' upload memory budgets, for those
// that have one (vault/s3).
func (s *Store) UploadMemory() vault.MemoryBudget {
	var b vault.MemoryBudget
	for _, st := range s.sites {
		if u, ok := st.(interface{ UploadMemory() vault.MemoryBudget }); ok {
			m := u.UploadMemory()
			b.Limit += m.Limit
			b.InUse += m.InUse
			b.Waiting += m.Waiting
			b.Denied += m.Denied
		}
	}
	return b
}

// Delete removes key from both sites. A site that cannot be reached keeps
// a pending delete, which Scrub finishes; Delete then succeeds, as the
// object is gone from the other site and unreferenced. Errors: invalid,
// and unavailable or internal when neither site could delete it.
func (s *Store) Delete(ctx context.Context, key string) error {
	var errs [2]error
	var wg sync.WaitGroup
	for i, st := range s.sites {
		pk := pendingKey{key, i, opDelete}
		s.mu.Lock()
		skip := s.absent[pk]
		delete(s.absent, pk)
		s.mu.Unlock()
		if skip {
			continue
		}
		wg.Go(func() { errs[i] = st.Delete(ctx, key) })
	}
	wg.Wait()
	for i, err := range errs {
		if vault.IsCode(err, vault.EINVALID) {
			return err
		}
		s.clearPending(key, i, opCopy)
		if err != nil {
			s.addPending(key, i, opDelete, err)
		} else {
			s.clearPending(key, i, opDelete)
		}
	}
	if errs[0] != nil && errs[1] != nil {
		return errs[0]
	}
	return nil
}

// List lists the objects either site holds, in key order, once each: the
// two sites' listings merged as they stream (a site that came back empty,
// or missed an upload, hides nothing). A site that cannot be listed is
// left out; when neither can, List fails. Errors: as
// vault.BlobStore.List, and fn's.
func (s *Store) List(ctx context.Context, prefix string, fn func(vault.BlobInfo) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		chans [2]chan vault.BlobInfo
		errs  [2]error
	)
	for i, st := range s.sites {
		chans[i] = make(chan vault.BlobInfo, 64)
		go func() {
			defer close(chans[i])
			errs[i] = st.List(ctx, prefix, func(b vault.BlobInfo) error {
				select {
				case chans[i] <- b:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
		}()
	}
	var head [2]*vault.BlobInfo
	next := func(i int) {
		head[i] = nil
		if b, ok := <-chans[i]; ok {
			head[i] = &b
		}
	}
	next(primary)
	next(second)
	for head[primary] != nil || head[second] != nil {
		var b vault.BlobInfo
		switch p, m := head[primary], head[second]; {
		case m == nil || (p != nil && p.Key < m.Key):
			b = *p
			next(primary)
		case p == nil || m.Key < p.Key:
			b = *m
			next(second)
		default: // on both
			b = *p
			next(primary)
			next(second)
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	// Both channels are closed: errs are set.
	if errs[primary] != nil && errs[second] != nil {
		return errs[primary]
	}
	for i, err := range errs {
		if err != nil {
			if !vault.IsCode(err, vault.EUNAVAILABLE) {
				return err
			}
			s.failed(i, err)
		}
	}
	return nil
}

// Stat answers from the primary, or from the mirror when the primary fails
// or lacks the object. Errors: as vault.BlobStore.Stat.
func (s *Store) Stat(ctx context.Context, key string) (vault.BlobInfo, error) {
	first, other := s.order()
	info, err := s.sites[first].Stat(ctx, key)
	if err == nil || vault.IsCode(err, vault.EINVALID) || ctx.Err() != nil {
		return info, err
	}
	s.failed(first, err)
	info2, err2 := s.sites[other].Stat(ctx, key)
	if err2 != nil {
		return info, pickErr(err, err2)
	}
	if vault.IsCode(err, vault.ENOTFOUND) {
		s.addPending(key, first, opCopy, err)
	}
	return info2, nil
}

// pickErr is the error to report when both sites failed: the first's,
// unless it could not be reached and the other could.
func pickErr(first, other error) error {
	if vault.IsCode(first, vault.EUNAVAILABLE) && !vault.IsCode(other, vault.EUNAVAILABLE) {
		return other
	}
	return first
}

// Checksum answers from the primary, or from the mirror as Stat does.
// Errors: as vault.ChecksumStore.Checksum.
func (s *Store) Checksum(ctx context.Context, key string) (vault.BlobInfo, uint64, bool, error) {
	first, other := s.order()
	info, sum, ok, err := checksumOf(ctx, s.sites[first], key)
	if err == nil || vault.IsCode(err, vault.EINVALID) || ctx.Err() != nil {
		return info, sum, ok, err
	}
	s.failed(first, err)
	info2, sum2, ok2, err2 := checksumOf(ctx, s.sites[other], key)
	if err2 != nil {
		return info, sum, ok, pickErr(err, err2)
	}
	return info2, sum2, ok2, nil
}

// checksumOf is st's checksum of key, or its size alone (false) from a
// store that keeps none.
func checksumOf(ctx context.Context, st vault.BlobStore, key string) (vault.BlobInfo, uint64, bool, error) {
	if cs, ok := st.(vault.ChecksumStore); ok {
		return cs.Checksum(ctx, key)
	}
	info, err := st.Stat(ctx, key)
	return info, 0, false, err
}

// errClosed ends a fan-out stream whose upload is abandoned.
var errClosed = errors.New("mirror: upload abandoned")

// discard deletes key from site i after a failed upload; a delete that
// fails stays pending.
func (s *Store) discard(ctx context.Context, key string, i int) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.sites[i].Delete(ctx, key); err != nil {
		s.addPending(key, i, opDelete, err)
		return false
	}
	return true
}

// readAt opens bytes [off, off+n) of key on site i (n < 0: to the end).
func (s *Store) readAt(ctx context.Context, i int, key string, off, n int64) (io.ReadCloser, error) {
	return s.sites[i].Get(ctx, key, off, n)
}
