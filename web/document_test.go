package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

// multipartBody builds a multipart/form-data body whose "file" part holds
// content, preceded by a small field.
func multipartBody(t testing.TB, filename, contentType string, content []byte) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("note", "ignored"); err != nil {
		t.Fatal(err)
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, filename))
	h.Set("Content-Type", contentType)
	part, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(content)
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func TestDocument_UploadRoundTrip(t *testing.T) {
	e := newEnv(t)
	owner, _ := e.firm(t, "ca")
	mid := owner.matter(t, "Estate")
	content := random(7, 3<<20+12345)

	t.Run("Raw", func(t *testing.T) {
		d := owner.upload(t, mid, "raw.bin", "application/octet-stream", content)
		if d.Size != int64(len(content)) || d.Version != 1 || d.Region != "ca" || d.Name != "raw.bin" ||
			d.ContentType != "application/octet-stream" || d.MatterID != mid || d.CreatedAt.IsZero() {
			t.Fatalf("raw upload = %+v", d)
		}
		resp, got := owner.read(t, "GET", "/api/v1/documents/"+d.ID+"/download", nil, nil)
		if resp.StatusCode != 200 || !bytes.Equal(got, content) || resp.ContentLength != int64(len(content)) {
			t.Fatalf("download = %d, %d bytes, equal %v", resp.StatusCode, len(got), bytes.Equal(got, content))
		}
	})
	t.Run("RawChunked", func(t *testing.T) {
		// No Content-Length: the size is found while streaming.
		resp, b := owner.read(t, "POST", "/api/v1/matters/"+mid+"/documents?name=chunked.bin",
			io.MultiReader(bytes.NewReader(content[:1000]), bytes.NewReader(content[1000:])), nil)
		var d docJSON
		decodeInto(t, resp, b, 201, &d)
		if d.Size != int64(len(content)) {
			t.Fatalf("size = %d", d.Size)
		}
	})
	t.Run("Multipart", func(t *testing.T) {
		body, ctype := multipartBody(t, "Scan – déjà vu.pdf", "application/pdf", content)
		resp, b := owner.read(t, "POST", "/api/v1/matters/"+mid+"/documents", body, http.Header{"Content-Type": {ctype}})
		var d docJSON
		decodeInto(t, resp, b, 201, &d)
		if d.Name != "Scan – déjà vu.pdf" || d.ContentType != "application/pdf" || d.Size != int64(len(content)) {
			t.Fatalf("multipart upload = %+v", d)
		}
		_, got := owner.read(t, "GET", "/api/v1/documents/"+d.ID+"/download", nil, nil)
		if !bytes.Equal(got, content) {
			t.Fatal("multipart download differs")
		}
	})
	t.Run("MultipartNameOverride", func(t *testing.T) {
		body, ctype := multipartBody(t, "C:/fake/path.txt", "text/plain", []byte("hi"))
		resp, b := owner.read(t, "POST", "/api/v1/matters/"+mid+"/documents?name=chosen.txt", body, http.Header{"Content-Type": {ctype}})
		var d docJSON
		decodeInto(t, resp, b, 201, &d)
		if d.Name != "chosen.txt" || d.ContentType != "text/plain" {
			t.Fatalf("upload = %+v", d)
		}
	})

	t.Run("Lifecycle", func(t *testing.T) {
		d := owner.upload(t, mid, "life.txt", "text/plain", []byte("one"))
		// New version, raw and multipart.
		resp, b := owner.read(t, "PUT", "/api/v1/documents/"+d.ID+"/content", strings.NewReader("version two"), nil)
		var v2 docJSON
		decodeInto(t, resp, b, 200, &v2)
		if v2.Version != 2 || v2.Size != 11 || v2.ContentType != "text/plain" || v2.Region != "ca" {
			t.Fatalf("PUT content = %+v", v2)
		}
		body, ctype := multipartBody(t, "ignored.md", "text/markdown", []byte("# three"))
		resp, b = owner.read(t, "PUT", "/api/v1/documents/"+d.ID+"/content", body, http.Header{"Content-Type": {ctype}})
		var v3 docJSON
		decodeInto(t, resp, b, 200, &v3)
		if v3.Version != 3 || v3.ContentType != "text/markdown" || v3.Name != "life.txt" {
			t.Fatalf("PUT multipart = %+v", v3)
		}
		var versions []vault.Version
		owner.json(t, "GET", "/api/v1/documents/"+d.ID+"/versions", nil, 200, &versions)
		if len(versions) != 3 || versions[0].Number != 1 || versions[2].Size != 7 {
			t.Fatalf("versions = %+v", versions)
		}
		if got := body2(t, owner, "/api/v1/documents/"+d.ID+"/content?version=1"); got != "one" {
			t.Fatalf("version 1 = %q", got)
		}

		// Rename and move.
		other := owner.matter(t, "Other")
		var moved docJSON
		owner.json(t, "PATCH", "/api/v1/documents/"+d.ID, map[string]string{"name": "final.txt", "matter_id": other}, 200, &moved)
		if moved.Name != "final.txt" || moved.MatterID != other {
			t.Fatalf("PATCH = %+v", moved)
		}
		resp, b = owner.read(t, "PATCH", "/api/v1/documents/"+d.ID, jsonReader(t, map[string]string{"name": "x.txt", "matter_id": vault.NewID(vault.PrefixMatter)}), nil)
		wantError(t, resp, b, 404, "not_found")
		var got docJSON
		owner.json(t, "GET", "/api/v1/documents/"+d.ID, nil, 200, &got)
		if got.Name != "final.txt" {
			t.Fatalf("a failed move renamed the document to %q", got.Name)
		}
		resp, b = owner.read(t, "PATCH", "/api/v1/documents/"+d.ID, strings.NewReader(`{}`), nil)
		wantError(t, resp, b, 400, "invalid")

		// Trash and restore.
		var trashed docJSON
		owner.json(t, "DELETE", "/api/v1/documents/"+d.ID, nil, 200, &trashed)
		if !trashed.Trashed {
			t.Fatalf("DELETE = %+v", trashed)
		}
		resp, b = owner.read(t, "GET", "/api/v1/documents/"+d.ID+"/download", nil, nil)
		wantError(t, resp, b, 404, "not_found")
		var list []docJSON
		owner.json(t, "GET", "/api/v1/matters/"+other+"/documents", nil, 200, &list)
		if len(list) != 0 {
			t.Fatalf("trashed document listed: %+v", list)
		}
		owner.json(t, "GET", "/api/v1/matters/"+other+"/documents?trashed=true", nil, 200, &list)
		if len(list) != 1 || !list[0].Trashed || list[0].Region != "ca" {
			t.Fatalf("?trashed=true lists %+v", list)
		}
		resp, b = owner.read(t, "GET", "/api/v1/matters/"+other+"/documents?trashed=maybe", nil, nil)
		wantError(t, resp, b, 400, "invalid")
		owner.json(t, "POST", "/api/v1/documents/"+d.ID+"/restore", nil, 200, &got)
		if got.Trashed || body2(t, owner, "/api/v1/documents/"+d.ID+"/download") != "# three" {
			t.Fatalf("restore = %+v", got)
		}
	})
}

// body2 GETs path and returns the body, wanting 200.
func body2(t testing.TB, c *client, path string) string {
	t.Helper()
	resp, b := c.read(t, "GET", path, nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

// decodeInto wants status and decodes the JSON body into out.
func decodeInto(t testing.TB, resp *http.Response, b []byte, status int, out any) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s %s = %d %s, want %d", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, b, status)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
}

// wantNothingStored checks that no document and no blob exist.
func wantNothingStored(t testing.TB, e *env, c *client, matterID string) {
	t.Helper()
	// The vault deletes a failed upload's blob as the request ends; allow
	// the server a moment after a client hung up.
	pendingLeft := func() []vault.PendingBlob {
		pending, err := e.DB.PendingBlobs(context.Background(), time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return pending
	}
	// An upload cut off mid-stream may still be writing when the client is
	// gone: wait until both its blob and its pending record are.
	deadline := time.Now().Add(5 * time.Second)
	for (e.blobCount(t) != 0 || len(pendingLeft()) != 0) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := e.blobCount(t); n != 0 {
		t.Errorf("%d blobs left in the region stores", n)
	}
	var list []docJSON
	c.json(t, "GET", "/api/v1/matters/"+matterID+"/documents?trashed=true", nil, 200, &list)
	if len(list) != 0 {
		t.Errorf("documents left: %+v", list)
	}
	if pending := pendingLeft(); len(pending) != 0 {
		t.Errorf("pending blob records left: %+v", pending)
	}
}

func TestDocument_BadUploads(t *testing.T) {
	e := newEnv(t)
	owner, _ := e.firm(t, "us")
	mid := owner.matter(t, "M")
	upload := func(t *testing.T, query string, body io.Reader, ctype string) (*http.Response, []byte) {
		t.Helper()
		h := http.Header{}
		if ctype != "" {
			h.Set("Content-Type", ctype)
		}
		return owner.read(t, "POST", "/api/v1/matters/"+mid+"/documents"+query, body, h)
	}

	t.Run("RawWithoutName", func(t *testing.T) {
		resp, b := upload(t, "", strings.NewReader("x"), "application/octet-stream")
		wantError(t, resp, b, 400, "invalid")
	})
	t.Run("MalformedMultipart", func(t *testing.T) {
		resp, b := upload(t, "", strings.NewReader("this is not multipart"), "multipart/form-data; boundary=XYZ")
		wantError(t, resp, b, 400, "invalid")
		resp, b = upload(t, "", strings.NewReader("x"), "multipart/form-data")
		wantError(t, resp, b, 400, "invalid")
	})
	t.Run("TruncatedMultipart", func(t *testing.T) {
		body, ctype := multipartBody(t, "a.bin", "application/octet-stream", random(2, 2<<20))
		cut := body.Bytes()[:body.Len()-100] // no closing boundary
		resp, b := upload(t, "", bytes.NewReader(cut), ctype)
		wantError(t, resp, b, 400, "invalid")
	})
	t.Run("MissingFilePart", func(t *testing.T) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("document", "not called file")
		mw.Close()
		resp, b := upload(t, "", &buf, mw.FormDataContentType())
		if e := wantError(t, resp, b, 400, "invalid"); !strings.Contains(e.Error.Message, "file") {
			t.Errorf("message = %q", e.Error.Message)
		}
	})
	t.Run("TooLarge", func(t *testing.T) {
		e.Svc.MaxDocumentSize = 1 << 20
		defer func() { e.Svc.MaxDocumentSize = 0 }()
		resp, b := upload(t, "?name=big.bin", bytes.NewReader(random(3, 1<<20+1)), "application/octet-stream")
		wantError(t, resp, b, 413, "too_large")
		// Chunked, so only the stream notices.
		resp, b = upload(t, "?name=big.bin", io.MultiReader(bytes.NewReader(random(3, 1<<20)), strings.NewReader("x")), "application/octet-stream")
		wantError(t, resp, b, 413, "too_large")
		body, ctype := multipartBody(t, "big.bin", "application/octet-stream", random(3, 1<<20+1))
		resp, b = upload(t, "", body, ctype)
		wantError(t, resp, b, 413, "too_large")
	})
	wantNothingStored(t, e, owner, mid)

	t.Run("Disconnect", func(t *testing.T) {
		e2 := newEnv(t)
		c, _ := e2.firm(t, "us")
		m := c.matter(t, "M")
		for _, kind := range []string{"raw", "chunked", "multipart"} {
			t.Run(kind, func(t *testing.T) {
				conn, err := net.Dial("tcp", strings.TrimPrefix(e2.Server.URL(), "http://"))
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				content := random(4, 4<<20)
				ctype, body := "application/octet-stream", content
				if kind == "multipart" {
					buf, ct := multipartBody(t, "a.bin", "application/octet-stream", content)
					ctype, body = ct, buf.Bytes()
				}
				w := bufio.NewWriter(conn)
				fmt.Fprintf(w, "POST /api/v1/matters/%s/documents?name=cut.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
					"Content-Type: %s\r\n", m, c.token, ctype)
				if kind == "chunked" {
					// Whole chunks, then silence: no terminating chunk.
					fmt.Fprintf(w, "Transfer-Encoding: chunked\r\n\r\n")
					for off := 0; off < len(body)/2; off += 64 << 10 {
						fmt.Fprintf(w, "%x\r\n%s\r\n", 64<<10, body[off:off+64<<10])
					}
				} else {
					fmt.Fprintf(w, "Content-Length: %d\r\n\r\n", len(body))
					w.Write(body[:len(body)/2])
				}
				w.Flush()
				time.Sleep(200 * time.Millisecond) // let the server start streaming
				conn.Close()
				wantNothingStored(t, e2, c, m)
			})
		}
	})
}

func TestDocument_Access(t *testing.T) {
	e := newEnv(t)
	owner, o := e.firm(t, "us")
	mid := owner.matter(t, "M")
	d := owner.upload(t, mid, "mine.txt", "text/plain", []byte("owner's"))
	rival, _ := e.firm(t, "ca")
	rivalMatter := rival.matter(t, "Rival")
	lawyer, _ := e.user(t, o.TenantID, vault.RoleLawyer)
	auditor, _ := e.user(t, o.TenantID, vault.RoleAuditor)

	missing := vault.NewID(vault.PrefixDocument)
	paths := []struct{ method, path string }{
		{"GET", "/api/v1/documents/%s"},
		{"GET", "/api/v1/documents/%s/versions"},
		{"GET", "/api/v1/documents/%s/content"},
		{"GET", "/api/v1/documents/%s/download"},
		{"PATCH", "/api/v1/documents/%s"},
		{"DELETE", "/api/v1/documents/%s"},
		{"POST", "/api/v1/documents/%s/restore"},
		{"PUT", "/api/v1/documents/%s/content"},
	}
	body := func(method string) io.Reader {
		switch method {
		case "PATCH":
			return strings.NewReader(`{"name":"stolen.txt"}`)
		case "PUT":
			return strings.NewReader("overwritten")
		}
		return nil
	}
	t.Run("CrossFirm", func(t *testing.T) {
		for _, p := range paths {
			respMissing, bMissing := rival.read(t, p.method, fmt.Sprintf(p.path, missing), body(p.method), nil)
			resp, b := rival.read(t, p.method, fmt.Sprintf(p.path, d.ID), body(p.method), nil)
			wantError(t, resp, b, 404, "not_found")
			if resp.StatusCode != respMissing.StatusCode || !bytes.Equal(b, bMissing) {
				t.Errorf("%s %s: another firm's id answers %d %s, a missing one %d %s", p.method, p.path, resp.StatusCode, b, respMissing.StatusCode, bMissing)
			}
		}
		// Another firm's matter, too.
		resp, b := owner.read(t, "GET", "/api/v1/matters/"+rivalMatter, nil, nil)
		respMissing, bMissing := owner.read(t, "GET", "/api/v1/matters/"+vault.NewID(vault.PrefixMatter), nil, nil)
		if resp.StatusCode != 404 || !bytes.Equal(b, bMissing) || respMissing.StatusCode != 404 {
			t.Errorf("another firm's matter = %d %s, missing = %s", resp.StatusCode, b, bMissing)
		}
		resp, b = owner.read(t, "POST", "/api/v1/matters/"+rivalMatter+"/documents?name=x", strings.NewReader("x"), nil)
		wantError(t, resp, b, 404, "not_found")
	})
	t.Run("NonUploader", func(t *testing.T) {
		for _, p := range paths {
			resp, b := lawyer.read(t, p.method, fmt.Sprintf(p.path, d.ID), body(p.method), nil)
			wantError(t, resp, b, 403, "forbidden")
		}
	})
	t.Run("Auditor", func(t *testing.T) {
		for _, p := range []string{"/content", "/download"} {
			resp, b := auditor.read(t, "GET", "/api/v1/documents/"+d.ID+p, nil, nil)
			wantError(t, resp, b, 403, "forbidden")
		}
		resp, b := auditor.read(t, "POST", "/api/v1/matters/"+mid+"/documents?name=x", strings.NewReader("x"), nil)
		wantError(t, resp, b, 403, "forbidden")
	})
	if got := body2(t, owner, "/api/v1/documents/"+d.ID+"/download"); got != "owner's" {
		t.Fatalf("after the attempts the document reads %q", got)
	}
}
