package web_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/web"
)

// TestServer_UploadStall checks that an upload whose client stops sending,
// or trickles, is cut off with 408 timeout and leaves nothing, while an
// upload that keeps up is not, however long it takes. (That a slow server
// never counts against its client: TestStallReader_CountsOnlyWaiting.)
func TestServer_UploadStall(t *testing.T) {
	e := newEnv(t)
	owner, _ := e.firm(t, "us")
	srv := e.server(t, func(s *web.Server) { s.UploadStallWindow, s.UploadMinBytes = 300*time.Millisecond, 1024 })
	owner.base = srv.URL()
	matter := owner.matter(t, "Stalls")
	doc := owner.upload(t, matter, "v1.txt", "text/plain", []byte("first version"))
	blobs := e.blobCount(t)
	raw := http.Header{"Content-Type": {"application/octet-stream"}}

	// send uploads a body that feed writes, and returns the response.
	send := func(method, path string, feed func(w *io.PipeWriter)) (*http.Response, []byte) {
		r, w := io.Pipe()
		t.Cleanup(func() { w.CloseWithError(errors.New("test over")) })
		go feed(w)
		return owner.read(t, method, path, r, raw)
	}
	cases := []struct {
		name string
		feed func(w *io.PipeWriter)
	}{
		{"silent", func(w *io.PipeWriter) { w.Write([]byte("a few bytes, then nothing")) }},
		{"trickle", func(w *io.PipeWriter) { // about 100 bytes per window
			for range 100 {
				if _, err := w.Write([]byte("0123456789")); err != nil {
					return
				}
				time.Sleep(30 * time.Millisecond)
			}
			w.Close()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := send("POST", "/api/v1/matters/"+matter+"/documents?name="+tc.name+".bin", tc.feed)
			wantError(t, resp, b, http.StatusRequestTimeout, "timeout")
			resp, b = send("PUT", "/api/v1/documents/"+doc.ID+"/content", tc.feed)
			wantError(t, resp, b, http.StatusRequestTimeout, "timeout")
		})
	}
	// Nothing of the stalled uploads remains: no document, no version, no
	// blob.
	var list []struct{ Name string }
	owner.json(t, "GET", "/api/v1/matters/"+matter+"/documents", nil, http.StatusOK, &list)
	var d struct{ Version int }
	owner.json(t, "GET", "/api/v1/documents/"+doc.ID, nil, http.StatusOK, &d)
	if len(list) != 1 || d.Version != 1 || e.blobCount(t) != blobs {
		t.Fatalf("after stalled uploads: %d documents, version %d, %d blobs (was %d)", len(list), d.Version, e.blobCount(t), blobs)
	}

	// A client that keeps up is never cut off, however long the upload
	// takes: 40 KiB per 100 ms for a second and a half.
	resp, b := send("POST", "/api/v1/matters/"+matter+"/documents?name=steady.bin", func(w *io.PipeWriter) {
		chunk := []byte(strings.Repeat("x", 40<<10))
		for range 15 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		w.Close()
	})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("steady upload = %d %s", resp.StatusCode, b)
	}
}
