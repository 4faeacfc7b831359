package web_test

import (
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

// slowRate is how fast the clients of these tests read: far slower than the
// server sends, so that each download is in flight for many seconds.
const slowRate = 256 << 10

// slowRead is a download read at a limited rate by its own goroutine.
type slowRead struct {
	received atomic.Int64 // bytes read so far
	fast     atomic.Bool  // read the rest at full speed
	done     chan struct{}

	// Set when done is closed.
	n   int64
	err error
	at  time.Time // when the read ended
	sum [32]byte
}

// startSlowRead GETs path as c and reads its body at about rate bytes a
// second, like a client on a slow link.
func startSlowRead(tb testing.TB, c *client, path string, rate int64) *slowRead {
	tb.Helper()
	resp := c.do(tb, "GET", path, nil, nil)
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tb.Fatalf("GET %s = %d %s", path, resp.StatusCode, b)
	}
	r := &slowRead{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer resp.Body.Close()
		h := sha256.New()
		buf := make([]byte, rate/16)
		start := time.Now()
		for {
			if !r.fast.Load() {
				// Never ahead of rate: wait until the bytes read so far
				// are due.
				due := start.Add(time.Duration(float64(r.n) / float64(rate) * float64(time.Second)))
				time.Sleep(time.Until(due))
			}
			n, err := resp.Body.Read(buf)
			h.Write(buf[:n])
			r.n += int64(n)
			r.received.Store(r.n)
			if err != nil {
				if !errors.Is(err, io.EOF) {
					r.err = err
				}
				break
			}
		}
		r.at = time.Now()
		copy(r.sum[:], h.Sum(nil))
	}()
	return r
}

// waitFor waits until the read has received at least n bytes.
func (r *slowRead) waitFor(tb testing.TB, n int64) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for r.received.Load() < n {
		select {
		case <-r.done:
			tb.Fatalf("download ended after %d bytes (%v) before reaching %d", r.n, r.err, n)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("download stuck at %d bytes", r.received.Load())
		}
	}
}

// wait waits for the read to end.
func (r *slowRead) wait(tb testing.TB, limit time.Duration) {
	tb.Helper()
	select {
	case <-r.done:
	case <-time.After(limit):
		tb.Fatalf("download still running after %s, at %d bytes", limit, r.received.Load())
	}
}

// readEnd waits for the event that ends actor's read of a document and
// returns it.
func readEnd(tb *testing.T, owner *client, documentID, actorID string) vault.AuditRecord {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, ev := range auditEvents(tb, owner, "document_id="+documentID+"&actor_id="+actorID) {
			if ev.Action == vault.ActReadAbort || ev.Action == vault.ActReadComplete {
				return ev
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no end of %s's read of %s on record", actorID, documentID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestContent_RevokedInFlight changes, during slow downloads and views,
// what their authorization rests on: each transfer stops within about a
// second (the client sees an error, not a short clean body), and the abort
// is on record with its reason and the bytes sent. A download of the same
// document by another user, in flight all along, runs to completion.
func TestContent_RevokedInFlight(t *testing.T) {
	e := newEnv(t)
	owner, ownerU := e.firm(t, "us")
	mid := owner.matter(t, "Estate")
	content := random(3, 6<<20+12345) // six full parts and a short one
	size := int64(len(content))
	d := owner.upload(t, mid, "estate.bin", "application/octet-stream", content)

	// reader adds a lawyer holding a grant on the document, and returns
	// their client, account and grant.
	reader := func(t *testing.T) (*client, *vault.User, string) {
		c, u := e.user(t, ownerU.TenantID, vault.RoleLawyer)
		g := owner.createGrant(t, map[string]any{"user_id": u.ID, "document_id": d.ID, "permissions": []string{"read", "download"}}, http.StatusCreated)
		return c, u, g.ID
	}

	colleague, colleagueU, _ := reader(t)
	control := startSlowRead(t, colleague, "/api/v1/documents/"+d.ID+"/download", slowRate)

	for i, tt := range []struct {
		name   string
		route  string // download or content (a view)
		reason string
		// api makes the client read with a personal API token.
		api bool
		// change takes the reader's access away; self is the reader's own
		// session client.
		change func(t *testing.T, self *client, u *vault.User, grantID, tokenID string)
	}{
		{"RevokeGrant", "download", vault.AbortGrantRevoked, false, func(t *testing.T, _ *client, _ *vault.User, grantID, _ string) {
			owner.json(t, "DELETE", "/api/v1/grants/"+grantID, nil, http.StatusOK, nil)
		}},
		{"DisableUser", "content", vault.AbortUserDisabled, false, func(t *testing.T, _ *client, u *vault.User, _, _ string) {
			owner.json(t, "PATCH", "/api/v1/users/"+u.ID, map[string]any{"disabled": true}, http.StatusOK, nil)
		}},
		{"Wall", "download", vault.AbortWalled, false, func(t *testing.T, _ *client, u *vault.User, _, _ string) {
			owner.json(t, "POST", "/api/v1/matters/"+mid+"/walls", map[string]any{"user_id": u.ID}, http.StatusCreated, nil)
		}},
		{"SignOut", "content", vault.AbortSignedOut, false, func(t *testing.T, self *client, _ *vault.User, _, _ string) {
			self.json(t, "POST", "/api/v1/auth/logout", nil, http.StatusNoContent, nil)
		}},
		{"RevokeAPIToken", "download", vault.AbortTokenRevoked, true, func(t *testing.T, self *client, _ *vault.User, _, tokenID string) {
			self.json(t, "DELETE", "/api/v1/tokens/"+tokenID, nil, http.StatusNoContent, nil)
		}},
	} {
		// Each change comes at another point of the server's once-a-second
		// re-check cycle.
		phase := time.Duration(i) * 200 * time.Millisecond
		t.Run(tt.name, func(t *testing.T) {
			self, u, grantID := reader(t)
			downloader, tokenID := self, ""
			if tt.api {
				var tok struct {
					Token string `json:"token"`
					ID    string `json:"id"`
				}
				self.json(t, "POST", "/api/v1/tokens", map[string]any{"name": "script"}, http.StatusCreated, &tok)
				downloader = &client{base: self.base, token: tok.Token, hc: e.client().hc}
				tokenID = tok.ID
			}
			r := startSlowRead(t, downloader, "/api/v1/documents/"+d.ID+"/"+tt.route, slowRate)
			r.waitFor(t, 512<<10) // well in flight
			time.Sleep(phase)

			tt.change(t, self, u, grantID, tokenID)
			changed := time.Now()
			r.wait(t, 15*time.Second)
			took := r.at.Sub(changed)
			t.Logf("%s: the client's read failed %s after the change, having received %d of %d bytes: %v", tt.name, took.Round(time.Millisecond), r.n, size, r.err)
			if r.err == nil {
				t.Fatalf("the client read %d of %d bytes and then a clean end, want an error", r.n, size)
			}
			if r.n >= size {
				t.Errorf("the client received %d bytes, want fewer than %d", r.n, size)
			}
			// The server re-checks at least once a second; the rest is
			// slack for a loaded machine.
			if limit := 3 * time.Second; took > limit {
				t.Errorf("the transfer stopped %s after the change, want within %s", took, limit)
			}

			ev := readEnd(t, owner, d.ID, u.ID)
			t.Logf("%s: the server recorded the abort %s after the change", tt.name, ev.Time.Sub(changed).Round(time.Millisecond))
			if ev.Action != vault.ActReadAbort || ev.Outcome != vault.OutcomeError {
				t.Fatalf("end of read = %s %s, want %s error", ev.Action, ev.Outcome, vault.ActReadAbort)
			}
			if got, want := ev.Details["reason"], tt.reason; got != want {
				t.Errorf("abort reason = %q, want %q", got, want)
			}
			sent, err := strconv.ParseInt(ev.Details["bytes_sent"], 10, 64)
			if err != nil || sent < r.n || sent >= size {
				t.Errorf("bytes_sent = %q, want from %d (what the client read) to under %d", ev.Details["bytes_sent"], r.n, size)
			}
		})
	}

	// The colleague's download was in flight through every change above and
	// is unaffected: it ends complete and on record.
	if control.received.Load() >= size {
		t.Fatalf("the control download ended before the changes were done")
	}
	control.fast.Store(true)
	control.wait(t, 30*time.Second)
	if control.err != nil || control.n != size || control.sum != sha256.Sum256(content) {
		t.Fatalf("control download = %d bytes (intact %v), %v; want all %d", control.n, control.sum == sha256.Sum256(content), control.err, size)
	}
	if ev := readEnd(t, owner, d.ID, colleagueU.ID); ev.Action != vault.ActReadComplete || ev.Details["bytes_sent"] != strconv.FormatInt(size, 10) {
		t.Errorf("control end of read = %s %v, want %s with all bytes sent", ev.Action, ev.Details, vault.ActReadComplete)
	}
}
