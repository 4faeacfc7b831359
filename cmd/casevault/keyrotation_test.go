package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/internal/refverify"
	"github.com/casevault/casevault/vault"
)

// firm is a firm made for a test, with its owner's credentials.
type firm struct {
	id, email, password string
}

// newFirm creates a firm in region with the CLI.
func newFirm(t *testing.T, dir, name, region, email string) firm {
	t.Helper()
	out, errOut, err := cli(t, dir, "tenant", "create", "--name", name, "--region", region, "--owner-email", email, "--json")
	if err != nil {
		t.Fatalf("tenant create: %v\n%s", err, errOut)
	}
	var created struct {
		TenantID      string `json:"tenant_id"`
		OwnerPassword string `json:"owner_password"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err)
	}
	return firm{id: created.TenantID, email: email, password: created.OwnerPassword}
}

// signIn signs f's owner in on srv.
func (f firm) signIn(t *testing.T, srv *server) *client {
	t.Helper()
	c := newClient(srv.URL)
	var login struct {
		Token string `json:"token"`
	}
	c.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": f.email, "password": f.password}, http.StatusOK, &login)
	c.token = login.Token
	return c
}

// auditKeys runs `casevault audit keys --json` with args.
func auditKeysJSON(t *testing.T, dir string, args ...string) []vault.AuditKey {
	t.Helper()
	out, errOut, err := cli(t, dir, append([]string{"audit", "keys", "--json"}, args...)...)
	if err != nil {
		t.Fatalf("audit keys: %v\n%s", err, errOut)
	}
	var ks []vault.AuditKey
	if err := json.Unmarshal([]byte(out), &ks); err != nil {
		t.Fatalf("audit keys --json printed %q: %v", out, err)
	}
	return ks
}

// TestCLI_AuditKeyRotation rotates region us's audit key with the real
// binary between two runs of the real server, and checks the whole story:
// the rotation is in the log of each firm of us and of no other, the old
// private key is gone from the key file, the keys are listed with their
// validity, and a complete export spanning the rotation verifies with both
// keys only.
func TestCLI_AuditKeyRotation(t *testing.T) {
	dir := newDataDir(t)
	a := newFirm(t, dir, "Alder LLP", "us", "owner@alder.example")
	b := newFirm(t, dir, "Birch LLP", "us", "owner@birch.example")
	c := newFirm(t, dir, "Cedar LLP", "ca", "owner@cedar.example")
	before := auditKeysJSON(t, dir, "--region", "us")
	if len(before) != 1 || before[0].State != vault.AuditKeyCurrent {
		t.Fatalf("keys of us before the rotation: %+v", before)
	}
	oldKey := before[0].VerifierKey
	caKey := auditKeysJSON(t, dir, "--region", "ca")[0].VerifierKey

	srv := startServer(t, dir, "")
	var kept struct {
		Note        string `json:"note"`
		VerifierKey string `json:"verifier_key"`
	}
	for _, f := range []firm{a, b, c} {
		cl := f.signIn(t, srv)
		work(t, cl, 2)
		if f == a {
			cl.json(t, "GET", "/api/v1/audit/checkpoint", nil, http.StatusOK, &kept)
		}
	}
	srv.Stop(t)
	if kept.VerifierKey != oldKey {
		t.Fatalf("checkpoint signed by %q, want %q", kept.VerifierKey, oldKey)
	}
	keptPath := filepath.Join(t.TempDir(), "kept.json")
	if err := os.WriteFile(keptPath, []byte(kept.Note), 0o600); err != nil {
		t.Fatal(err)
	}

	keyFile := filepath.Join(dir+"-keys", "us-audit-signer.json")
	var v1 struct {
		Wrapped []byte `json:"wrapped_signer_key"`
	}
	raw, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &v1); err != nil || len(v1.Wrapped) == 0 {
		t.Fatalf("key file: %v", err)
	}
	sizeBefore := map[string]int{}
	for _, f := range []firm{a, b, c} {
		sizeBefore[f.id] = countRows(t, dir, `SELECT COUNT(*) FROM audit_events WHERE tenant_id = ?`, f.id)
	}

	out, err := exec.Command(binary(t), "audit", "rotate-key", "--region", "us", "--data-dir", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("audit rotate-key: %v\n%s", err, out)
	}
	t.Logf("audit rotate-key:\n%s", out)
	if !strings.Contains(string(out), "Retired: "+oldKey) || !strings.Contains(string(out), "casevault-audit-key-rotation/1\nregion us\nold "+oldKey) {
		t.Errorf("rotate-key printed:\n%s", out)
	}

	// The retired private key is gone from the key file: neither its
	// wrapped form nor any private key in the clear is in it.
	raw, err = os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, v1.Wrapped) || bytes.Contains(raw, []byte("PRIVATE+KEY")) {
		t.Fatal("the key file still holds the retired private key")
	}

	// Listed with their validity: the old key retired, the new current.
	after := auditKeysJSON(t, dir, "--region", "us")
	if len(after) != 2 {
		t.Fatalf("keys of us after the rotation: %+v", after)
	}
	old, cur := after[0], after[1]
	newKey := cur.VerifierKey
	if old.VerifierKey != oldKey || old.State != vault.AuditKeyRetired || old.ValidUntil == nil || old.Rotation == "" ||
		cur.State != vault.AuditKeyCurrent || cur.ValidUntil != nil || newKey == oldKey || !cur.ValidFrom.Equal(*old.ValidUntil) ||
		old.ValidFrom.After(*old.ValidUntil) || time.Since(cur.ValidFrom) > time.Hour {
		t.Fatalf("keys after the rotation: %+v", after)
	}
	if ca := auditKeysJSON(t, dir, "--region", "ca"); len(ca) != 1 || ca[0].VerifierKey != caKey {
		t.Fatalf("keys of ca changed: %+v", ca)
	}
	text, _, err := cli(t, dir, "audit", "keys")
	if err != nil || !strings.Contains(text, "us\t"+oldKey+"\tretired\t") || !strings.Contains(text, "us\t"+newKey+"\tcurrent\t") {
		t.Fatalf("audit keys printed %q, %v", text, err)
	}

	// The rotation is in the log of each firm of us, once, right after
	// what was there, and in no other log.
	rotations := func(tenant string) int {
		return countRows(t, dir, `SELECT COUNT(*) FROM audit_events WHERE tenant_id = ? AND action = ?`, tenant, audit.ActionKeyRotated)
	}
	for _, f := range []firm{a, b} {
		if got := rotations(f.id); got != 1 {
			t.Errorf("%s: %d audit.key_rotated events, want 1", f.id, got)
		}
		if got := countRows(t, dir, `SELECT COUNT(*) FROM audit_events WHERE tenant_id = ? AND action = ? AND seq = ?`,
			f.id, audit.ActionKeyRotated, sizeBefore[f.id]+1); got != 1 {
			t.Errorf("%s: the rotation is not event %d", f.id, sizeBefore[f.id]+1)
		}
	}
	if got := rotations(c.id) + rotations(""); got != 0 {
		t.Errorf("%d audit.key_rotated events outside region us", got)
	}
	db := openAuditFile(t, dir)
	var leaf []byte
	err = db.QueryRow(`SELECT leaf FROM audit_events WHERE tenant_id = ? AND action = ?`, a.id, audit.ActionKeyRotated).Scan(&leaf)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	ev, err := audit.Decode(leaf)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Details[audit.DetailOldKey] != oldKey || ev.Details[audit.DetailNewKey] != newKey ||
		ev.Details[audit.DetailStatementHash] != audit.StatementHash(old.Rotation) || ev.ActorID != vault.ActorOperator {
		t.Errorf("rotation event %+v, want %s → %s with the statement's hash", ev, oldKey, newKey)
	}

	// A second run: the server starts with the new key, records nothing
	// twice, and Alder's auditor fetches both keys over the API.
	srv = startServer(t, dir, "")
	cl := a.signIn(t, srv)
	work(t, cl, 1)
	var api struct {
		Keys []vault.AuditKey `json:"keys"`
	}
	cl.json(t, "GET", "/api/v1/audit/keys", nil, http.StatusOK, &api)
	if len(api.Keys) != 2 || api.Keys[0].VerifierKey != oldKey || api.Keys[1].VerifierKey != newKey || api.Keys[0].Rotation != old.Rotation {
		t.Fatalf("GET /api/v1/audit/keys = %+v", api.Keys)
	}
	resp := cl.request(t, "GET", "/api/v1/audit/export?format=jsonl", nil, nil)
	bundle, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("audit export = %d, %v", resp.StatusCode, err)
	}
	srv.Stop(t)
	if got := rotations(a.id); got != 1 {
		t.Errorf("after a restart: %d audit.key_rotated events, want 1", got)
	}
	path := filepath.Join(t.TempDir(), "alder.jsonl")
	if err := os.WriteFile(path, bundle, 0o600); err != nil {
		t.Fatal(err)
	}

	// Both keys: it verifies, with the binary and the independent
	// verifier, and the checkpoint kept before the rotation is extended.
	out, err = exec.Command(binary(t), "audit", "verify", "--key", oldKey, "--key", newKey, "--checkpoint", keptPath, path).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "OK: ") || !strings.Contains(string(out), "OK, the bundle's log extends it") {
		t.Fatalf("audit verify --key OLD --key NEW: %v\n%s", err, out)
	}
	if _, err := refverify.VerifyKeys(bytes.NewReader(bundle), []string{oldKey, newKey}); err != nil {
		t.Fatalf("refverify with both keys: %v", err)
	}
	// One key only: the checkpoints of the other do not verify.
	for _, tc := range []struct{ name, key, want string }{
		{"NewOnly", newKey, "is not signed by the verifier key"}, // the checkpoints before the rotation
		{"OldOnly", oldKey, "is not the trusted key"},            // the header's, and those after it
	} {
		out, err := exec.Command(binary(t), "audit", "verify", "--key", tc.key, path).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("%s: audit verify: %v\n%s", tc.name, err, out)
		}
		if _, err := refverify.VerifyKeys(bytes.NewReader(bundle), []string{tc.key}); err == nil {
			t.Errorf("%s: refverify passed", tc.name)
		}
	}
}

// A server left running through a rotation keeps the old key; once the
// rotation is recorded it meets a checkpoint signed by a key it does not
// know, and refuses to sign for that firm rather than sign with the
// retired key. After a restart the firm works again, under the new key.
func TestCLI_AuditKeyRotationServerRunning(t *testing.T) {
	dir := newDataDir(t)
	a := newFirm(t, dir, "Alder LLP", "us", "owner@alder.example")
	srv := startServer(t, dir, "")
	cl := a.signIn(t, srv)
	work(t, cl, 2)
	cl.json(t, "GET", "/api/v1/audit/checkpoint", nil, http.StatusOK, nil)

	out, err := exec.Command(binary(t), "audit", "rotate-key", "--region", "us", "--data-dir", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("audit rotate-key: %v\n%s", err, out)
	}
	resp := cl.request(t, "GET", "/api/v1/audit/checkpoint", nil, nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("checkpoint from the server that kept the old key = %d %s, want 503", resp.StatusCode, body)
	}
	srv.Stop(t)

	keys := auditKeysJSON(t, dir, "--region", "us")
	srv = startServer(t, dir, "")
	cl = a.signIn(t, srv)
	work(t, cl, 1)
	var cp struct {
		VerifierKey string `json:"verifier_key"`
	}
	cl.json(t, "GET", "/api/v1/audit/checkpoint", nil, http.StatusOK, &cp)
	if len(keys) != 2 || cp.VerifierKey != keys[1].VerifierKey {
		t.Fatalf("after a restart the checkpoint is signed by %q, want the new key of %+v", cp.VerifierKey, keys)
	}
}

// The service log's key rotates like a region's; an unknown region, or a
// region with no key yet, is refused and creates nothing.
func TestCLI_AuditRotateKeyService(t *testing.T) {
	dir := newDataDir(t)
	if _, _, err := cli(t, dir, "audit", "rotate-key", "--region", "us"); err == nil || !strings.Contains(err.Error(), "no audit key yet") {
		t.Fatalf("rotate-key before any key: %v", err)
	}
	if _, err := os.Stat(dir + "-keys"); !os.IsNotExist(err) {
		t.Fatalf("rotate-key before any key created the keys directory: %v", err)
	}
	before := auditKeysJSON(t, dir, "--region", "service")
	if _, _, err := cli(t, dir, "audit", "rotate-key", "--region", "mars"); err == nil || !strings.Contains(err.Error(), `no region "mars"`) {
		t.Fatalf("rotate-key of an unknown region: %v", err)
	}
	out, errOut, err := cli(t, dir, "audit", "rotate-key", "--region", "service")
	if err != nil {
		t.Fatalf("rotate-key --region service: %v\n%s", err, errOut)
	}
	after := auditKeysJSON(t, dir, "--region", "service")
	if len(after) != 2 || after[0].VerifierKey != before[0].VerifierKey || after[0].State != vault.AuditKeyRetired ||
		after[1].State != vault.AuditKeyCurrent || !strings.HasPrefix(after[1].VerifierKey, "casevault-audit-service+") {
		t.Fatalf("service keys after the rotation: %+v\n%s", after, out)
	}
	if us := auditKeysJSON(t, dir, "--region", "us"); len(us) != 1 {
		t.Fatalf("us keys changed: %+v", us)
	}
}
