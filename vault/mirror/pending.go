package mirror

import (
	"strings"
	"time"

	"github.com/casevault/casevault/vault"
)

// maxPending bounds the objects a Store remembers as pending; past it,
// only Scrub finds the rest.
const maxPending = 100000

// The operations a site may owe.
const (
	opCopy   = "copy"   // the site lacks the object, or holds a damaged copy
	opDelete = "delete" // the site still holds a deleted object
)

// pendingKey is one object one site owes.
type pendingKey struct {
	key  string
	site int
	op   string
}

// addPending notes that site i owes op on key, and logs it once.
func (s *Store) addPending(key string, i int, op string, cause error) {
	s.mu.Lock()
	pk := pendingKey{key, i, op}
	_, known := s.pending[pk]
	if !known && len(s.pending) < maxPending {
		s.pending[pk] = s.now()
	}
	s.mu.Unlock()
	if !known {
		s.log.Warn().Err(cause).Str("site", siteNames[i]).Str("op", op).Str("tenant_id", tenantOf(key)).Str("blob_key", key).
			Msg("mirror: object pending on a site; scrub will finish it")
	}
}

// clearPending forgets that site i owes op on key.
func (s *Store) clearPending(key string, i int, op string) {
	s.mu.Lock()
	delete(s.pending, pendingKey{key, i, op})
	s.mu.Unlock()
}

// pendingList returns what the sites owe, for Scrub.
func (s *Store) pendingList() []pendingKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]pendingKey, 0, len(s.pending))
	for pk := range s.pending {
		out = append(out, pk)
	}
	return out
}

// scrubState is the outcome of the last scrub, for MirrorStats.
type scrubState struct {
	finished time.Time
	findings int64
	err      string
}

// MirrorStats reports the pending objects (the mirror lag), the reads
// served from the other site, the objects repaired and the last scrub.
func (s *Store) MirrorStats() vault.MirrorStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := vault.MirrorStats{
		Required: s.required, Pending: int64(len(s.pending)),
		Fallbacks: s.fallbacks.Load(), Repaired: s.repaired.Load(),
		LastScrub: s.lastScrub.finished, LastScrubFindings: s.lastScrub.findings, LastScrubErr: s.lastScrub.err,
	}
	for _, since := range s.pending {
		if st.OldestPending.IsZero() || since.Before(st.OldestPending) {
			st.OldestPending = since
		}
	}
	return st
}

// tenantOf is the firm id a blob key starts with, for logs.
func tenantOf(key string) string {
	t, _, _ := strings.Cut(key, "/")
	return t
}
