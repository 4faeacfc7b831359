package web_test

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/casevault/casevault/web"
)

func TestContent_Ranges(t *testing.T) {
	e := newEnv(t)
	owner, _ := e.firm(t, "us")
	mid := owner.matter(t, "M")
	content := random(9, 3<<20+777)
	size := int64(len(content))
	d := owner.upload(t, mid, "r.bin", "application/octet-stream", content)
	path := "/api/v1/documents/" + d.ID + "/download"

	for _, tt := range []struct {
		rng        string
		start, end int64 // inclusive
	}{
		{"bytes=0-99", 0, 99},
		{"bytes=1048570-1048600", 1048570, 1048600}, // across an encryption part
		{"bytes=100-", 100, size - 1},
		{"bytes=-10", size - 10, size - 1},
		{"bytes=-99999999", 0, size - 1},
		{"bytes=5-99999999", 5, size - 1},
		{fmt.Sprintf("bytes=%d-%d", size-1, size-1), size - 1, size - 1},
	} {
		t.Run(tt.rng, func(t *testing.T) {
			resp, got := owner.read(t, "GET", path, nil, http.Header{"Range": {tt.rng}})
			if resp.StatusCode != 206 {
				t.Fatalf("status = %d %s", resp.StatusCode, got)
			}
			if want := content[tt.start : tt.end+1]; !bytes.Equal(got, want) {
				t.Fatalf("got %d bytes, want %d (equal %v)", len(got), len(want), bytes.Equal(got, want))
			}
			if cr, want := resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-%d/%d", tt.start, tt.end, size); cr != want {
				t.Errorf("Content-Range = %q, want %q", cr, want)
			}
			if cl := resp.Header.Get("Content-Length"); cl != strconv.FormatInt(tt.end-tt.start+1, 10) {
				t.Errorf("Content-Length = %q", cl)
			}
		})
	}

	for _, rng := range []string{
		fmt.Sprintf("bytes=%d-", size), fmt.Sprintf("bytes=%d-%d", size+5, size+10), "bytes=-0",
		"bytes=abc", "bytes=5-1", "bytes=", "bytes=--1", "bytes=1", "bytes 0-1", "bytes=99999999999999999999-",
	} {
		t.Run("416 "+rng, func(t *testing.T) {
			resp, b := owner.read(t, "GET", path, nil, http.Header{"Range": {rng}})
			wantError(t, resp, b, 416, "invalid")
			if cr := resp.Header.Get("Content-Range"); cr != fmt.Sprintf("bytes */%d", size) {
				t.Errorf("Content-Range = %q", cr)
			}
			if resp.Header.Get("Content-Disposition") != "" {
				t.Error("a 416 carries Content-Disposition")
			}
		})
	}

	// Several ranges, or another unit: the whole document with 200.
	for _, rng := range []string{"bytes=0-1,5-6", "items=0-1"} {
		resp, got := owner.read(t, "GET", path, nil, http.Header{"Range": {rng}})
		if resp.StatusCode != 200 || !bytes.Equal(got, content) {
			t.Errorf("Range %q = %d, %d bytes", rng, resp.StatusCode, len(got))
		}
	}

	t.Run("IfRange", func(t *testing.T) {
		etag := web.ETag(d.ID, 1)
		resp, got := owner.read(t, "GET", path, nil, http.Header{"Range": {"bytes=0-9"}, "If-Range": {etag}})
		if resp.StatusCode != 206 || len(got) != 10 {
			t.Errorf("matching If-Range = %d, %d bytes", resp.StatusCode, len(got))
		}
		for _, ir := range []string{`"other"`, "W/" + etag, "Wed, 21 Oct 2015 07:28:00 GMT"} {
			resp, got = owner.read(t, "GET", path, nil, http.Header{"Range": {"bytes=0-9"}, "If-Range": {ir}})
			if resp.StatusCode != 200 || int64(len(got)) != size {
				t.Errorf("If-Range %s = %d, %d bytes", ir, resp.StatusCode, len(got))
			}
		}
	})

	t.Run("HEAD", func(t *testing.T) {
		resp, b := owner.read(t, "HEAD", path, nil, nil)
		if resp.StatusCode != 200 || len(b) != 0 || resp.ContentLength != size || resp.Header.Get("Accept-Ranges") != "bytes" {
			t.Fatalf("HEAD = %d, length %d, %v", resp.StatusCode, resp.ContentLength, resp.Header)
		}
		resp, _ = owner.read(t, "HEAD", path, nil, http.Header{"Range": {"bytes=-5"}})
		if resp.StatusCode != 206 || resp.ContentLength != 5 {
			t.Fatalf("ranged HEAD = %d, length %d", resp.StatusCode, resp.ContentLength)
		}
		resp, _ = owner.read(t, "HEAD", "/api/v1/documents/"+d.ID+"/content", nil, nil)
		if resp.StatusCode != 200 || resp.ContentLength != size {
			t.Fatalf("HEAD content = %d", resp.StatusCode)
		}
	})

	t.Run("Empty", func(t *testing.T) {
		empty := owner.upload(t, mid, "empty.txt", "text/plain", nil)
		resp, b := owner.read(t, "GET", "/api/v1/documents/"+empty.ID+"/download", nil, nil)
		if resp.StatusCode != 200 || len(b) != 0 || resp.Header.Get("Content-Length") != "0" {
			t.Fatalf("empty download = %d %q %v", resp.StatusCode, b, resp.Header)
		}
		resp, b = owner.read(t, "GET", "/api/v1/documents/"+empty.ID+"/download", nil, http.Header{"Range": {"bytes=0-"}})
		wantError(t, resp, b, 416, "invalid")
	})

	t.Run("BadVersion", func(t *testing.T) {
		for _, v := range []string{"0", "-1", "x", "1.5"} {
			resp, b := owner.read(t, "GET", path+"?version="+v, nil, nil)
			wantError(t, resp, b, 400, "invalid")
		}
		resp, b := owner.read(t, "GET", path+"?version=2", nil, nil)
		wantError(t, resp, b, 404, "not_found")
	})
}

func TestContent_ETag(t *testing.T) {
	e := newEnv(t)
	owner, _ := e.firm(t, "us")
	mid := owner.matter(t, "M")
	d := owner.upload(t, mid, "e.txt", "text/plain", []byte("v1"))
	path := "/api/v1/documents/" + d.ID + "/content"

	resp, _ := owner.read(t, "GET", path, nil, nil)
	etag := resp.Header.Get("ETag")
	if etag != web.ETag(d.ID, 1) || etag[0] != '"' {
		t.Fatalf("ETag = %q", etag)
	}
	for _, inm := range []string{etag, "W/" + etag, `"x", ` + etag, "*"} {
		resp, b := owner.read(t, "GET", path, nil, http.Header{"If-None-Match": {inm}})
		if resp.StatusCode != 304 || len(b) != 0 || resp.Header.Get("ETag") != etag {
			t.Errorf("If-None-Match %s = %d %q", inm, resp.StatusCode, b)
		}
	}
	// A new version changes the tag.
	owner.read(t, "PUT", "/api/v1/documents/"+d.ID+"/content", bytes.NewReader([]byte("v2")), nil)
	resp, b := owner.read(t, "GET", path, nil, http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != 200 || string(b) != "v2" || resp.Header.Get("ETag") != web.ETag(d.ID, 2) {
		t.Errorf("after a new version = %d %q %q", resp.StatusCode, b, resp.Header.Get("ETag"))
	}
	resp, _ = owner.read(t, "GET", path+"?version=1", nil, http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != 304 {
		t.Errorf("version 1 with its tag = %d", resp.StatusCode)
	}
}

func TestContent_Headers(t *testing.T) {
	e := newEnv(t)
	owner, _ := e.firm(t, "us")
	mid := owner.matter(t, "M")

	t.Run("Disposition", func(t *testing.T) {
		for _, name := range []string{"Mémoire – 2026 ✓.pdf", `say "hi".pdf`, "plain.pdf", "semi;colon=equals.pdf", `it's "q" – é.pdf`} {
			d := owner.upload(t, mid, name, "application/pdf", []byte("%PDF"))
			for path, kind := range map[string]string{"/download": "attachment", "/content": "inline"} {
				resp, _ := owner.read(t, "GET", "/api/v1/documents/"+d.ID+path, nil, nil)
				cd := resp.Header.Get("Content-Disposition")
				disp, params, err := mime.ParseMediaType(cd)
				if err != nil || disp != kind || params["filename"] != name {
					t.Errorf("%s of %q: Content-Disposition %q parses to %q %q %v", path, name, cd, disp, params, err)
				}
			}
		}
		// Every name also has an ASCII fallback a legacy client can use
		// as it is: non-ASCII, quote and percent become "_".
		for name, want := range map[string]string{
			"Mémoire.pdf":         `attachment; filename="M_moire.pdf"; filename*=UTF-8''M%C3%A9moire.pdf`,
			`say "hi" 100%.pdf`:   `attachment; filename="say _hi_ 100_.pdf"; filename*=UTF-8''say%20%22hi%22%20100%25.pdf`,
			"Отчёт 2026 ✓.docx":   `attachment; filename="_____ 2026 _.docx"; filename*=UTF-8''%D0%9E%D1%82%D1%87%D1%91%D1%82%202026%20%E2%9C%93.docx`,
			"plain-name_v1.2.pdf": `attachment; filename="plain-name_v1.2.pdf"; filename*=UTF-8''plain-name_v1.2.pdf`,
		} {
			resp, _ := owner.read(t, "GET", "/api/v1/documents/"+owner.upload(t, mid, name, "application/pdf", []byte("x")).ID+"/download", nil, nil)
			cd := resp.Header.Get("Content-Disposition")
			if cd != want {
				t.Errorf("Content-Disposition of %q = %q, want %q", name, cd, want)
			}
			fallback := cd[strings.Index(cd, `filename="`)+len(`filename="`) : strings.Index(cd, `"; filename*=`)]
			for _, r := range fallback {
				if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
					t.Errorf("fallback filename %q of %q holds %q", fallback, name, r)
				}
			}
		}
	})

	t.Run("Inline", func(t *testing.T) {
		d := owner.upload(t, mid, "scan.png", "image/png", []byte("\x89PNG"))
		resp, _ := owner.read(t, "GET", "/api/v1/documents/"+d.ID+"/content", nil, nil)
		for k, want := range map[string]string{
			"Content-Type":            "image/png",
			"Content-Security-Policy": web.ContentSecurityPolicy,
			"X-Content-Type-Options":  "nosniff",
			"Cache-Control":           "no-store",
			"Accept-Ranges":           "bytes",
		} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
	})

	t.Run("ActiveTypes", func(t *testing.T) {
		for _, ct := range []string{"text/html", "text/html; charset=utf-8", "image/svg+xml", "application/xhtml+xml",
			"text/javascript", "application/xml", "application/rss+xml"} {
			html := []byte(`<html><script>alert(document.domain)</script></html>`)
			d := owner.upload(t, mid, "page.html", ct, html)
			resp, b := owner.read(t, "GET", "/api/v1/documents/"+d.ID+"/content", nil, nil)
			if got := resp.Header.Get("Content-Type"); got != "text/plain; charset=utf-8" {
				t.Errorf("inline %s served as %q", ct, got)
			}
			if !bytes.Equal(b, html) || resp.Header.Get("Content-Security-Policy") != web.ContentSecurityPolicy {
				t.Errorf("inline %s: body %q, CSP %q", ct, b, resp.Header.Get("Content-Security-Policy"))
			}
			resp, _ = owner.read(t, "GET", "/api/v1/documents/"+d.ID+"/download", nil, nil)
			if got := resp.Header.Get("Content-Disposition"); got != `attachment; filename="page.html"; filename*=UTF-8''page.html` {
				t.Errorf("download of %s: Content-Disposition %q", ct, got)
			}
		}
	})
}
