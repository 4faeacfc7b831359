package mirror

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/casevault/casevault/vault"
)

// Get reads from the primary and falls back to the mirror when the primary
// fails or lacks the object — also in the middle of the stream: a read
// that fails after some bytes goes on from the mirror at the same offset,
// so the caller sees no error. Errors: as vault.BlobStore.Get, when both
// sites fail.
func (s *Store) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	first, other := s.order()
	trace := vault.ReadTraceFrom(ctx)
	rc, err := s.readAt(ctx, first, key, offset, length)
	if err == nil {
		noteSite(trace, first)
		return &fallbackReader{s: s, ctx: ctx, key: key, off: offset, length: length, cur: rc, site: first, other: other, trace: trace}, nil
	}
	if ctx.Err() != nil {
		return nil, err
	}
	s.failed(first, err)
	rc2, err2 := s.readAt(ctx, other, key, offset, length)
	if err2 != nil {
		return nil, pickErr(err, err2)
	}
	s.fellBack(key, first, err)
	noteSite(trace, other)
	return &fallbackReader{s: s, ctx: ctx, key: key, off: offset, length: length, cur: rc2, site: other, other: -1, trace: trace}, nil
}

// noteSite records in trace, when there is one, that site serves the read.
func noteSite(trace *vault.ReadTrace, site int) {
	if trace != nil {
		trace.Note(site)
	}
}

// servedSite returns the site that served the read traced in ctx, or, with
// no trace, the one Get reads first.
func (s *Store) servedSite(ctx context.Context) int {
	if t := vault.ReadTraceFrom(ctx); t != nil {
		if site, ok := t.Site(); ok && (site == primary || site == second) {
			return site
		}
	}
	first, _ := s.order()
	return first
}

// fellBack counts a read served by the other site than site i, and notes
// that site i lacks an object it said was not there.
func (s *Store) fellBack(key string, i int, err error) {
	s.fallbacks.Add(1)
	if vault.IsCode(err, vault.ENOTFOUND) {
		s.addPending(key, i, opCopy, err)
	}
	s.log.Debug().Err(err).Str("site", siteNames[i]).Str("tenant_id", tenantOf(key)).Str("blob_key", key).Msg("mirror: read served by the other site")
}

// fallbackReader reads one range from one site and, when that site fails
// in the middle, goes on from the other at the offset reached.
type fallbackReader struct {
	s      *Store
	ctx    context.Context
	key    string
	off    int64 // offset of the range
	length int64 // of the range, < 0 to the end
	read   int64 // bytes returned so far
	cur    io.ReadCloser
	site   int
	other  int              // the site to go on from, -1 once used
	trace  *vault.ReadTrace // nil when the read is not traced
}

func (f *fallbackReader) Read(p []byte) (int, error) {
	n, err := f.cur.Read(p)
	f.read += int64(n)
	if err == nil || errors.Is(err, io.EOF) || f.other < 0 || f.ctx.Err() != nil {
		return n, err
	}
	rest := int64(-1)
	if f.length >= 0 {
		rest = f.length - f.read
	}
	next, oerr := f.s.readAt(f.ctx, f.other, f.key, f.off+f.read, rest)
	if oerr != nil {
		return n, err
	}
	f.s.failed(f.site, vault.WrapError(vault.EUNAVAILABLE, err, "Read failed."))
	f.s.fellBack(f.key, f.site, err)
	f.cur.Close()
	f.cur, f.site, f.other = next, f.other, -1
	noteSite(f.trace, f.site)
	if n > 0 {
		return n, nil
	}
	return f.Read(p)
}

func (f *fallbackReader) Close() error { return f.cur.Close() }

// GetAlternate reads the range from the other site than the one that
// served the read traced in ctx (or, with no trace, than the one Get reads
// first). Errors: as Get.
func (s *Store) GetAlternate(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	site := 1 - s.servedSite(ctx)
	if t := vault.ReadTraceFrom(ctx); t != nil {
		t.NoteAlternate(site)
	}
	return s.readAt(ctx, site, key, offset, length)
}

// RepairFromAlternate re-copies key, in the background, from the site
// GetAlternate read the part from (as traced in ctx) onto the other — the
// one that served the read (or, with no trace, the one Get reads first),
// whose copy failed authentication where the other's passed. The
// direction is the trace's, not the order Get would read in by now: a
// site read second for a while may be read first again, and a copy must
// never go from the damaged site to the good one. A repair that cannot
// complete stays pending for Scrub.
func (s *Store) RepairFromAlternate(ctx context.Context, key string) {
	bad := s.servedSite(ctx)
	if t := vault.ReadTraceFrom(ctx); t != nil {
		// The copy that authenticated is the one GetAlternate read,
		// whatever the trace of the first reads says by now.
		if alt, ok := t.Alternate(); ok && (alt == primary || alt == second) {
			bad = 1 - alt
		}
	}
	good := 1 - bad
	s.fallbacks.Add(1)
	s.addPending(key, bad, opCopy, errors.New("a part failed authentication"))
	s.repairs.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if err := s.copyObject(ctx, key, good, bad); err != nil {
			s.log.Error().Err(err).Str("site", siteNames[bad]).Str("tenant_id", tenantOf(key)).Str("blob_key", key).Msg("mirror: repair failed; left pending for scrub")
			return
		}
		s.log.Warn().Str("site", siteNames[bad]).Str("tenant_id", tenantOf(key)).Str("blob_key", key).Msg("mirror: damaged copy repaired from the other site")
	})
}

// copyObject copies key from site src onto site dst, checked end to end
// (copyChecked), and clears what dst owed of it.
func (s *Store) copyObject(ctx context.Context, key string, src, dst int) error {
	info, err := s.sites[src].Stat(ctx, key)
	if err != nil {
		return err
	}
	if _, err := copyChecked(ctx, s.sites[src], s.sites[dst], info); err != nil {
		return err
	}
	s.repaired.Add(1)
	s.clearPending(key, dst, opCopy)
	return nil
}
