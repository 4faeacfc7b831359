package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/vault/mirror"
)

// mirrorFirm creates a firm in region us (with the CLI, as the operator
// does), starts the server and signs its owner in; it returns the client
// and a new matter's id.
func mirrorFirm(t *testing.T, dataDir, cfg string, env ...string) (*server, *client, string, string) {
	t.Helper()
	out, errOut, err := cli(t, dataDir, "tenant", "create", "--name", "Firm MKMIRRORFIRM LLP", "--region", "us",
		"--owner-email", "mkmirrorowner@x.example", "--owner-name", "Owner MKMIRROROWNER", "--json", "--config", cfg)
	if err != nil {
		t.Fatalf("tenant create: %v\n%s", err, errOut)
	}
	var firm struct {
		TenantID      string `json:"tenant_id"`
		OwnerPassword string `json:"owner_password"`
	}
	json.Unmarshal([]byte(out), &firm)
	srv := startServer(t, dataDir, cfg, env...)
	c := newClient(srv.URL)
	var login struct{ Token string }
	c.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": "mkmirrorowner@x.example", "password": firm.OwnerPassword}, http.StatusOK, &login)
	c.token = login.Token
	var matter struct{ ID string }
	c.json(t, "POST", "/api/v1/matters", map[string]string{"name": "Matter MKMIRRORMATTER", "client": "Client MKMIRRORCLIENT"}, http.StatusCreated, &matter)
	return srv, c, firm.TenantID, matter.ID
}

// markedContents returns size random bytes with a marker string at the
// start and every MiB.
func markedContents(size int, marker string) []byte {
	b := make([]byte, size)
	rand.Read(b)
	for off := 0; off+len(marker) <= size; off += 1 << 20 {
		copy(b[off:], marker)
	}
	return b
}

// download GETs a document whole and returns its bytes; any error fails.
func (c *client) downloadBytes(tb testing.TB, id string) []byte {
	tb.Helper()
	resp := c.request(tb, "GET", "/api/v1/documents/"+id+"/download", nil, nil)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || err != nil {
		tb.Fatalf("download %s = %d, %v: %.200s", id, resp.StatusCode, err, b)
	}
	return b
}

// blobFiles returns the files of an fs store, by key.
func blobFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			files[filepath.ToSlash(rel)] = p
		}
		return nil
	})
	return files
}

// scrubJSON runs `casevault scrub --json` and decodes its report.
func scrubJSON(t *testing.T, dataDir, cfg, region string, env ...string) mirror.ScrubReport {
	t.Helper()
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		t.Setenv(k, v)
	}
	out, errOut, err := cli(t, dataDir, "scrub", "--region", region, "--json", "--config", cfg)
	var rep mirror.ScrubReport
	if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil {
		t.Fatalf("scrub: %v (%v)\n%s\n%s", err, jerr, out, errOut)
	}
	return rep
}

// TestMirror_BadPartOnPrimary flips a byte in a blob on an fs primary: the
// download is byte-identical (the part is served from the mirror), the
// primary's object is repaired to equal the mirror's, the metrics count
// it, no mirror object holds a marker of names or contents, scrub
// (through the keys) repairs a byte flipped on the mirror, then finds
// nothing, the residency report lists both sites, and serve's scheduled
// scrub shows in /metrics.
func TestMirror_BadPartOnPrimary(t *testing.T) {
	outside := t.TempDir()
	dataDir := filepath.Join(outside, "data")
	primaryDir, mirrorDir := filepath.Join(outside, "stores", "us"), filepath.Join(outside, "mirror", "us")
	cfg := filepath.Join(outside, "casevault.yaml")
	yml := fmt.Sprintf("regions:\n  us:\n    type: fs\n    path: %s\n    master_key: {type: file}\n    backup: off\n    mirror: {type: fs, path: %s}\n  ca:\n    type: fs\n    master_key: {type: file}\n    backup: off\n",
		primaryDir, mirrorDir)
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, c, tenant, matter := mirrorFirm(t, dataDir, cfg)
	contents := markedContents(3<<20+123, "MKMIRRORCONTENTS")
	doc := decodeDoc(t, c.request(t, "POST", "/api/v1/matters/"+matter+"/documents?name=MKMIRRORDOC.pdf",
		bytes.NewReader(contents), http.Header{"Content-Type": {"application/x-mkmirrortype"}}), http.StatusCreated)

	files := blobFiles(t, primaryDir)
	var key string
	for k := range files {
		if strings.HasPrefix(k, tenant+"/") {
			key = k
		}
	}
	if key == "" {
		t.Fatalf("no blob of the firm in the primary: %v", files)
	}
	mirrorFile := filepath.Join(mirrorDir, filepath.FromSlash(key))
	good, err := os.ReadFile(mirrorFile)
	if err != nil {
		t.Fatalf("the mirror lacks the blob: %v", err)
	}
	flip := func(path string, off int) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b[off] ^= 0x40
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	flip(files[key], len(good)/2) // a part in the middle

	if got := c.downloadBytes(t, doc.ID); !bytes.Equal(got, contents) {
		t.Fatalf("download with a bad part on the primary: %d bytes, want %d identical", len(got), len(contents))
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(files[key])
		if bytes.Equal(b, good) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the primary's object was not repaired")
		}
		time.Sleep(50 * time.Millisecond)
	}
	metrics := fetch(t, newClient(srv.URL), "/metrics", "")
	for _, want := range []string{`casevault_mirror_repaired_total{region="us"} 1`, `casevault_mirror_fallbacks_total{region="us"} 1`, `casevault_mirror_pending_objects{region="us"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	var ready struct {
		Checks map[string]string `json:"checks"`
	}
	newClient(srv.URL).json(t, "GET", "/readyz", nil, http.StatusOK, &ready)
	if got := ready.Checks["mirror:us"]; got != "ok" {
		t.Errorf("/readyz mirror:us: got %q, want ok", got)
	}

	markers := []string{"MKMIRROR", "mkmirrorowner"}
	if hits := bytesHits(t, mirrorDir, markers); len(hits) > 0 {
		t.Errorf("the mirror holds markers: %q", hits)
	}

	// A byte flipped on the mirror is found by scrub, checked through the
	// keys, and replaced by the primary's good copy.
	srv.Stop(t)
	flip(mirrorFile, 20)
	if rep := scrubJSON(t, dataDir, cfg, "us"); rep.Checked != 1 || rep.Repaired != 1 || rep.Findings() != 1 {
		t.Errorf("scrub: got %+v, want 1 checked, 1 repaired", rep)
	}
	if b, _ := os.ReadFile(mirrorFile); !bytes.Equal(b, good) {
		t.Error("the mirror's object was not repaired")
	}
	if rep := scrubJSON(t, dataDir, cfg, "us"); rep.Checked != 1 || rep.Findings() != 0 {
		t.Errorf("second scrub: got %+v, want nothing found", rep)
	}

	// The mirror is part of the region: the firm's residency report lists
	// its objects on both sites.
	out, errOut, err := cli(t, dataDir, "tenant", "residency", "--tenant", tenant, "--config", cfg)
	if err != nil {
		t.Fatalf("tenant residency: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, primaryDir) || !strings.Contains(out, mirrorDir) || strings.Count(out, key) < 2 {
		t.Errorf("the residency report does not list the blob on both sites:\n%s", out)
	}

	// serve's own scrub runs every scrub_interval and finds nothing wrong.
	if err := os.WriteFile(cfg, []byte(strings.Replace(yml, "    mirror:", "    scrub_interval: 1s\n    mirror:", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	srv = startServer(t, dataDir, cfg)
	metrics = fetch(t, newClient(srv.URL), "/metrics", "")
	deadline = time.Now().Add(20 * time.Second)
	for !strings.Contains(metrics, `casevault_scrub_last_findings{region="us"} 0`) || strings.Contains(metrics, `casevault_scrub_last_timestamp_seconds{region="us"} 0`) {
		if time.Now().After(deadline) {
			t.Fatalf("no scheduled scrub in /metrics:\n%s", metrics)
		}
		time.Sleep(200 * time.Millisecond)
		metrics = fetch(t, newClient(srv.URL), "/metrics", "")
	}
}
