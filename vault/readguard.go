package vault

import (
	"context"
	"io"
	"sync"
	"time"
)

// RecheckInterval is the longest a view or download in flight goes without
// its authorization decided again. It is re-decided also before the first
// byte of each part of the document format (docs/FORMAT.md), whichever
// comes first, so a fast transfer is re-checked once per part and a slow
// one once a second.
const RecheckInterval = time.Second

// recheckTimeout bounds one re-check: a store that does not answer in time
// cannot confirm access, and the read stops.
const recheckTimeout = 5 * time.Second

// Reasons why a read ended early, recorded as the reason detail of
// document.read_abort. The first group are the authorization lapses that
// stop a read in flight (DESIGN.md invariant 3).
const (
	AbortGrantRevoked    = "grant_revoked"    // a grant that gave the permission was revoked
	AbortGrantExpired    = "grant_expired"    // a grant that gave the permission expired
	AbortPermissionLost  = "permission_lost"  // the permission is gone for another reason (role, move)
	AbortUserDisabled    = "user_disabled"    // the reader's account was disabled
	AbortSuspended       = "suspended"        // breach detection contained the reader
	AbortWalled          = "walled"           // a wall now bars the reader from the matter
	AbortSignedOut       = "signed_out"       // the session the request used was ended
	AbortTokenRevoked    = "token_revoked"    // the API token the request used was revoked
	AbortTokenExpired    = "token_expired"    // the token the request used expired
	AbortDocumentTrashed = "document_trashed" // the document went to the trash
	AbortDocumentGone    = "document_gone"    // the document no longer exists
	AbortCheckFailed     = "check_failed"     // authorization could not be decided (fail closed)

	// AbortInterrupted is a read cut short by the connection: the client
	// went away or stopped reading. Other ends carry the error's code
	// (cannot_decrypt, unavailable, internal).
	AbortInterrupted = "interrupted"
)

// recheckTimer is what the guard's watchdog needs of a timer; *time.Timer
// has it. Tests replace the timer to drive the watchdog by hand.
type recheckTimer interface {
	Reset(d time.Duration) bool
	Stop() bool
}

// readGuard keeps one read's authorization true while its bytes flow: the
// reader it wraps decides again before the first byte of every part, and a
// watchdog decides again whenever RecheckInterval has passed without a
// decision (a slow client, a write blocked on the network). When
// authorization no longer holds the guard lapses: reads fail from then on,
// and whoever waits on lapsed (the HTTP layer) cuts the connection.
type readGuard struct {
	svc      *Service
	ctx      context.Context // the request's values without its cancellation, for the checks
	actor    *User
	token    *Token // the token the request signed in with; nil outside HTTP
	docID    string
	perm     Permission
	since    time.Time // when the read was authorized
	partSize int64

	lapsed context.Context // done when the guard lapses; its cause is the lapse error
	lapse  context.CancelCauseFunc

	mu     sync.Mutex // serialises checks
	timer  recheckTimer
	done   bool
	reason string // why it lapsed; "" while it holds
	checks int    // decisions made after the first
}

// newReadGuard returns the guard of a read just authorized for actor.
func (s *Service) newReadGuard(ctx context.Context, actor *User, d *Document, v *Version, perm Permission) *readGuard {
	g := &readGuard{
		svc: s, ctx: context.WithoutCancel(ctx), actor: actor, token: TokenFromContext(ctx),
		docID: d.ID, perm: perm, since: s.now(), partSize: int64(v.PartSize),
	}
	if g.partSize <= 0 {
		g.partSize = 1 << 20 // an empty version has no parts to speak of
	}
	g.lapsed, g.lapse = context.WithCancelCause(context.Background())
	return g
}

// watch starts the watchdog: from now on no RecheckInterval passes without
// a decision. It stops at stop, or when ctx (the request) ends.
func (g *readGuard) watch(ctx context.Context) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done || g.timer != nil {
		return
	}
	after := g.svc.afterFunc
	if after == nil {
		after = func(d time.Duration, f func()) recheckTimer { return time.AfterFunc(d, f) }
	}
	g.timer = after(RecheckInterval, func() { g.check() })
	context.AfterFunc(ctx, g.stop)
}

// stop ends the checks; the read is over.
func (g *readGuard) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.done = true
	if g.timer != nil {
		g.timer.Stop()
	}
}

// err returns the lapse error, or nil while authorization holds.
func (g *readGuard) err() error {
	if g.lapsed.Err() == nil {
		return nil
	}
	return context.Cause(g.lapsed)
}

// check decides again whether the read may go on, and lapses the guard when
// it may not. It returns the lapse error or nil.
func (g *readGuard) check() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.reason != "" || g.done {
		return g.err()
	}
	g.checks++
	ctx, cancel := context.WithTimeout(g.ctx, recheckTimeout)
	defer cancel()
	reason, err := g.svc.stillAuthorized(ctx, g.actor, g.token, g.docID, g.perm, g.since)
	if err != nil {
		// Authorization that cannot be decided does not hold.
		g.svc.Log.Error().Err(err).Str("tenant_id", g.actor.TenantID).Str("document_id", g.docID).Msg("cannot re-check a read in flight; stopping it")
		reason = AbortCheckFailed
	}
	if reason == "" {
		if g.timer != nil {
			g.timer.Reset(RecheckInterval)
		}
		return nil
	}
	g.reason = reason
	if g.timer != nil {
		g.timer.Stop()
	}
	code := EFORBIDDEN
	if reason == AbortCheckFailed {
		code = EUNAVAILABLE
	}
	g.lapse(Errorf(code, "The transfer was stopped: access to this document ended (%s).", reason))
	return g.err()
}

// lapseReason returns why the guard lapsed, or "".
func (g *readGuard) lapseReason() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.reason
}

// stillAuthorized decides, as at the start of a read that began at since,
// whether actor may still read document docID with perm through tok (nil
// for none). It returns "" when the read may go on, else the reason why
// not. It goes through the one decision procedure (permissions) on fresh
// facts: the user, the token, the document, walls and grants as they are
// now. Errors: only the stores' (the caller fails closed).
func (s *Service) stillAuthorized(ctx context.Context, actor *User, tok *Token, docID string, perm Permission, since time.Time) (string, error) {
	u, err := s.Store.User(ctx, actor.TenantID, actor.ID)
	switch {
	case IsCode(err, ENOTFOUND):
		return AbortUserDisabled, nil
	case err != nil:
		return "", err
	case u.Disabled:
		return AbortUserDisabled, nil
	}
	if err := s.checkContained(ctx, u); IsCode(err, ESUSPENDED) {
		return AbortSuspended, nil
	} else if err != nil {
		return "", err
	}
	if tok != nil {
		if tok.ExpiresAt != nil && !s.now().Before(*tok.ExpiresAt) {
			return AbortTokenExpired, nil
		}
		live, err := s.Store.TokenLive(ctx, tok.TenantID, tok.ID)
		switch {
		case err != nil:
			return "", err
		case !live && tok.Kind == TokenAPI:
			return AbortTokenRevoked, nil
		case !live:
			return AbortSignedOut, nil
		}
	}
	d, err := s.Store.Document(ctx, actor.TenantID, docID)
	switch {
	case IsCode(err, ENOTFOUND):
		return AbortDocumentGone, nil
	case err != nil:
		return "", err
	case d.Trashed:
		return AbortDocumentTrashed, nil
	}
	set, err := s.permissions(ctx, u, d)
	if err != nil || set.has(perm) {
		return "", err
	}
	return s.lossReason(ctx, u, d, perm, since)
}

// lossReason explains why u no longer holds perm on d, which permissions
// has just decided: a wall, a grant revoked or expired since the read
// began, or else a plain loss (a role change, a move to another matter).
// It runs once per stopped read, so it may cost what it needs.
func (s *Service) lossReason(ctx context.Context, u *User, d *Document, perm Permission, since time.Time) (string, error) {
	walled, err := s.walled(ctx, u.TenantID, d.MatterID, u.ID)
	if err != nil || walled {
		return AbortWalled, err
	}
	now, reason := s.now(), AbortPermissionLost
	for _, f := range []GrantFilter{{UserID: u.ID, DocumentID: d.ID}, {UserID: u.ID, MatterID: d.MatterID}} {
		gs, err := s.Store.Grants(ctx, u.TenantID, f)
		if err != nil {
			return "", err
		}
		for _, g := range gs {
			switch {
			case !g.Has(perm):
			case g.RevokedAt != nil && !g.RevokedAt.Before(since):
				return AbortGrantRevoked, nil
			case g.RevokedAt == nil && g.ExpiresAt != nil && !g.ExpiresAt.Before(since) && !now.Before(*g.ExpiresAt):
				reason = AbortGrantExpired
			}
		}
	}
	return reason, nil
}

// guardedReader releases a read's plaintext only while its guard holds. It
// never hands out bytes of two parts in one Read, so that the guard decides
// before the first byte of each part leaves.
type guardedReader struct {
	r   io.ReadCloser
	g   *readGuard
	pos int64 // plaintext offset of the next byte
	end int64 // end of the part whose bytes may be released
}

func (g *readGuard) reader(r io.ReadCloser, offset int64) *guardedReader {
	return &guardedReader{r: r, g: g, pos: offset, end: (offset/g.partSize + 1) * g.partSize}
}

func (r *guardedReader) Read(p []byte) (int, error) {
	if err := r.g.err(); err != nil {
		return 0, err
	}
	if r.pos >= r.end {
		if err := r.g.check(); err != nil {
			return 0, err
		}
		r.end = (r.pos/r.g.partSize + 1) * r.g.partSize
	}
	if rest := r.end - r.pos; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := r.r.Read(p)
	if lerr := r.g.err(); lerr != nil {
		// Lapsed while this part was read: not one more byte.
		return 0, lerr
	}
	r.pos += int64(n)
	return n, err
}

func (r *guardedReader) Close() error { return r.r.Close() }
