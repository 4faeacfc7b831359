package vault_test

import (
	"context"
	"errors"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

const part = 1 << 20 // the plaintext part size of the document format

// inFlight is a document shared with a lawyer by a document grant, on a
// vault whose re-check watchdogs fire by hand.
type inFlight struct {
	*env
	owner, lawyer *vault.User
	password      string // the lawyer's
	matter        *vault.Matter
	doc           *vault.Document
	grant         *vault.Grant
	watch         *vault.ManualRecheck
}

func newInFlight(t *testing.T, size int, expires *time.Time) *inFlight {
	t.Helper()
	e := newEnv(t, nil)
	f := &inFlight{env: e, watch: vault.UseManualRecheck(e.Svc)}
	ctx := context.Background()
	var tenant *vault.Tenant
	tenant, f.owner = e.firm(t, "Firm", "us")
	var err error
	f.lawyer, f.password, err = e.Svc.AddUser(ctx, tenant.ID, vault.NewUser{Email: vault.NewID("u")[2:14] + "@example.com", Role: vault.RoleLawyer})
	if err != nil {
		t.Fatal(err)
	}
	f.matter = e.matter(t, f.owner, "Estate")
	f.doc = e.put(t, f.owner, f.matter.ID, "estate.pdf", random(7, size))
	if f.grant, _, err = e.Svc.CreateGrant(ctx, f.owner, vault.NewGrant{
		UserID: f.lawyer.ID, DocumentID: f.doc.ID, Permissions: []vault.Permission{vault.PermRead, vault.PermDownload}, ExpiresAt: expires,
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

// open opens the lawyer's download of [off, off+n) and puts it on record.
func (f *inFlight) open(t *testing.T, ctx context.Context, off, n int64) (*vault.Content, io.ReadCloser, func(int64, error) error) {
	t.Helper()
	c, err := f.Svc.OpenVersion(ctx, f.lawyer, f.doc.ID, 0, vault.PermDownload)
	if err != nil {
		t.Fatal(err)
	}
	if n < 0 {
		n = c.Version.Size - off
	}
	rc, err := c.Range(ctx, off, n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	finish, err := c.Opened(ctx, off, n)
	if err != nil {
		t.Fatal(err)
	}
	return c, rc, finish
}

// lastEnd returns the last event of the log, which must end a read.
func (f *inFlight) lastEnd(t *testing.T) vault.AuditEvent {
	t.Helper()
	evs := f.Audit.Events()
	ev := evs[len(evs)-1]
	if ev.Action != vault.ActReadAbort && ev.Action != vault.ActReadComplete {
		t.Fatalf("last event = %s, want the end of a read", ev.Action)
	}
	return ev
}

// TestContent_RecheckPacing pins when a read's authorization is decided
// again: before the first byte of each part after the first, and whenever
// RecheckInterval passes without a decision — not on every Read.
func TestContent_RecheckPacing(t *testing.T) {
	ctx := context.Background()
	f := newInFlight(t, 5*part+100, nil) // six parts

	t.Run("Parts", func(t *testing.T) {
		c, rc, finish := f.open(t, ctx, 0, -1)
		if d, ok := f.watch.Armed(); !ok || d != vault.RecheckInterval {
			t.Fatalf("watchdog armed = %v after %s, want armed after %s", ok, d, vault.RecheckInterval)
		}
		buf := make([]byte, 100<<10) // many reads per part
		var pos int64
		reads := 0
		for {
			n, err := rc.Read(buf)
			if n > 0 && pos/part != (pos+int64(n)-1)/part {
				t.Fatalf("one Read returned bytes %d to %d, across a part boundary", pos, pos+int64(n))
			}
			pos += int64(n)
			reads++
			if errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
		if got, want := vault.Rechecks(c), 5; got != want {
			t.Errorf("%d reads of six parts made %d re-checks, want %d (one per part after the first)", reads, got, want)
		}
		// Each check restarted the second.
		if d, ok := f.watch.Armed(); !ok || d != vault.RecheckInterval {
			t.Errorf("watchdog armed = %v after %s, want armed after %s", ok, d, vault.RecheckInterval)
		}
		if err := finish(pos, nil); err != nil {
			t.Fatal(err)
		}
		if _, ok := f.watch.Armed(); ok {
			t.Error("watchdog still armed after the read finished")
		}
		if f.watch.Fire() {
			t.Error("a finished read's watchdog fired")
		}
		if ev := f.lastEnd(t); ev.Action != vault.ActReadComplete || ev.Details["bytes_sent"] != strconv.FormatInt(pos, 10) {
			t.Errorf("end = %s %v, want %s of all bytes", ev.Action, ev.Details, vault.ActReadComplete)
		}
	})

	t.Run("Range", func(t *testing.T) {
		// From the middle of part 1 into part 3: parts 2 and 3 are checked.
		c, rc, finish := f.open(t, ctx, part+part/2, 2*part)
		n, err := io.Copy(io.Discard, rc)
		if err != nil || n != 2*part {
			t.Fatalf("read %d bytes, %v", n, err)
		}
		if got, want := vault.Rechecks(c), 2; got != want {
			t.Errorf("a range over three parts made %d re-checks, want %d", got, want)
		}
		finish(n, nil)
	})

	t.Run("Time", func(t *testing.T) {
		c, rc, finish := f.open(t, ctx, 0, -1)
		// A client that reads nothing for three seconds: three checks.
		for i := range 3 {
			if !f.watch.Fire() {
				t.Fatalf("watchdog not armed after %d checks", i)
			}
		}
		if got, want := vault.Rechecks(c), 3; got != want {
			t.Errorf("three idle seconds made %d re-checks, want %d", got, want)
		}
		// Reading within the first part adds none.
		if _, err := io.ReadFull(rc, make([]byte, part)); err != nil {
			t.Fatal(err)
		}
		if got, want := vault.Rechecks(c), 3; got != want {
			t.Errorf("reading the first part made %d re-checks, want %d", got-3, want-3)
		}
		finish(part, io.ErrUnexpectedEOF)
		if ev := f.lastEnd(t); ev.Action != vault.ActReadAbort || ev.Details["reason"] != vault.AbortInterrupted {
			t.Errorf("end = %s %v, want %s with reason %s", ev.Action, ev.Details, vault.ActReadAbort, vault.AbortInterrupted)
		}
	})
}

// TestContent_RevokedInFlight takes away, in every way there is, what a
// read in flight rests on: the next decision stops it, whether the
// watchdog or a part boundary makes it, and its end is on record with the
// reason and the bytes sent.
func TestContent_RevokedInFlight(t *testing.T) {
	inAnHour := time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC) // the test clock starts at 12:00
	for _, tt := range []struct {
		name   string
		reason string
		// token is the kind of token the read signs in with ("": none).
		token string
		// change takes the lawyer's access away.
		change func(t *testing.T, f *inFlight, tok *vault.Token)
	}{
		{"RevokeGrant", vault.AbortGrantRevoked, "", func(t *testing.T, f *inFlight, _ *vault.Token) {
			if _, err := f.Svc.RevokeGrant(context.Background(), f.owner, f.grant.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"GrantExpires", vault.AbortGrantExpired, "", func(t *testing.T, f *inFlight, _ *vault.Token) {
			f.clock.Add(time.Hour)
		}},
		{"DisableUser", vault.AbortUserDisabled, vault.TokenSession, func(t *testing.T, f *inFlight, _ *vault.Token) {
			yes := true
			if _, err := f.Svc.UpdateUser(context.Background(), f.owner, f.lawyer.ID, vault.UserUpdate{Disabled: &yes}); err != nil {
				t.Fatal(err)
			}
		}},
		{"Contained", vault.AbortSuspended, vault.TokenSession, func(t *testing.T, f *inFlight, _ *vault.Token) {
			// As a detection rule with contain does (vault.Service.raiseAlert).
			c := vault.Containment{TenantID: f.lawyer.TenantID, UserID: f.lawyer.ID, AlertID: "alr_x", ContainedAt: f.clock.Now()}
			if err := f.Svc.Store.(vault.DetectionStore).Contain(context.Background(), c); err != nil {
				t.Fatal(err)
			}
		}},
		{"BecomeAuditor", vault.AbortPermissionLost, "", func(t *testing.T, f *inFlight, _ *vault.Token) {
			role := vault.RoleAuditor
			if _, err := f.Svc.UpdateUser(context.Background(), f.owner, f.lawyer.ID, vault.UserUpdate{Role: &role}); err != nil {
				t.Fatal(err)
			}
		}},
		{"Wall", vault.AbortWalled, "", func(t *testing.T, f *inFlight, _ *vault.Token) {
			if _, _, err := f.Svc.AddWall(context.Background(), f.owner, f.matter.ID, f.lawyer.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"Trash", vault.AbortDocumentTrashed, "", func(t *testing.T, f *inFlight, _ *vault.Token) {
			if _, err := f.Svc.TrashDocument(context.Background(), f.owner, f.doc.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"SignOut", vault.AbortSignedOut, vault.TokenSession, func(t *testing.T, f *inFlight, tok *vault.Token) {
			if err := f.Svc.Logout(context.Background(), f.lawyer, tok); err != nil {
				t.Fatal(err)
			}
		}},
		{"SessionExpires", vault.AbortTokenExpired, vault.TokenSession, func(t *testing.T, f *inFlight, _ *vault.Token) {
			f.clock.Add(f.Svc.SessionTTL)
		}},
		{"RevokeAPIToken", vault.AbortTokenRevoked, vault.TokenAPI, func(t *testing.T, f *inFlight, tok *vault.Token) {
			if err := f.Svc.RevokeToken(context.Background(), f.lawyer, tok.ID); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		for _, at := range []string{"Watchdog", "PartBoundary"} {
			t.Run(tt.name+"/"+at, func(t *testing.T) {
				var expires *time.Time
				if tt.reason == vault.AbortGrantExpired {
					expires = &inAnHour
				}
				f := newInFlight(t, 3*part, expires)
				ctx := context.Background()
				var tok *vault.Token
				switch tt.token {
				case vault.TokenSession:
					_, s, err := f.Svc.Login(ctx, f.lawyer.Email, f.password, "")
					if err != nil {
						t.Fatal(err)
					}
					tok = s
				case vault.TokenAPI:
					_, s, err := f.Svc.CreateAPIToken(ctx, f.lawyer, "script", nil)
					if err != nil {
						t.Fatal(err)
					}
					tok = s
				}
				if tok != nil {
					ctx = vault.ContextWithToken(ctx, tok)
				}
				c, rc, finish := f.open(t, ctx, 0, -1)
				sent, err := io.ReadFull(rc, make([]byte, part/2))
				if err != nil {
					t.Fatal(err)
				}

				tt.change(t, f, tok)
				if at == "Watchdog" {
					if !f.watch.Fire() {
						t.Fatal("watchdog not armed")
					}
				} else {
					// The rest of the first part was authorized before the
					// change; the boundary decides again.
					n, err := io.ReadFull(rc, make([]byte, part/2))
					if err != nil {
						t.Fatalf("rest of the first part: %v", err)
					}
					sent += n
				}
				n, rerr := rc.Read(make([]byte, 64<<10))
				if n != 0 || vault.ErrorCode(rerr) != vault.EFORBIDDEN {
					t.Fatalf("Read after the change = %d bytes, %v; want 0 bytes, forbidden", n, rerr)
				}
				if _, ok := f.watch.Armed(); ok {
					t.Error("watchdog still armed after the read lapsed")
				}
				// The handler's write then fails; finish says why it ended.
				err = finish(int64(sent), errors.New("write: broken pipe"))
				if vault.ErrorCode(err) != vault.EFORBIDDEN {
					t.Errorf("finish = %v, want the lapse (forbidden)", err)
				}
				ev := f.lastEnd(t)
				if ev.Action != vault.ActReadAbort || ev.Outcome != vault.OutcomeError || ev.ActorID != f.lawyer.ID {
					t.Fatalf("end = %s %s by %s, want %s error by the lawyer", ev.Action, ev.Outcome, ev.ActorID, vault.ActReadAbort)
				}
				if got, want := ev.Details["reason"], tt.reason; got != want {
					t.Errorf("reason = %q, want %q", got, want)
				}
				if got, want := ev.Details["bytes_sent"], strconv.Itoa(sent); got != want {
					t.Errorf("bytes_sent = %q, want %q", got, want)
				}
				if got := vault.Rechecks(c); got != 1 {
					t.Errorf("%d re-checks, want 1", got)
				}
			})
		}
	}

	// A read whose last byte left before the lapse completed.
	t.Run("CompleteBeforeLapse", func(t *testing.T) {
		f := newInFlight(t, part/2, nil)
		_, rc, finish := f.open(t, context.Background(), 0, -1)
		n, err := io.Copy(io.Discard, rc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Svc.RevokeGrant(context.Background(), f.owner, f.grant.ID); err != nil {
			t.Fatal(err)
		}
		f.watch.Fire()
		if err := finish(n, nil); err != nil {
			t.Errorf("finish = %v, want nil", err)
		}
		if ev := f.lastEnd(t); ev.Action != vault.ActReadComplete {
			t.Errorf("end = %s %v, want %s", ev.Action, ev.Details, vault.ActReadComplete)
		}
	})
}

// BenchmarkContent_Recheck is the cost of one re-check of a read in
// flight: what a download pays once per part (1 MiB) or once a second.
func BenchmarkContent_Recheck(b *testing.B) {
	ctx := context.Background()
	e := newEnv(b, nil)
	vault.UseManualRecheck(e.Svc)
	tenant, owner := e.firm(b, "Firm", "us")
	lawyer := e.user(b, tenant.ID, vault.RoleLawyer)
	m := e.matter(b, owner, "Estate")
	d := e.put(b, owner, m.ID, "estate.pdf", random(7, 100))
	if _, _, err := e.Svc.CreateGrant(ctx, owner, vault.NewGrant{UserID: lawyer.ID, MatterID: m.ID, Permissions: []vault.Permission{vault.PermDownload}}); err != nil {
		b.Fatal(err)
	}
	_, tok, err := e.Svc.CreateAPIToken(ctx, lawyer, "script", nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx = vault.ContextWithToken(ctx, tok)
	c, err := e.Svc.OpenVersion(ctx, lawyer, d.ID, 0, vault.PermDownload)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := vault.Recheck(c); err != nil {
			b.Fatal(err)
		}
	}
}
