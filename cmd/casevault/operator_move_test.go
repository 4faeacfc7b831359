package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casevault/casevault/move"
	"github.com/casevault/casevault/vault/vaulttest"
)

// userCall is one request of the users' loop during a move.
type userCall struct {
	op         string
	start, end time.Time
	status     int
	code       string
	err        string
	// cut is set for a download the server cut off mid-stream (what it
	// sent was right, but not all of it) or an upload it refused before
	// the client had sent it whole.
	cut bool
}

// stepSeen is one poll of the move's status.
type stepSeen struct {
	start, end time.Time
	step       string
}

// checkChunk is the size of the pieces chunkCheck compares.
const checkChunk = 1 << 20

// chunkCheck compares the bytes written to it with the SHA-256 of each
// whole checkChunk of a document, so that a download cut short still shows
// whether what came was right.
type chunkCheck struct {
	sums [][32]byte
	h    hash.Hash
	n    int64 // bytes checked
	in   int   // bytes of the current chunk
	bad  bool
}

func (c *chunkCheck) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		k := min(len(p), checkChunk-c.in)
		c.h.Write(p[:k])
		c.in += k
		p = p[k:]
		if c.in == checkChunk {
			i := int(c.n / checkChunk)
			if i >= len(c.sums) || !bytes.Equal(c.h.Sum(nil), c.sums[i][:]) {
				c.bad = true
			}
			c.n += checkChunk
			c.in = 0
			c.h.Reset()
		}
	}
	return total, nil
}

// genSums returns the SHA-256 of each whole checkChunk of the generated
// stream (seed, size) and of the whole.
func genSums(seed byte, size int64) ([][32]byte, []byte) {
	var sums [][32]byte
	whole := sha256.New()
	g := vaulttest.NewGen(seed, size)
	buf := make([]byte, checkChunk)
	for {
		k, err := io.ReadFull(g, buf)
		whole.Write(buf[:k])
		if k == checkChunk {
			sums = append(sums, sha256.Sum256(buf))
		}
		if err != nil {
			return sums, whole.Sum(nil)
		}
	}
}

// userLoop is a firm's users at work over the main listener: listing the
// firm's users, downloading (SHA-256 compared) and uploading, each call
// recorded.
type userLoop struct {
	t        *testing.T
	base     string
	token    string
	matterID string
	docs     map[string]moveDoc
	chunks   map[string][][32]byte // each document's SHA-256 by MiB
	ids      []string
	hc       *http.Client

	mu       sync.Mutex
	calls    []userCall
	uploaded map[string]moveDoc
}

func (u *userLoop) do(op, method, path string, body io.Reader, size int64, check func(*http.Response, *userCall) string) {
	req, _ := http.NewRequest(method, u.base+path, body)
	req.Header.Set("Authorization", "Bearer "+u.token)
	if body != nil {
		req.ContentLength = size
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	c := userCall{op: op, start: time.Now()}
	resp, err := u.hc.Do(req)
	if err != nil {
		c.end, c.err = time.Now(), err.Error()
		if body != nil && strings.Contains(c.err, "connection reset") {
			// The server refused the upload while its body was still
			// coming (the freeze) and closed the connection; the client
			// was still sending and got the reset, not the answer.
			c.cut, c.err = true, ""
		}
	} else {
		if resp.StatusCode < 300 {
			c.err = check(resp, &c)
		} else {
			b, _ := io.ReadAll(resp.Body)
			c.code = errorCode(b)
		}
		resp.Body.Close()
		c.end, c.status = time.Now(), resp.StatusCode
	}
	u.mu.Lock()
	u.calls = append(u.calls, c)
	u.mu.Unlock()
}

// work runs one user's loop until stop is closed.
func (u *userLoop) work(seed uint64, stop <-chan struct{}) {
	r := rand.New(rand.NewPCG(seed, 1))
	drain := func(resp *http.Response, _ *userCall) string { io.Copy(io.Discard, resp.Body); return "" }
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		switch i % 3 {
		case 0:
			u.do("users", "GET", "/api/v1/users", nil, 0, drain)
		case 1:
			id := u.ids[r.IntN(len(u.ids))]
			want := u.docs[id]
			u.do("download", "GET", "/api/v1/documents/"+id+"/download", nil, 0, func(resp *http.Response, c *userCall) string {
				h := sha256.New()
				pc := &chunkCheck{sums: u.chunks[id], h: sha256.New()}
				n, err := io.Copy(io.MultiWriter(h, pc), resp.Body)
				if pc.bad {
					return fmt.Sprintf("download %s: byte %d on differ from the document's", id, pc.n)
				}
				if err != nil && n < want.Size {
					// Cut off: every whole MiB that came was right.
					c.cut = true
					return ""
				}
				if err != nil || n != want.Size || !bytes.Equal(h.Sum(nil), want.Sum[:]) {
					return fmt.Sprintf("download %s: %d bytes, %v: not the uploaded bytes", id, n, err)
				}
				return ""
			})
		case 2:
			size := int64(1000 + r.IntN(60_000))
			gen := byte(r.IntN(256))
			h := sha256.New()
			io.Copy(h, vaulttest.NewGen(gen, size))
			d := moveDoc{Size: size}
			copy(d.Sum[:], h.Sum(nil))
			u.do("upload", "POST", "/api/v1/matters/"+u.matterID+"/documents?name=during-move.bin", vaulttest.NewGen(gen, size), size, func(resp *http.Response, _ *userCall) string {
				var doc docJSON
				if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || doc.ID == "" {
					return fmt.Sprintf("upload: %v", err)
				}
				u.mu.Lock()
				u.uploaded[doc.ID] = d
				u.mu.Unlock()
				return ""
			})
		}
	}
}

// TestOperator_UsersKeepWorking moves a us firm to ca through the operator
// API while its users work over the main listener: every answer is a
// success or 503 unavailable (never 401, 404 or 500, never wrong bytes),
// and the 503s all fall between the freeze and the switch, as do the
// transfers the freeze cuts off (a download in flight, whose bytes so far
// are right; an upload refused before its body was all sent). Afterwards
// every document, those uploaded during the move included, downloads
// byte-identical from ca, and the us cell holds nothing of the firm.
func TestOperator_UsersKeepWorking(t *testing.T) {
	needAuditMove(t)
	e := newMoveEnv(t, 2, func(int) int64 { return 5000 })
	srv := startServer(t, e.dataDir, e.config)
	op := opAPI(t, e.dataDir)
	owner := precellsLogin(t, srv.URL, e.firm.Emails[0], e.firm.Passwords[e.firm.Emails[0]])
	var matters []struct {
		ID string `json:"id"`
	}
	owner.json(t, "GET", "/api/v1/matters", nil, 200, &matters)
	if len(matters) == 0 {
		t.Fatal("no matter")
	}
	u := &userLoop{t: t, base: srv.URL, token: owner.token, matterID: matters[0].ID, docs: e.firm.Docs,
		chunks: map[string][][32]byte{}, hc: &http.Client{Timeout: time.Minute}, uploaded: map[string]moveDoc{}}
	// Enough bytes that copying the objects takes a while; uploaded by the
	// server (the test process runs under -race, the server does not).
	for i := range 32 {
		seed, size := byte(100+i), int64(4<<20)
		id := owner.upload(t, u.matterID, seed, size)
		var d moveDoc
		d.Size = size
		sums, whole := genSums(seed, size)
		copy(d.Sum[:], whole)
		e.firm.Docs[id], u.chunks[id] = d, sums
	}
	for id := range e.firm.Docs {
		u.ids = append(u.ids, id)
	}
	slices.Sort(u.ids)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() { u.work(uint64(i), stop) })
	}
	time.Sleep(300 * time.Millisecond) // the users are at work before the move
	moveStart := time.Now()
	var seen []stepSeen
	op.start(t, e.firm.ID, "ca")
	var last moveStatus
	for deadline := time.Now().Add(2 * time.Minute); ; {
		if time.Now().After(deadline) {
			t.Fatal("the move did not end")
		}
		s := stepSeen{start: time.Now()}
		code, b := op.call("GET", "/operator/v1/moves/"+e.firm.ID, nil, nil)
		s.end = time.Now()
		if code != http.StatusOK || json.Unmarshal(b, &last) != nil {
			t.Fatalf("GET the move = %d %s", code, b)
		}
		s.step = last.Step
		seen = append(seen, s)
		if !last.Running {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // and after it
	close(stop)
	wg.Wait()
	if last.Step != "done" || last.ErrorCode != "" {
		t.Fatalf("move = %+v, want done", last)
	}

	// The firm can answer unavailable only while frozen: not before the
	// last poll that saw no step past prepare began (the freeze follows
	// copy_blobs), nor after the first poll that saw the thaw's step ended.
	frozenFrom, thawedBy := moveStart, time.Time{}
	for _, s := range seen {
		i := slices.Index(move.Steps, move.Step(s.step))
		if i <= slices.Index(move.Steps, move.StepPrepare) {
			frozenFrom = s.start
		}
		if thawedBy.IsZero() && i >= slices.Index(move.Steps, thawStep) {
			thawedBy = s.end
		}
	}
	var ok, unavailable, cut, during int
	for _, c := range u.calls {
		switch {
		case c.err != "":
			t.Errorf("%s from %s to %s (freeze %s to %s): %s", c.op, c.start.Format(time.StampMicro), c.end.Format(time.StampMicro),
				frozenFrom.Format(time.StampMicro), thawedBy.Format(time.StampMicro), c.err)
		case c.cut:
			cut++
			if c.end.Before(frozenFrom) || c.start.After(thawedBy) {
				t.Errorf("%s cut off mid-stream from %s to %s, outside the freeze (%s to %s)", c.op,
					c.start.Format(time.StampMicro), c.end.Format(time.StampMicro), frozenFrom.Format(time.StampMicro), thawedBy.Format(time.StampMicro))
			}
		case c.status < 300:
			ok++
			if c.start.After(moveStart) && c.end.Before(frozenFrom) {
				during++
			}
		case c.status == http.StatusServiceUnavailable && c.code == "unavailable":
			unavailable++
			if c.end.Before(frozenFrom) || c.start.After(thawedBy) {
				t.Errorf("%s answered unavailable from %s to %s, outside the freeze (%s to %s)", c.op,
					c.start.Format(time.StampMicro), c.end.Format(time.StampMicro), frozenFrom.Format(time.StampMicro), thawedBy.Format(time.StampMicro))
			}
		default:
			t.Errorf("%s at %s = %d %s, want a success or 503 unavailable", c.op, c.start.Format(time.StampMicro), c.status, c.code)
		}
	}
	t.Logf("%d calls: %d successes (%d in the %s the blobs were copied), %d unavailable, %d transfers cut off by the freeze; frozen at most %s",
		len(u.calls), ok, during, frozenFrom.Sub(moveStart).Round(time.Millisecond), unavailable, cut, thawedBy.Sub(frozenFrom).Round(time.Millisecond))
	if during == 0 {
		t.Errorf("no call succeeded while the blobs were copied (from %s to %s): the users did not keep working", moveStart.Format(time.StampMicro), frozenFrom.Format(time.StampMicro))
	}
	if len(u.uploaded) == 0 {
		t.Errorf("no upload succeeded during the move")
	}

	// Everything, the uploads of the move's time included, is in ca.
	for id, d := range u.uploaded {
		e.firm.Docs[id] = d
	}
	for id, want := range e.firm.Docs {
		var d docJSON
		owner.json(t, "GET", "/api/v1/documents/"+id, nil, 200, &d)
		resp := owner.request(t, "GET", "/api/v1/documents/"+id+"/download", nil, nil)
		h := sha256.New()
		n, err := io.Copy(h, resp.Body)
		resp.Body.Close()
		if d.Region != "ca" || resp.StatusCode != 200 || err != nil || n != want.Size || !bytes.Equal(h.Sum(nil), want.Sum[:]) {
			t.Fatalf("document %s after the move: region %q, download %d, %d bytes, %v; want ca and the uploaded bytes", id, d.Region, resp.StatusCode, n, err)
		}
	}
	srv.Stop(t)
	e.checkGone(t, e.firm, "us")
}

// thawStep is the step that thaws the firm, before its record.
const thawStep = move.StepSwitch

// waitExit waits for the server to exit by itself and returns its exit
// code.
func waitExit(t *testing.T, srv *server) int {
	t.Helper()
	select {
	case err := <-srv.done:
		srv.done <- err
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(2 * time.Minute):
		t.Fatalf("the server did not exit\n%s", srv.Stderr.String())
		return 0
	}
}

// checkServedHTTP checks over the main listener that every user of firm
// f signs in and that the owner sees every document in region and
// downloads it byte-identical.
func checkServedHTTP(t *testing.T, srv *server, f moveFirm, region string) {
	t.Helper()
	owner := precellsLogin(t, srv.URL, f.Emails[0], f.Passwords[f.Emails[0]])
	for _, email := range f.Emails[1:] {
		precellsLogin(t, srv.URL, email, f.Passwords[email])
	}
	for id, want := range f.Docs {
		var d docJSON
		owner.json(t, "GET", "/api/v1/documents/"+id, nil, 200, &d)
		resp := owner.request(t, "GET", "/api/v1/documents/"+id+"/download", nil, nil)
		h := sha256.New()
		n, err := io.Copy(h, resp.Body)
		resp.Body.Close()
		if d.Region != region || resp.StatusCode != 200 || err != nil || n != want.Size || !bytes.Equal(h.Sum(nil), want.Sum[:]) {
			t.Fatalf("document %s: region %q, download %d, %d bytes, %v; want %s and the uploaded bytes", id, d.Region, resp.StatusCode, n, err, region)
		}
	}
}

// TestOperator_MoveCrash kills the serving process right after a step of
// a move it runs for the operator API (the crash hook), restarts it and
// checks over HTTP that the firm is served from exactly one region — the
// old one before the switch, the new one from it — then POSTs the move
// again: it resumes and ends with the firm in ca and nothing of it in the
// us cell.
func TestOperator_MoveCrash(t *testing.T) {
	needAuditMove(t)
	base := newMoveEnv(t, 3, func(i int) int64 { return int64(i+1) * 300_000 })
	for _, step := range []move.Step{move.StepCopyBlobs, move.StepHandover, move.StepCopyAudit, move.StepSwitch, move.StepAdopt, move.StepCleanup} {
		t.Run(string(step), func(t *testing.T) {
			e := base.copyEnv(t)
			srv := startServer(t, e.dataDir, e.config, moveCrashEnv+"="+string(step))
			opAPI(t, e.dataDir).start(t, e.firm.ID, "ca")
			if code := waitExit(t, srv); code != 3 {
				t.Fatalf("server after the crash hook at %s: exit %d, want 3\n%s", step, code, srv.Stderr.String())
			}

			srv = startServer(t, e.dataDir, e.config)
			op := opAPI(t, e.dataDir)
			code, b := op.call("GET", "/operator/v1/moves/"+e.firm.ID, nil, nil)
			var st moveStatus
			if code != 200 || json.Unmarshal(b, &st) != nil || st.Step != string(step) || st.Running {
				t.Fatalf("GET the move after the restart = %d %s, want it stopped after %s", code, b, step)
			}
			region := "us"
			if slices.Index(move.Steps, step) >= slices.Index(move.Steps, move.StepSwitch) {
				region = "ca"
			}
			checkServedHTTP(t, srv, e.firm, region)
			checkServedHTTP(t, srv, e.other, "ca")
			if code, b := op.call("POST", "/operator/v1/moves", map[string]string{"tenant_id": e.firm.ID, "to": "us"}, nil); code != http.StatusConflict || errorCode(b) != "conflict" {
				t.Fatalf("POST a move back to us while the one to ca is stopped = %d %s, want 409 conflict", code, b)
			}

			op.start(t, e.firm.ID, "ca")
			if st := op.wait(t, e.firm.ID); st.Step != "done" || st.ErrorCode != "" || st.Result == nil || st.Result.Resumed != step {
				t.Fatalf("the move resumed = %+v, want done after resuming at %s", st, step)
			}
			checkServedHTTP(t, srv, e.firm, "ca")
			srv.Stop(t)
			e.checkGone(t, e.firm, "us")
		})
	}
}
