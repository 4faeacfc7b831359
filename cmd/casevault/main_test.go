package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// newDataDir returns a data directory inside a new temporary directory, so
// that its default keys directory beside it (DATA_DIR-keys) is removed with
// it.
func newDataDir(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(tb.TempDir(), "data")
}

// cli runs one command line against dataDir and returns stdout, stderr and
// the error.
func cli(t *testing.T, dataDir string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append(args, "--data-dir", dataDir), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func TestCLI_TenantLifecycle(t *testing.T) {
	dir := newDataDir(t)
	out, errOut, err := cli(t, dir, "tenant", "create", "--name", "Maple & Pine LLP", "--region", "ca", "--owner-email", "owner@maple.example", "--json")
	if err != nil {
		t.Fatalf("tenant create: %v\n%s", err, errOut)
	}
	var created struct {
		TenantID      string `json:"tenant_id"`
		OwnerID       string `json:"owner_id"`
		OwnerEmail    string `json:"owner_email"`
		OwnerPassword string `json:"owner_password"`
		Region        string `json:"region"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("tenant create --json printed %q: %v", out, err)
	}
	if created.TenantID == "" || created.OwnerID == "" || created.OwnerEmail != "owner@maple.example" || len(created.OwnerPassword) < 12 || created.Region != "ca" {
		t.Fatalf("tenant create --json = %+v", created)
	}

	out, _, err = cli(t, dir, "tenant", "list", "--json")
	if err != nil || !strings.Contains(out, created.TenantID) || !strings.Contains(out, "Maple & Pine LLP") {
		t.Fatalf("tenant list --json = %q, %v", out, err)
	}
	out, _, err = cli(t, dir, "tenant", "list")
	if err != nil || !strings.Contains(out, created.TenantID) {
		t.Fatalf("tenant list = %q, %v", out, err)
	}

	out, _, err = cli(t, dir, "user", "add", "--tenant", created.TenantID, "--email", "lawyer@maple.example", "--role", "lawyer", "--json")
	if err != nil || !strings.Contains(out, `"role": "lawyer"`) || !strings.Contains(out, `"password"`) {
		t.Fatalf("user add = %q, %v", out, err)
	}
	_, _, err = cli(t, dir, "user", "add", "--tenant", created.TenantID, "--email", "lawyer@maple.example")
	if err == nil || !strings.Contains(err.Error(), "mail") {
		t.Fatalf("adding a taken email = %v, want a conflict naming the email", err)
	}

	out, _, err = cli(t, dir, "keys", "rotate", "--tenant", created.TenantID)
	if err != nil || !strings.Contains(out, "Rotated") {
		t.Fatalf("keys rotate = %q, %v", out, err)
	}
	_, _, err = cli(t, dir, "keys", "rotate", "--tenant", "ten_nope")
	if err == nil {
		t.Fatal("keys rotate of an unknown firm succeeded")
	}
}

func TestCLI_Errors(t *testing.T) {
	dir := newDataDir(t)
	_, _, err := cli(t, dir, "tenant", "create", "--name", "X", "--region", "eu", "--owner-email", "a@b.example")
	if err == nil || !strings.Contains(err.Error(), `"eu"`) || !strings.Contains(err.Error(), "ca, us") {
		t.Fatalf("unknown region = %v, want a message naming it and the configured regions", err)
	}
	if code := exitCode(err); code != 1 {
		t.Fatalf("exit code = %d, want 1", code)
	}
	_, stderr, err := cli(t, dir, "frobnicate")
	if exitCode(err) != 2 || !strings.Contains(stderr, "unknown command") {
		t.Fatalf("unknown command: exit %d, stderr %q", exitCode(err), stderr)
	}
	_, _, err = cli(t, dir, "tenant", "list", "--bogus")
	if exitCode(err) != 2 {
		t.Fatalf("unknown flag: exit %d, want 2", exitCode(err))
	}
	out, _, err := cli(t, dir, "version")
	if err != nil || !strings.HasPrefix(out, "casevault ") {
		t.Fatalf("version = %q, %v", out, err)
	}
}

func TestMain_Serve(t *testing.T) {
	m := NewMain()
	m.Config.DataDir = newDataDir(t)
	m.Config.Addr, m.Config.Operator.Addr = "127.0.0.1:0", "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	resp, err := http.Get(m.HTTP.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz = %d, want 200", resp.StatusCode)
	}
}

func TestMain_RefusesPublicAddressWithoutTLS(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:8080"} {
		m := NewMain()
		m.Config.DataDir = newDataDir(t)
		m.Config.Addr = addr
		err := m.Run(context.Background())
		m.Close()
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Fatalf("Run on %s without TLS = %v, want a refusal", addr, err)
		}
	}
}

// TestMain_KeysOutsideData checks the key layout: generated keys live
// beside the data directory, never in it, so a copy of the data alone holds
// no key; keys left inside it by an older version stop the start with the
// command that moves them.
func TestMain_KeysOutsideData(t *testing.T) {
	dir := newDataDir(t)
	m := NewMain()
	m.Config.DataDir = dir
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	m.Close()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && (strings.Contains(d.Name(), "master") || strings.Contains(d.Name(), "signer") || strings.Contains(d.Name(), "index")) {
			t.Errorf("key file %s inside the data directory", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"us-master.json", "ca-master.json", "us-audit-signer.json", "service-audit-signer.json", "ca-index.json", "service-index.json"} {
		if _, err := os.Stat(filepath.Join(dir+"-keys", name)); err != nil {
			t.Errorf("key %s not in %s-keys: %v", name, dir, err)
		}
	}

	if err := os.Mkdir(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	m = NewMain()
	m.Config.DataDir = dir
	err = m.Open(context.Background())
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "mv "+filepath.Join(dir, "keys")) {
		t.Fatalf("Open with keys inside the data dir = %v, want a refusal naming the move", err)
	}
}
