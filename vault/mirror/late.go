package mirror

import (
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/vault"
)

// DefaultReopenEvery is how often a Late site tries to open again.
const DefaultReopenEvery = 5 * time.Second

// reopenEvery is DefaultReopenEvery, shorter in tests.
var reopenEvery = DefaultReopenEvery

// Unreachable reports whether err, from opening a site, says the site
// could not be reached at all (a refused or timed-out connection), as
// opposed to a configuration it refused (credentials, a missing bucket):
// only the first lets a mirrored region start on its other site.
func Unreachable(err error) bool {
	var ne net.Error
	return vault.IsCode(err, vault.EUNAVAILABLE) && errors.As(err, &ne)
}

// Late is one site of a mirrored region that could not be reached when the
// server started. It answers unavailable at once (so Store serves from the
// other site, and uploads follow require_mirror) while a goroutine tries to
// open the site again every DefaultReopenEvery until it opens or ctx ends;
// from then on Late is the site itself, and scrub refills it.
type Late struct {
	name  string
	store atomic.Pointer[vault.BlobStore]
	err   atomic.Pointer[error]
}

var _ vault.ChecksumStore = (*Late)(nil)

// NewLate returns a Late site named name ("primary", "mirror"), whose first
// opening failed with err, retrying open in the background until ctx ends.
// The outcome of each try is logged to log: an error until it opens.
func NewLate(ctx context.Context, name string, err error, open func(context.Context) (vault.BlobStore, error), log zerolog.Logger) *Late {
	l := &Late{name: name}
	l.err.Store(&err)
	log.Error().Err(err).Str("site", name).Msg("mirrored site unreachable at start: serving from the other site; retrying in the background")
	every := reopenEvery
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			tctx, cancel := context.WithTimeout(ctx, every)
			st, err := open(tctx)
			cancel()
			if err != nil {
				l.err.Store(&err)
				log.Error().Err(err).Str("site", name).Msg("mirrored site still unreachable")
				continue
			}
			l.store.Store(&st)
			log.Info().Str("site", name).Msg("mirrored site reachable again: in use; run scrub to refill it")
			return
		}
	}()
	return l
}

// site returns the opened store, or the error of the last try.
func (l *Late) site() (vault.BlobStore, error) {
	if st := l.store.Load(); st != nil {
		return *st, nil
	}
	return nil, vault.WrapError(vault.EUNAVAILABLE, *l.err.Load(), "The %s site has been unreachable since the server started.", l.name)
}

// Open reports whether the site has opened.
func (l *Late) Open() bool { return l.store.Load() != nil }

// Put implements vault.BlobStore.
func (l *Late) Put(ctx context.Context, key string, r io.Reader, size int64) (int64, error) {
	st, err := l.site()
	if err != nil {
		return 0, err
	}
	return st.Put(ctx, key, r, size)
}

// Get implements vault.BlobStore.
func (l *Late) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	st, err := l.site()
	if err != nil {
		return nil, err
	}
	return st.Get(ctx, key, offset, length)
}

// Stat implements vault.BlobStore.
func (l *Late) Stat(ctx context.Context, key string) (vault.BlobInfo, error) {
	st, err := l.site()
	if err != nil {
		return vault.BlobInfo{}, err
	}
	return st.Stat(ctx, key)
}

// Delete implements vault.BlobStore.
func (l *Late) Delete(ctx context.Context, key string) error {
	st, err := l.site()
	if err != nil {
		return err
	}
	return st.Delete(ctx, key)
}

// List implements vault.BlobStore.
func (l *Late) List(ctx context.Context, prefix string, fn func(vault.BlobInfo) error) error {
	st, err := l.site()
	if err != nil {
		return err
	}
	return st.List(ctx, prefix, fn)
}

// Ping implements vault.BlobStore.
func (l *Late) Ping(ctx context.Context) error {
	st, err := l.site()
	if err != nil {
		return err
	}
	return st.Ping(ctx)
}

// PutChecked implements vault.ChecksumStore when the site does.
func (l *Late) PutChecked(ctx context.Context, key string, r io.Reader, size int64) (int64, uint64, error) {
	st, err := l.site()
	if err != nil {
		return 0, 0, err
	}
	cs, ok := st.(vault.ChecksumStore)
	if !ok {
		return 0, 0, vault.Errorf(vault.EINTERNAL, "The %s site keeps no checksums.", l.name)
	}
	return cs.PutChecked(ctx, key, r, size)
}

// Checksum implements vault.ChecksumStore; a site that keeps none
// answers false.
func (l *Late) Checksum(ctx context.Context, key string) (vault.BlobInfo, uint64, bool, error) {
	st, err := l.site()
	if err != nil {
		return vault.BlobInfo{}, 0, false, err
	}
	cs, ok := st.(vault.ChecksumStore)
	if !ok {
		info, err := st.Stat(ctx, key)
		return info, 0, false, err
	}
	return cs.Checksum(ctx, key)
}

// UploadMemory is the site's upload memory budget, once open.
func (l *Late) UploadMemory() vault.MemoryBudget {
	if st := l.store.Load(); st != nil {
		if u, ok := (*st).(interface{ UploadMemory() vault.MemoryBudget }); ok {
			return u.UploadMemory()
		}
	}
	return vault.MemoryBudget{}
}
