package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault/s3"
	"github.com/casevault/casevault/vault/s3/s3test"
	"github.com/casevault/casevault/vault/vaulttest"
)

// docJSON is a document as the API returns it.
type docJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Version     int    `json:"version"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
	Region      string `json:"region"`
	MatterID    string `json:"matter_id"`
	Trashed     bool   `json:"trashed"`
}

// e2eSize is the size of the documents the end-to-end test streams:
// 256 MiB, or CASEVAULT_E2E_SIZE bytes.
func e2eSize(tb testing.TB) int64 {
	if v := os.Getenv("CASEVAULT_E2E_SIZE"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			tb.Fatal(err)
		}
		return n
	}
	return 256 << 20
}

// TestE2E starts the real binary and walks a firm through its first day:
// setup, sign-in, raw and multipart uploads of 256 MiB, full and ranged
// downloads, a new version, rename, trash and restore — once on the local
// default regions and once with both regions in MinIO.
func TestE2E(t *testing.T) {
	t.Run("fs", func(t *testing.T) {
		srv := startServer(t, newDataDir(t), "")
		e2eWalk(t, srv)
	})
	t.Run("minio", func(t *testing.T) {
		srv := startMinIOServer(t)
		e2eWalk(t, srv)
		// Each S3 region's upload memory budget is on /metrics, and every
		// upload gave back what it held.
		resp, err := http.Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []string{"ca", "us"} {
			for _, want := range []string{
				fmt.Sprintf("casevault_upload_memory_limit_bytes{region=%q} %g\n", r, float64(s3.DefaultUploadMemory)),
				fmt.Sprintf("casevault_upload_memory_in_use_bytes{region=%q} 0\n", r),
				fmt.Sprintf("casevault_uploads_waiting{region=%q} 0\n", r),
			} {
				if !strings.Contains(string(b), want) {
					t.Errorf("metrics lack %q", want)
				}
			}
		}
	})
}

// startMinIOServer starts the binary with both regions in buckets of a
// shared MinIO server, the S3 keys passed in the environment; extra is
// more of the YAML config.
func startMinIOServer(tb testing.TB, extra ...string) *server {
	tb.Helper()
	m := s3test.Shared(tb, s3test.KindMinIO)
	dir := tb.TempDir()
	cfg := filepath.Join(dir, "casevault.yaml")
	var yml bytes.Buffer
	for _, e := range extra {
		yml.WriteString(e)
	}
	yml.WriteString("regions:\n")
	for _, r := range []string{"us", "ca"} {
		fmt.Fprintf(&yml, "  %s:\n    type: s3\n    endpoint: %s\n    bucket: %s\n    secure: false\n    create_bucket: true\n    master_key: {type: file}\n",
			r, m.Endpoint, s3test.NewBucketName("e2e-"+r))
	}
	if err := os.WriteFile(cfg, yml.Bytes(), 0o600); err != nil {
		tb.Fatal(err)
	}
	return startServer(tb, filepath.Join(dir, "data"), cfg,
		"CASEVAULT_REGION_US_ACCESS_KEY="+m.AccessKey, "CASEVAULT_REGION_US_SECRET_KEY="+m.SecretKey,
		"CASEVAULT_REGION_CA_ACCESS_KEY="+m.AccessKey, "CASEVAULT_REGION_CA_SECRET_KEY="+m.SecretKey)
}

func e2eWalk(t *testing.T, srv *server) {
	size := e2eSize(t)

	c, matterID := firstRun(t, srv)
	matter := struct{ ID string }{matterID}

	// Raw upload with a known length.
	h := sha256.New()
	resp := c.request(t, "POST", "/api/v1/matters/"+matter.ID+"/documents?name=raw.bin",
		&sizedReader{io.TeeReader(vaulttest.NewGen(1, size), h), size}, http.Header{"Content-Type": {"application/octet-stream"}})
	raw := decodeDoc(t, resp, http.StatusCreated)
	rawSum := h.Sum(nil)
	if raw.Size != size || raw.Version != 1 || raw.Region != "ca" || raw.Name != "raw.bin" {
		t.Fatalf("raw upload = %+v", raw)
	}

	// Multipart upload streamed with no length.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	h2 := sha256.New()
	go func() {
		part, err := mw.CreateFormFile("file", "Scan – déjà vu.pdf")
		if err == nil {
			_, err = io.Copy(part, io.TeeReader(vaulttest.NewGen(2, size), h2))
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	resp = c.request(t, "POST", "/api/v1/matters/"+matter.ID+"/documents", pr, http.Header{"Content-Type": {mw.FormDataContentType()}})
	multi := decodeDoc(t, resp, http.StatusCreated)
	if multi.Size != size || multi.Name != "Scan – déjà vu.pdf" {
		t.Fatalf("multipart upload = %+v", multi)
	}
	multiSum := h2.Sum(nil)

	// Full downloads, byte for byte.
	for _, d := range []struct {
		id  string
		sum []byte
	}{{raw.ID, rawSum}, {multi.ID, multiSum}} {
		resp := c.request(t, "GET", "/api/v1/documents/"+d.id+"/download", nil, nil)
		if resp.StatusCode != http.StatusOK || resp.ContentLength != size {
			t.Fatalf("download %s = %d, length %d", d.id, resp.StatusCode, resp.ContentLength)
		}
		h := sha256.New()
		n, err := io.Copy(h, resp.Body)
		resp.Body.Close()
		if err != nil || n != size || !bytes.Equal(h.Sum(nil), d.sum) {
			t.Fatalf("download %s: %d bytes, %v, hash match %v", d.id, n, err, bytes.Equal(h.Sum(nil), d.sum))
		}
	}

	// Ranged downloads.
	for _, r := range [][2]int64{{0, 100}, {size/2 - 7, 3 << 20}, {size - 10, 10}} {
		resp := c.request(t, "GET", "/api/v1/documents/"+raw.ID+"/download", nil,
			http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", r[0], r[0]+r[1]-1)}})
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, vaulttest.GenBytes(1, r[0], r[1])) {
			t.Fatalf("range %v: status %d, %d bytes, match %v", r, resp.StatusCode, len(got), bytes.Equal(got, vaulttest.GenBytes(1, r[0], r[1])))
		}
	}

	// A new version; the old one stays readable.
	resp = c.request(t, "PUT", "/api/v1/documents/"+raw.ID+"/content", bytes.NewReader([]byte("version two")),
		http.Header{"Content-Type": {"text/plain"}})
	v2 := decodeDoc(t, resp, http.StatusCreated, http.StatusOK)
	if v2.Version != 2 || v2.Size != int64(len("version two")) {
		t.Fatalf("new version = %+v", v2)
	}
	if got := fetch(t, c, "/api/v1/documents/"+raw.ID+"/download", ""); got != "version two" {
		t.Fatalf("current version reads %q", got)
	}
	if got := fetch(t, c, "/api/v1/documents/"+raw.ID+"/download?version=1", "bytes=0-99"); got != string(vaulttest.GenBytes(1, 0, 100)) {
		t.Fatal("version 1 no longer reads back")
	}

	// Rename, trash, restore.
	var renamed docJSON
	c.json(t, "PATCH", "/api/v1/documents/"+raw.ID, map[string]string{"name": "final.txt"}, http.StatusOK, &renamed)
	if renamed.Name != "final.txt" {
		t.Fatalf("rename = %+v", renamed)
	}
	c.json(t, "DELETE", "/api/v1/documents/"+raw.ID, nil, http.StatusOK, nil)
	resp = c.request(t, "GET", "/api/v1/documents/"+raw.ID+"/download", nil, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("download of a trashed document = %d, want 404", resp.StatusCode)
	}
	c.json(t, "POST", "/api/v1/documents/"+raw.ID+"/restore", nil, http.StatusOK, nil)
	if got := fetch(t, c, "/api/v1/documents/"+raw.ID+"/download", ""); got != "version two" {
		t.Fatalf("after restore the document reads %q", got)
	}
	var list []docJSON
	c.json(t, "GET", "/api/v1/matters/"+matter.ID+"/documents", nil, http.StatusOK, &list)
	if len(list) != 2 {
		t.Fatalf("matter lists %d documents, want 2", len(list))
	}

	// Everything above is in the audit log: export the firm's bundle and
	// verify it offline with the binary, pinned to the published key.
	var cp struct {
		Size        int64  `json:"size"`
		VerifierKey string `json:"verifier_key"`
	}
	c.json(t, "GET", "/api/v1/audit/checkpoint", nil, http.StatusOK, &cp)
	resp = c.request(t, "GET", "/api/v1/audit/export?format=jsonl", nil, nil)
	bundle, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("audit export = %d, %v", resp.StatusCode, err)
	}
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	if err := os.WriteFile(path, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary(t), "audit", "verify", "--key", cp.VerifierKey, path).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "OK: ") {
		t.Fatalf("casevault audit verify: %v\n%s", err, out)
	}
	leaves := string(decodeLeaves(t, bundle))
	for _, action := range []string{"setup", "login", "document.upload", "document.download", "document.rename", "document.trash", "document.restore"} {
		if !strings.Contains(leaves, `"action":"`+action+`"`) {
			t.Errorf("no %s event in the exported bundle", action)
		}
	}
	// Cut short, the same file fails.
	if err := os.WriteFile(path, bundle[:len(bundle)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(binary(t), "audit", "verify", "--key", cp.VerifierKey, path).CombinedOutput(); err == nil {
		t.Fatalf("a bundle cut short verified:\n%s", out)
	}
}

// decodeLeaves returns the leaves of a bundle's event lines, one per line.
func decodeLeaves(t *testing.T, bundle []byte) []byte {
	t.Helper()
	var out []byte
	for line := range bytes.Lines(bundle) {
		var ev struct {
			Type string `json:"type"`
			Leaf []byte `json:"leaf"` // base64 in the bundle
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatalf("bundle line %q: %v", line, err)
		}
		if ev.Type == "event" {
			out = append(append(out, ev.Leaf...), '\n')
		}
	}
	return out
}

// firstRun creates the first firm with the server's logged setup token
// (checking it works only once), signs its owner in and opens a matter.
func firstRun(tb testing.TB, srv *server) (*client, string) {
	tb.Helper()
	c := newClient(srv.URL)
	token := srv.SetupToken(tb)
	setup := map[string]string{"token": token, "firm_name": "Maple & Pine LLP", "region": "ca",
		"owner_email": "owner@maple.example", "owner_password": "correct horse battery staple"}
	c.json(tb, "POST", "/api/v1/setup", setup, http.StatusCreated, nil)
	c.json(tb, "POST", "/api/v1/setup", setup, http.StatusUnauthorized, nil)
	var login struct {
		Token string `json:"token"`
	}
	c.json(tb, "POST", "/api/v1/auth/login", map[string]string{"email": "owner@maple.example", "password": "correct horse battery staple"}, http.StatusOK, &login)
	c.token = login.Token
	var matter struct {
		ID string `json:"id"`
	}
	c.json(tb, "POST", "/api/v1/matters", map[string]string{"name": "Estate of Doe", "client": "J. Doe"}, http.StatusCreated, &matter)
	return c, matter.ID
}

func decodeDoc(t testing.TB, resp *http.Response, statuses ...int) docJSON {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	ok := false
	for _, s := range statuses {
		ok = ok || resp.StatusCode == s
	}
	if !ok {
		t.Fatalf("%s %s = %d %s, want %v", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, b, statuses)
	}
	var d docJSON
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return d
}

// fetch GETs path (with an optional Range) and returns the body.
func fetch(t *testing.T, c *client, path, rng string) string {
	t.Helper()
	h := http.Header{}
	if rng != "" {
		h.Set("Range", rng)
	}
	resp := c.request(t, "GET", path, nil, h)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("GET %s = %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}
