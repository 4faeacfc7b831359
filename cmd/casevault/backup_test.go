package main

import (
	"bytes"
	"context"
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

	"github.com/minio/minio-go/v7"

	"github.com/casevault/casevault/vault/s3/s3test"
)

// backupConfig writes a configuration whose two regions keep their blobs
// and backups outside the data directory, backing up every second; extra,
// by region, adds lines to that region's backup settings (YAML at its
// indentation, each ending in a newline).
func backupConfig(t *testing.T, outside string, extra ...map[string]string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("regions:\n")
	for _, r := range []string{"us", "ca"} {
		fmt.Fprintf(&b, "  %s:\n    type: fs\n    path: %s\n    master_key: {type: file}\n    backup:\n      dir: %s\n      interval: 1s\n",
			r, filepath.Join(outside, "stores", r), filepath.Join(outside, "backups", r))
		for _, e := range extra {
			b.WriteString(e[r])
		}
	}
	cfg := filepath.Join(outside, "casevault.yaml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// restoreJSON runs `casevault restore --json` and decodes its summary.
func restoreJSON(t *testing.T, dataDir, cfg, region, to string, extra ...string) restoreSummary {
	t.Helper()
	args := append([]string{"restore", "--region", region, "--to", to, "--json", "--config", cfg}, extra...)
	out, errOut, err := cli(t, dataDir, args...)
	if err != nil {
		t.Fatalf("restore %s: %v\n%s\n%s", region, err, out, errOut)
	}
	var s restoreSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("restore --json printed %q: %v", out, err)
	}
	return s
}

// bytesHits returns the files under dir whose contents or path contain s.
func bytesHits(t *testing.T, dir string, s []string) []string {
	t.Helper()
	var hits []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		for _, x := range s {
			if bytes.Contains(b, []byte(x)) || strings.Contains(p, x) {
				hits = append(hits, x+": "+p)
			}
		}
		return nil
	})
	return hits
}

// TestBackup_LoseDataDirAndRestore backs up a running server's two cells
// (firm names, emails and contents carrying markers), checks that no backup
// object holds a marker or a firm id, restores as of a time between two
// uploads (exactly the first shows), then deletes the whole data directory,
// restores both cells from their backups alone and serves them again:
// sign-in works and the document downloads byte for byte.
func TestBackup_LoseDataDirAndRestore(t *testing.T) {
	outside := t.TempDir()
	dataDir := filepath.Join(outside, "data")
	cfg := backupConfig(t, outside)

	out, errOut, err := cli(t, dataDir, "tenant", "create", "--name", "Firm MKFIRMTWO LLP", "--region", "us",
		"--owner-email", "mkcliowneremail@x.example", "--owner-name", "Owner MKCLIOWNERNAME", "--json", "--config", cfg)
	if err != nil {
		t.Fatalf("tenant create: %v\n%s", err, errOut)
	}
	var usFirm struct {
		TenantID string `json:"tenant_id"`
	}
	json.Unmarshal([]byte(out), &usFirm)

	out, errOut, err = cli(t, dataDir, "tenant", "create", "--name", "Firm MKFIRMONE LLP", "--region", "ca",
		"--owner-email", "mkowneremail@x.example", "--owner-name", "Owner MKOWNERNAME", "--json", "--config", cfg)
	if err != nil {
		t.Fatalf("tenant create: %v\n%s", err, errOut)
	}
	var caFirm struct {
		OwnerPassword string `json:"owner_password"`
	}
	json.Unmarshal([]byte(out), &caFirm)
	password := caFirm.OwnerPassword

	srv := startServer(t, dataDir, cfg)
	c := newClient(srv.URL)
	var login struct{ Token string }
	c.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": "mkowneremail@x.example", "password": password}, http.StatusOK, &login)
	c.token = login.Token
	var matter struct{ ID string }
	c.json(t, "POST", "/api/v1/matters", map[string]string{"name": "Matter MKMATTERNAME", "client": "Client MKCLIENTNAME"}, http.StatusCreated, &matter)
	contentsA := "contents MKCONTENTS of A " + strings.Repeat("a", 100000)
	docA := decodeDoc(t, c.request(t, "POST", "/api/v1/matters/"+matter.ID+"/documents?name=MKDOCRAW.pdf",
		strings.NewReader(contentsA), http.Header{"Content-Type": {"application/x-mkctypeone"}}), http.StatusCreated)

	// Litestream notices the WAL within a second and ships within the next.
	time.Sleep(3 * time.Second)
	at := time.Now().UTC().Truncate(time.Second)
	time.Sleep(2 * time.Second)
	docB := decodeDoc(t, c.request(t, "POST", "/api/v1/matters/"+matter.ID+"/documents?name=MKDOCMULTI.pdf",
		strings.NewReader("contents MKCONTENTS of B"), http.Header{"Content-Type": {"application/x-mkctypetwo"}}), http.StatusCreated)
	srv.Stop(t) // the final sync ships the rest

	out, _, err = cli(t, dataDir, "tenant", "list", "--json", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var firms []struct {
		ID     string `json:"id"`
		Region string `json:"region"`
	}
	json.Unmarshal([]byte(out), &firms)
	ids := map[string]string{}
	for _, f := range firms {
		ids[f.Region] = f.ID
	}
	if ids["us"] != usFirm.TenantID || ids["ca"] == "" {
		t.Fatalf("tenant list = %s", out)
	}

	t.Run("NothingInTheClear", func(t *testing.T) {
		backups := filepath.Join(outside, "backups")
		if hits := markerHits(t, backups); len(hits) > 0 {
			t.Errorf("backup objects hold identifying text:\n  %s", strings.Join(hits, "\n  "))
		}
		if hits := bytesHits(t, backups, []string{ids["us"], ids["ca"], docA.ID, docB.ID}); len(hits) > 0 {
			t.Errorf("backup objects hold ids:\n  %s", strings.Join(hits, "\n  "))
		}
	})

	t.Run("PointInTime", func(t *testing.T) {
		s := restoreJSON(t, dataDir, cfg, "ca", filepath.Join(outside, "at"), "--at", at.Format(time.RFC3339))
		if !s.OK || len(s.Firms) != 1 || s.Firms[0].Tenant != ids["ca"] {
			t.Fatalf("restore at %s = %+v", at, s)
		}
		if got, want := s.Firms[0].Documents, 1; got != want {
			t.Errorf("documents as of %s: got %d, want %d (A only)", at, got, want)
		}
		if s.Firms[0].AuditVerified == 0 {
			t.Errorf("audit log as of %s: nothing verified: %+v", at, s.Firms[0])
		}
		// B's upload was recorded and anchored after at: the older log is
		// a visible gap, never a silent fork.
		if s.Firms[0].AuditBehind == "" {
			t.Errorf("audit log as of %s: not reported behind its anchored checkpoint: %+v", at, s.Firms[0])
		}
	})

	// Lose the whole data directory: the keys, the blob stores and the
	// backups are elsewhere.
	if err := os.RemoveAll(dataDir); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"us", "ca"} {
		s := restoreJSON(t, dataDir, cfg, r, filepath.Join(dataDir, "regions", r))
		if !s.OK || len(s.Firms) != 1 || s.Firms[0].Tenant != ids[r] {
			t.Fatalf("restore %s = %+v (a backup holds its own region's firm only)", r, s)
		}
		f := s.Firms[0]
		if f.AuditEvents == 0 || f.AuditVerified == 0 || f.AuditError != "" || f.AuditBehind != "" {
			t.Errorf("restore %s: audit log %+v", r, f)
		}
		if r == "ca" && (f.Documents != 2 || f.Versions != 2 || len(f.MissingBlobs) != 0) {
			t.Errorf("restore ca: got %d documents, %d versions, missing %v; want 2, 2, none", f.Documents, f.Versions, f.MissingBlobs)
		}
	}
	_, errOut, err = cli(t, dataDir, "restore", "--region", "ca", "--to", filepath.Join(dataDir, "regions", "ca"), "--config", cfg)
	if err == nil || !strings.Contains(errOut+err.Error(), "not empty") {
		t.Errorf("restore into a non-empty directory: got %v %s, want a refusal", err, errOut)
	}

	srv = startServer(t, dataDir, cfg)
	c = newClient(srv.URL)
	c.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": "mkowneremail@x.example", "password": password}, http.StatusOK, &login)
	c.token = login.Token
	if got := fetch(t, c, "/api/v1/documents/"+docA.ID+"/download", ""); got != contentsA {
		t.Errorf("download of A after restore: got %d bytes, want %d identical bytes", len(got), len(contentsA))
	}
	if got := fetch(t, c, "/api/v1/documents/"+docB.ID+"/download", ""); got != "contents MKCONTENTS of B" {
		t.Errorf("download of B after restore: got %q", got)
	}
	// Litestream imports net/http/pprof, which registers on Go's default
	// mux: the server never serves that mux.
	for _, p := range []string{"/debug/pprof/", "/debug/pprof/heap"} {
		resp := newClient(srv.URL).request(t, "GET", p, nil, nil)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, resp.StatusCode)
		}
	}
	resp := c.request(t, "GET", "/api/v1/audit/export?format=jsonl", nil, nil)
	bundle, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("audit export after restore = %d %s", resp.StatusCode, bundle)
	}
	srv.Stop(t)

	// The restored firm's log, exported by the restored server, verifies
	// offline with the region's published key.
	file := filepath.Join(t.TempDir(), "bundle.jsonl")
	if err := os.WriteFile(file, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	key := auditKeysJSON(t, dataDir, "--region", "ca", "--config", cfg)[0].VerifierKey
	var vout, verr bytes.Buffer
	if err := run(context.Background(), []string{"audit", "verify", "--key", key, file}, &vout, &verr); err != nil {
		t.Errorf("audit verify of the restored firm's export: %v\n%s%s", err, vout.String(), verr.String())
	}
}

// TestBackup_MoveLeavesNoTrace serves a cell (so Litestream keeps its
// local state beside the databases) before moving a firm out of it: the
// firm's residency report still finds nothing of it in the old cell.
func TestBackup_MoveLeavesNoTrace(t *testing.T) {
	needAuditMove(t)
	e := newMoveEnv(t, 3, func(i int) int64 { return 5000 })
	startServer(t, e.dataDir, e.config).Stop(t)
	if code, out := e.moveCLI(t); code != 0 {
		t.Fatalf("tenant move: exit %d\n%s", code, out)
	}
	e.checkGone(t, e.firm, "us")
	e.checkResidencyReport(t, e.firm, "us", "ca")
	// Served again, Litestream starts from the backup's newest objects:
	// those of the cell without the firm.
	startServer(t, e.dataDir, e.config).Stop(t)
	e.checkGone(t, e.firm, "us")
	e.checkResidencyReport(t, e.firm, "us", "ca")
}

// TestBackup_S3 backs up a cell to a MinIO bucket (under a prefix, the
// bucket created on first use; the credentials from the environment) and
// restores it from there.
func TestBackup_S3(t *testing.T) {
	srv3 := s3test.Shared(t, s3test.KindMinIO)
	outside := t.TempDir()
	dataDir := filepath.Join(outside, "data")
	bucket := s3test.NewBucketName("backup")
	cfg, env, firm := s3BackupFirm(t, outside, srv3, srv3.Endpoint, bucket, "cells/us")
	startServer(t, dataDir, cfg, env...).Stop(t)

	mc, err := srv3.Client()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for obj := range mc.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		n++
		if !strings.HasPrefix(obj.Key, "cells/us/casevault/") && !strings.HasPrefix(obj.Key, "cells/us/audit/") {
			t.Errorf("object %s is not under the prefix", obj.Key)
		}
	}
	if n == 0 {
		t.Fatal("no backup object in the bucket")
	}
	s := restoreJSON(t, dataDir, cfg, "us", filepath.Join(outside, "restored"))
	if !s.OK || len(s.Firms) != 1 || s.Firms[0].Tenant != firm.TenantID || s.Firms[0].AuditVerified == 0 {
		t.Fatalf("restore from S3 = %+v", s)
	}
	if _, _, err := cli(t, dataDir, "restore", "--region", "ca", "--to", filepath.Join(outside, "ca"), "--config", cfg); err == nil || !strings.Contains(err.Error(), "backups are off") {
		t.Errorf("restore of a region without backups: got %v", err)
	}
}

// s3BackupFirm writes outside/casevault.yaml for a us cell on a local
// store backed up (every second) to bucket at endpoint on srv3 (under
// prefix, "" for none), with the credentials in the environment (also
// returned, for startServer), and creates a us firm with marker names in
// outside/data. It returns the config's path, the environment and the
// firm.
func s3BackupFirm(t *testing.T, outside string, srv3 *s3test.Server, endpoint, bucket, prefix string) (string, []string, struct {
	TenantID string `json:"tenant_id"`
}) {
	t.Helper()
	cfg := filepath.Join(outside, "casevault.yaml")
	prefixLine := ""
	if prefix != "" {
		prefixLine = "\n      prefix: " + prefix
	}
	yml := fmt.Sprintf(`regions:
  us:
    type: fs
    path: %s
    master_key: {type: file}
    backup:
      type: s3
      endpoint: %s
      bucket: %s%s
      s3_region: %s
      secure: false
      create_bucket: true
      interval: 1s
  ca:
    type: fs
    master_key: {type: file}
    backup: off
`, filepath.Join(outside, "stores", "us"), endpoint, bucket, prefixLine, s3test.Region)
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"CASEVAULT_REGION_US_BACKUP_ACCESS_KEY=" + srv3.AccessKey, "CASEVAULT_REGION_US_BACKUP_SECRET_KEY=" + srv3.SecretKey}
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		t.Setenv(k, v)
	}
	out, errOut, err := cli(t, filepath.Join(outside, "data"), "tenant", "create", "--name", "Firm MKFIRMTWO LLP", "--region", "us",
		"--owner-email", "mkcliowneremail@x.example", "--json", "--config", cfg)
	if err != nil {
		t.Fatalf("tenant create: %v\n%s", err, errOut)
	}
	var firm struct {
		TenantID string `json:"tenant_id"`
	}
	json.Unmarshal([]byte(out), &firm)
	return cfg, env, firm
}
