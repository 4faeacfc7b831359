package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/web"
)

// uploadResult is the answer to a scripted upload.
type uploadResult struct {
	status int
	header http.Header
	body   string
}

// upload posts one file to /matters/ID/documents as upload.js does: a
// multipart body with the csrf field, then the file; with the
// X-CSRF-Token header when header is set.
func (m *mattersUser) upload(tb testing.TB, matterID, name, content string, header bool) uploadResult {
	tb.Helper()
	return m.uploadToken(tb, matterID, name, content, map[bool]string{true: m.csrf}[header], header, header)
}

// uploadToken is upload with the header's and the field's token chosen:
// withHeader sends X-CSRF-Token: token, withField the csrf field.
func (m *mattersUser) uploadToken(tb testing.TB, matterID, name, content, token string, withHeader, withField bool) uploadResult {
	tb.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if withField {
		mw.WriteField("csrf", token)
	}
	fw, _ := mw.CreateFormFile("file", name)
	io.WriteString(fw, content)
	mw.Close()
	req, err := http.NewRequest("POST", m.base+"/matters/"+matterID+"/documents", &buf)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	if withHeader {
		req.Header.Set("X-CSRF-Token", token)
	}
	resp, err := m.c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return uploadResult{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// blobFiles counts the files under the vault's blob stores.
func blobFiles(tb testing.TB, dir string) int {
	tb.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(dir, "regions"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil && !os.IsNotExist(err) {
		tb.Fatal(err)
	}
	return n
}

// TestUIMatters_Upload posts to the scripted upload endpoint: with the
// session's token in X-CSRF-Token it stores the document and answers the
// contract's JSON; without the header and without a form token, or with a
// wrong one, it is refused with 403 and leaves no document and no blob; a
// refused upload answers the API's error body and status.
func TestUIMatters_Upload(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	owner, email, password := e.uiUser(t, "", "")
	m, err := e.Svc.CreateMatter(ctx, owner, "Estate of Doe", "J. Doe")
	if err != nil {
		t.Fatal(err)
	}
	u := mattersSession(t, e.Server.URL(), email, password)
	blobs := blobFiles(t, e.Dir)

	for _, tc := range []struct {
		name                string
		token               string
		withHeader, withTok bool
	}{
		{"NoHeaderNoField", "", false, false},
		{"WrongHeader", "wrong-token", true, false},
		{"EmptyHeader", "", true, false},
		{"WrongHeaderRightField", "wrong-token", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r uploadResult
			if tc.name == "WrongHeaderRightField" {
				// The header, when present, is the token that counts.
				r = u.uploadToken(t, m.ID, "forged.txt", "forged", tc.token, true, false)
			} else {
				r = u.uploadToken(t, m.ID, "forged.txt", "forged", tc.token, tc.withHeader, tc.withTok)
			}
			if r.status != http.StatusForbidden || !strings.Contains(r.body, "forbidden") {
				t.Fatalf("upload: %d %.200s, want 403 forbidden", r.status, r.body)
			}
		})
	}
	docs, err := e.Svc.Documents(ctx, owner, m.ID, true)
	if err != nil || len(docs) != 0 {
		t.Fatalf("documents after refused uploads: %d (%v), want none", len(docs), err)
	}
	if got := blobFiles(t, e.Dir); got != blobs {
		t.Fatalf("blob files after refused uploads: %d, want %d", got, blobs)
	}
	for _, a := range e.actions(t, owner) {
		if strings.HasPrefix(a, vault.ActDocumentUpload) {
			t.Fatalf("audit: %q after refused uploads, want no upload", a)
		}
	}

	r := u.upload(t, m.ID, "brief.txt", "the brief", true)
	var ans struct {
		Document struct {
			ID, Name, MatterID string
			Size               int64
			Region             string
		}
		Location string
	}
	if err := json.Unmarshal([]byte(r.body), &ans); err != nil || r.status != http.StatusCreated {
		t.Fatalf("upload: %d %s (%v), want 201 JSON", r.status, r.body, err)
	}
	if ans.Document.Name != "brief.txt" || ans.Document.Size != 9 || ans.Location != "/documents/"+ans.Document.ID || ans.Document.Region != "us" {
		t.Fatalf("upload answer: %+v, want brief.txt, 9 bytes, its location and region", ans)
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("upload answer: Content-Type %q, want JSON", r.header.Get("Content-Type"))
	}

	// Refusals answer the API's JSON error with its status.
	e.Svc.MaxDocumentSize = 16
	defer func() { e.Svc.MaxDocumentSize = 0 }()
	r = u.upload(t, m.ID, "big.txt", strings.Repeat("x", 1000), true)
	if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, `"code":"too_large"`) {
		t.Fatalf("too large: %d %s, want 413 too_large JSON", r.status, r.body)
	}
	e.Svc.MaxDocumentSize = 0
	r = u.upload(t, m.ID, "../etc/passwd", "x", true)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, `"code":"invalid"`) {
		t.Fatalf("bad name: %d %s, want 400 invalid JSON", r.status, r.body)
	}
}

// TestUIMatters_UploadLimit holds one upload open at a limit of one upload
// per user: the second answers 429 rate_limited in JSON with Retry-After.
func TestUIMatters_UploadLimit(t *testing.T) {
	e := newEnv(t)
	owner, email, password := e.uiUser(t, "", "")
	m, err := e.Svc.CreateMatter(context.Background(), owner, "Estate of Doe", "J. Doe")
	if err != nil {
		t.Fatal(err)
	}
	srv := e.server(t, func(s *web.Server) { s.UserUploads = 1 })
	u := mattersSession(t, srv.URL(), email, password)

	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	req, _ := http.NewRequest("POST", srv.URL()+"/matters/"+m.ID+"/documents", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-CSRF-Token", u.csrf)
	// The first upload has a connection of its own, never one a pool kept
	// idle (a POST whose body is a pipe cannot be retried on a stale one).
	first := &http.Client{Jar: u.c.Jar, Transport: &http.Transport{DisableKeepAlives: true}}
	done := make(chan string, 1)
	go func() {
		resp, err := first.Do(req)
		if err != nil {
			done <- err.Error()
			return
		}
		resp.Body.Close()
		done <- strconv.Itoa(resp.StatusCode)
	}()
	// A failing test must not leave the first upload open: the server's
	// Close would wait for it.
	defer pw.CloseWithError(io.ErrUnexpectedEOF)
	mw.WriteField("csrf", u.csrf)
	fw, _ := mw.CreateFormFile("file", "slow.txt")
	// 32 MiB through the pipe are more than the two sockets and the
	// buffers between them hold: the write returns only once the server's
	// handler reads the body, so the first upload holds the user's one slot
	// before the second is sent (a second sent earlier, on a loaded
	// machine, could take the slot first and make the first the refused
	// one).
	if _, err := fw.Write(bytes.Repeat([]byte("s"), 32<<20)); err != nil {
		select {
		case got := <-done:
			t.Fatalf("first upload answered %s before it was sent whole (write: %v)", got, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("first upload's body: %v", err)
		}
	}
	r := u.upload(t, m.ID, "second.txt", "x", true)
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, `"code":"rate_limited"`) || r.header.Get("Retry-After") == "" {
		t.Fatalf("second upload: %d %s Retry-After %q, want 429 rate_limited JSON with Retry-After", r.status, r.body, r.header.Get("Retry-After"))
	}
	mw.Close()
	pw.Close()
	if got := <-done; got != "201" {
		t.Fatalf("first upload: %s, want 201", got)
	}
}
