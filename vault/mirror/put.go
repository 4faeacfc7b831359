package mirror

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/casevault/casevault/vault"
)

// chunkSize is how much of the source the fan-out holds at once: one
// buffer, written to both sites before the next is read.
const chunkSize = 256 << 10

var chunks = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// Put streams r to both sites at once, in constant memory (one chunk in
// flight; no temporary file, no whole-object buffer). With Required, it
// succeeds only when both sites hold the object, and otherwise deletes
// what either kept and fails with unavailable. Without, the primary must
// succeed; a mirror that fails leaves the object pending for Scrub.
// Errors: invalid (bad key, size mismatch), unavailable, internal, or the
// error of r.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) (int64, error) {
	n, _, err := s.put(ctx, key, r, size, false)
	return n, err
}

// PutChecked is Put through each site's PutChecked (when both are
// vault.ChecksumStores), and returns the primary's checksum; a mirror
// whose checksum differs has failed. Errors: as Put.
func (s *Store) PutChecked(ctx context.Context, key string, r io.Reader, size int64) (int64, uint64, error) {
	return s.put(ctx, key, r, size, true)
}

// siteResult is one site's outcome of a fan-out Put.
type siteResult struct {
	n   int64
	sum uint64
	err error
	// kept: the site's Put succeeded, so it holds the object, even when
	// err was set afterwards (its bytes differ from the primary's).
	kept bool
}

func (s *Store) put(ctx context.Context, key string, r io.Reader, size int64, checked bool) (int64, uint64, error) {
	if !vault.ValidBlobKey(key) {
		return 0, 0, vault.Errorf(vault.EINVALID, "Invalid blob key.")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		res [2]siteResult
		prs [2]*io.PipeReader
		pws [2]*io.PipeWriter
		wg  sync.WaitGroup
	)
	for i, st := range s.sites {
		prs[i], pws[i] = io.Pipe()
		wg.Go(func() {
			res[i] = putSite(ctx, st, key, prs[i], size, checked)
			// A site that stopped reading makes the next write fail at once.
			prs[i].CloseWithError(errClosed)
		})
	}

	srcErr, ok := s.fanOut(r, pws)
	for _, pw := range pws {
		if srcErr != nil || !ok {
			pw.CloseWithError(errClosed)
		} else {
			pw.Close()
		}
	}
	wg.Wait()

	if srcErr != nil {
		// Both Puts failed on the broken stream and kept nothing.
		return 0, 0, srcErr
	}
	if ctx.Err() != nil {
		s.discardKept(ctx, key, res)
		return 0, 0, vault.WrapError(vault.EUNAVAILABLE, ctx.Err(), "Upload cancelled.")
	}
	if res[second].err == nil && (res[second].n != res[primary].n || (checked && res[primary].err == nil && res[second].sum != res[primary].sum)) {
		res[second].err = vault.Errorf(vault.EINTERNAL, "The mirror stored other bytes than the primary.")
	}
	p, m := res[primary].err, res[second].err
	switch {
	case p == nil && m == nil:
		return res[primary].n, res[primary].sum, nil
	case vault.IsCode(p, vault.EINVALID):
		s.discardKept(ctx, key, res)
		return 0, 0, p
	case p != nil || s.required:
		s.discardKept(ctx, key, res)
		failed := primary
		if p == nil {
			failed = second
		}
		err := res[failed].err
		s.failed(failed, err)
		s.log.Warn().Err(err).Str("site", siteNames[failed]).Str("tenant_id", tenantOf(key)).Str("blob_key", key).Msg("mirror: upload failed on a site; nothing kept")
		if s.required {
			return 0, 0, vault.WrapError(vault.EUNAVAILABLE, err, "The document cannot be stored on both sites now; try again later.")
		}
		return 0, 0, err
	default: // the mirror failed and is not required
		s.addPending(key, second, opCopy, m)
		return res[primary].n, res[primary].sum, nil
	}
}

// fanOut copies r to both pipes, one chunk at a time, and reports the
// source's error, or false when a site the upload needs stopped reading.
// A site that is not needed (the mirror, when not required) is dropped
// and the copy goes on to the other.
func (s *Store) fanOut(r io.Reader, pws [2]*io.PipeWriter) (error, bool) {
	bp := chunks.Get().(*[]byte)
	defer chunks.Put(bp)
	buf := *bp
	alive := [2]bool{true, true}
	for {
		n, err := r.Read(buf)
		if n > 0 {
			var werr [2]error
			var wg sync.WaitGroup
			for i := range pws {
				if alive[i] {
					wg.Go(func() { _, werr[i] = pws[i].Write(buf[:n]) })
				}
			}
			wg.Wait()
			for i := range pws {
				if werr[i] != nil {
					alive[i] = false
				}
			}
			if !alive[primary] || (s.required && !alive[second]) {
				return nil, false
			}
		}
		if errors.Is(err, io.EOF) {
			return nil, true
		}
		if err != nil {
			return err, false
		}
	}
}

// putSite stores the fan-out stream on one site.
func putSite(ctx context.Context, st vault.BlobStore, key string, r io.Reader, size int64, checked bool) siteResult {
	if cs, ok := st.(vault.ChecksumStore); ok && checked {
		n, sum, err := cs.PutChecked(ctx, key, r, size)
		return siteResult{n: n, sum: sum, err: err, kept: err == nil}
	}
	n, err := st.Put(ctx, key, r, size)
	return siteResult{n: n, err: err, kept: err == nil}
}

// discardKept deletes key from every site whose Put succeeded and notes
// that the sites left holding nothing of it (a failed Put, or a delete that
// worked) need no Delete. A site whose delete failed is not noted: the
// vault's Delete of the upload must still reach it, and a failure there
// keeps the vault's own durable record of the blob to discard.
func (s *Store) discardKept(ctx context.Context, key string, res [2]siteResult) {
	for i := range res {
		if res[i].kept && !s.discard(ctx, key, i) {
			continue
		}
		s.markAbsent(key, i)
	}
}

// markAbsent notes that site i holds nothing under key after a failed Put,
// so a Delete of key (the vault discarding the upload) need not reach it.
func (s *Store) markAbsent(key string, i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.absent) < maxPending {
		s.absent[pendingKey{key, i, opDelete}] = true
	}
}
