package web_test

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/web"
)

// TestServer_UserRateLimit checks that one signed-in user's requests beyond
// their rate get 429 with Retry-After, and other users are not affected.
func TestServer_UserRateLimit(t *testing.T) {
	e := newEnv(t)
	owner, ou := e.firm(t, "us")
	lawyer, _ := e.user(t, ou.TenantID, vault.RoleLawyer)
	srv := e.server(t, func(s *web.Server) { s.UserRate, s.UserBurst = 0.001, 3 })
	owner.base, lawyer.base = srv.URL(), srv.URL()

	for i := range 3 {
		if resp, b := owner.read(t, "GET", "/api/v1/me", nil, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d within the burst = %d %s", i, resp.StatusCode, b)
		}
	}
	resp, b := owner.read(t, "GET", "/api/v1/me", nil, nil)
	wantError(t, resp, b, http.StatusTooManyRequests, "rate_limited")
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After = %q", resp.Header.Get("Retry-After"))
	}
	if resp, _ := lawyer.read(t, "GET", "/api/v1/me", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("another user is limited too: %d", resp.StatusCode)
	}
}

// TestServer_UserUploadLimit checks that a user's uploads beyond those in
// progress get 429 before their body is read, that new versions count too,
// that other users are not affected, and that a finished upload frees its
// slot.
func TestServer_UserUploadLimit(t *testing.T) {
	e := newEnv(t)
	owner, ou := e.firm(t, "us")
	lawyer, _ := e.user(t, ou.TenantID, vault.RoleLawyer)
	srv := e.server(t, func(s *web.Server) { s.UserUploads = 2 })
	owner.base, lawyer.base = srv.URL(), srv.URL()
	matter := owner.matter(t, "Uploads")
	doc := owner.upload(t, matter, "v1.txt", "text/plain", []byte("first version"))
	raw := http.Header{"Content-Type": {"application/octet-stream"}}

	// Two uploads in progress: each body is a pipe, and 32 MiB written to
	// it is more than the client's and the kernel's buffers hold, so the
	// server has started reading it (and taken a slot) when the write
	// returns.
	type upload struct {
		w    *io.PipeWriter
		done chan *http.Response
	}
	start := func(method, path string) upload {
		r, w := io.Pipe()
		t.Cleanup(func() { w.CloseWithError(errors.New("test over")) })
		u := upload{w: w, done: make(chan *http.Response, 1)}
		go func() { u.done <- owner.do(t, method, path, r, raw) }()
		if _, err := w.Write(make([]byte, 32<<20)); err != nil {
			t.Fatal(err)
		}
		return u
	}
	ups := []upload{
		start("POST", "/api/v1/matters/"+matter+"/documents?name=slow.bin"),
		start("PUT", "/api/v1/documents/"+doc.ID+"/content"),
	}

	// A third upload of either kind is refused at once.
	resp, b := owner.read(t, "POST", "/api/v1/matters/"+matter+"/documents?name=third.bin", strings.NewReader("third"), raw)
	wantError(t, resp, b, http.StatusTooManyRequests, "rate_limited")
	if resp.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After on a refused upload")
	}
	resp, b = owner.read(t, "PUT", "/api/v1/documents/"+doc.ID+"/content", strings.NewReader("third"), raw)
	wantError(t, resp, b, http.StatusTooManyRequests, "rate_limited")
	// Other requests of the same user, and other users' uploads, go on.
	if resp, b := owner.read(t, "GET", "/api/v1/documents/"+doc.ID, nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET while uploading = %d %s", resp.StatusCode, b)
	}
	lawyer.upload(t, lawyer.matter(t, "Lawyer's"), "mine.txt", "text/plain", []byte("not limited by the owner's uploads"))

	// Finishing one upload frees its slot.
	ups[0].w.Close()
	if resp := <-ups[0].done; resp.StatusCode != http.StatusCreated {
		t.Fatalf("first upload = %d", resp.StatusCode)
	} else {
		resp.Body.Close()
	}
	owner.upload(t, matter, "after.txt", "text/plain", []byte("a slot is free again"))
	ups[1].w.Close()
	if resp := <-ups[1].done; resp.StatusCode != http.StatusOK {
		t.Fatalf("new version = %d", resp.StatusCode)
	} else {
		resp.Body.Close()
	}
	// The refused uploads left nothing: the matter holds exactly the
	// uploads that finished.
	var list []struct{ Name string }
	owner.json(t, "GET", "/api/v1/matters/"+matter+"/documents", nil, http.StatusOK, &list)
	if len(list) != 3 {
		t.Fatalf("matter lists %d documents, want v1.txt, slow.bin and after.txt: %+v", len(list), list)
	}
}
