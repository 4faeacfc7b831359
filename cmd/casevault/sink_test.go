package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/casevault/casevault/sink"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/s3/s3test"
	"github.com/casevault/casevault/vault/vaulttest"
)

// sinkConfig writes a config file that lets firms' sinks be on loopback
// (the test's MinIO and webhook) and trusts ca (a PEM file) for them.
func sinkConfig(t *testing.T, ca string) string {
	t.Helper()
	y := "audit:\n  sink_allow_private: true\n"
	if ca != "" {
		y += "  sink_ca_file: " + ca + "\n"
	}
	p := filepath.Join(t.TempDir(), "casevault.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// sinkStatus reads GET /api/v1/audit/sink as c.
func sinkStatus(t *testing.T, c *client) vault.AuditSinkView {
	t.Helper()
	var v vault.AuditSinkView
	c.json(t, "GET", "/api/v1/audit/sink", nil, http.StatusOK, &v)
	return v
}

// checkpointNow has the server sign a checkpoint of c's firm's log now
// (GET /api/v1/audit/checkpoint signs one when the tree grew) and returns it.
func checkpointNow(t *testing.T, c *client) vault.AuditCheckpoint {
	t.Helper()
	var cp vault.AuditCheckpoint
	c.json(t, "GET", "/api/v1/audit/checkpoint", nil, http.StatusOK, &cp)
	return cp
}

// waitDelivered waits until the sink has received a checkpoint of at least
// size and nothing is pending.
func waitDelivered(t *testing.T, c *client, size int64, within time.Duration) vault.AuditSinkView {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		v := sinkStatus(t, c)
		if v.Status.DeliveredSize >= size && v.Status.Pending == 0 {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("sink status %+v: size %d not delivered within %v", v.Status, size, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// signIn adds a user of role to tenant from the command line and signs
// them in with a password of their own.
func signIn(t *testing.T, dir, url, tenant, email string, role vault.Role) *client {
	t.Helper()
	out, errOut, err := cli(t, dir, "user", "add", "--tenant", tenant, "--email", email, "--role", string(role), "--json")
	if err != nil {
		t.Fatalf("user add: %v\n%s", err, errOut)
	}
	var u struct {
		Password string `json:"password"`
	}
	if err := json.Unmarshal([]byte(out), &u); err != nil {
		t.Fatal(err)
	}
	c := newClient(url)
	var login struct {
		Token string `json:"token"`
	}
	c.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": u.Password}, http.StatusOK, &login)
	c.token = login.Token
	c.json(t, "POST", "/api/v1/me/password", map[string]string{"old_password": u.Password, "new_password": "a new password of " + email}, http.StatusNoContent, nil)
	return c
}

// sinkCheck runs `casevault audit sink-check`.
func sinkCheck(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = auditSinkCheckCommand(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestSink_MinIO runs the real server with a firm whose sink is a bucket
// of a real MinIO: only the owner sets it (an admin reads it, without the
// secret); checkpoints arrive in order with proofs that sink-check accepts,
// from the bucket and from a copy of it; a restart resumes from the cursor;
// a real export cut back to an earlier stored checkpoint fails `audit
// verify --sink` naming the truncation, while the bundle as exported
// passes; and a history forked behind the stopped server and accepted
// with accept-rollback reaches the sink, where sink-check names the broken
// consistency proof.
func TestSink_MinIO(t *testing.T) {
	srv3 := s3test.Shared(t, s3test.KindMinIO)
	ctx := context.Background()
	mc, err := srv3.Client()
	if err != nil {
		t.Fatal(err)
	}
	bucket := s3test.NewBucketName("firm-sink")
	if err := mc.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: s3test.Region}); err != nil {
		t.Fatal(err)
	}
	e := newAnchorEnv(t)
	cfg := sinkConfig(t, "")
	srv := startServer(t, e.dir, cfg)
	owner := e.login(t, srv, "owner@victim.example", e.victimPassword)
	admin := signIn(t, e.dir, srv.URL, e.victim, "admin@victim.example", vault.RoleAdmin)
	lawyer := signIn(t, e.dir, srv.URL, e.victim, "lawyer@victim.example", vault.RoleLawyer)
	other := e.login(t, srv, "owner@other.example", e.otherPassword)

	put := map[string]string{
		"kind": "s3", "endpoint": srv3.URL(), "bucket": bucket, "prefix": "vault/copies", "region": s3test.Region,
		"access_key_id": srv3.AccessKey, "secret_access_key": srv3.SecretKey,
	}
	for _, c := range []*client{admin, lawyer} {
		c.json(t, "PUT", "/api/v1/audit/sink", put, http.StatusForbidden, nil)
	}
	lawyer.json(t, "GET", "/api/v1/audit/sink", nil, http.StatusForbidden, nil)
	owner.json(t, "GET", "/api/v1/audit/sink", nil, http.StatusNotFound, nil)
	bad := map[string]string{}
	for k, v := range put {
		bad[k] = v
	}
	bad["bucket"] = "Not_A_Bucket"
	owner.json(t, "PUT", "/api/v1/audit/sink", bad, http.StatusBadRequest, nil)
	resp := owner.request(t, "PUT", "/api/v1/audit/sink", strings.NewReader(mustJSON(t, put)), http.Header{"Content-Type": {"application/json"}})
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || bytes.Contains(b, []byte(srv3.SecretKey)) {
		t.Fatalf("PUT sink = %d %s; want 200 without the secret", resp.StatusCode, b)
	}
	if v := sinkStatus(t, admin); v.Bucket != bucket || !v.SecretSet || v.Kind != "s3" {
		t.Errorf("admin reads %+v", v)
	}
	other.json(t, "GET", "/api/v1/audit/sink", nil, http.StatusNotFound, nil) // the other firm has none

	// Three rounds of work, each signed and delivered.
	var key string
	var sizes []int64
	for i := range 3 {
		work(t, owner, 2+i)
		cp := checkpointNow(t, owner)
		key = cp.VerifierKey
		waitDelivered(t, owner, cp.Size, 30*time.Second)
		sizes = append(sizes, cp.Size)
	}
	s3args := []string{"--key", key, "--sink", "s3://" + bucket + "/vault/copies", "--sink-endpoint", srv3.URL(),
		"--sink-access-key", srv3.AccessKey, "--sink-secret-key", srv3.SecretKey}
	if code, out, errOut := sinkCheck(s3args...); code != 0 || !strings.Contains(out, "OK: Sink: ") {
		t.Fatalf("sink-check: exit %d\n%s%s", code, out, errOut)
	}

	// A real export, and the collection as it stands when it was made.
	bundle := filepath.Join(t.TempDir(), "bundle.jsonl")
	exportBundle(t, owner, bundle)
	srv.Stop(t)
	snapshot := t.TempDir()
	n := downloadSink(t, mc, bucket, snapshot)
	if n < len(sizes) {
		t.Fatalf("the bucket holds %d objects, want at least %d", n, len(sizes))
	}
	if code, out, errOut := auditVerify("--key", key, "--sink", snapshot, bundle); code != 0 {
		t.Fatalf("verify --sink of the bundle as exported: exit %d\n%s%s", code, out, errOut)
	}
	cut := filepath.Join(t.TempDir(), "cut.jsonl")
	cutBackFile(t, bundle, cut, sizes[1])
	// Cut back this way, a bundle verifies on its own (unless its format
	// catches the cut by itself, as a closing audit.export event does):
	// only the firm's copy shows that the log went further.
	alone, _, aloneErr := auditVerify("--key", key, cut)
	if alone != 0 {
		t.Logf("the cut-back bundle fails on its own too: %s", strings.TrimSpace(aloneErr))
	}
	for _, sinkArgs := range [][]string{{"--key", key, "--sink", snapshot}, s3args} {
		code, out, errOut := auditVerify(append(append([]string{}, sinkArgs...), cut)...)
		if code != 1 || (alone == 0 && (!strings.Contains(errOut, "FAIL: checkpoint sink ") || !strings.Contains(errOut, "the bundle was cut back"))) {
			t.Fatalf("verify %q of a bundle cut back to size %d: exit %d\n%s%s\nwant exit 1 naming the truncation", sinkArgs[2:], sizes[1], code, out, errOut)
		}
		t.Logf("cut back: %s", strings.TrimSpace(errOut))
	}

	// A restart resumes from the cursor: the checkpoint signed at the stop
	// (or any later) reaches the sink.
	db := openAuditFile(t, e.dir)
	stored := size(t, db, e.victim)
	db.Close()
	srv = startServer(t, e.dir, cfg)
	owner = e.login(t, srv, "owner@victim.example", e.victimPassword)
	waitDelivered(t, owner, stored, 30*time.Second)
	srv.Stop(t)

	// Fork: event 2 rewritten behind the stopped server, the later
	// checkpoints removed, and the operator accepts the rollback, which
	// signs the forked tree; the restarted server delivers it.
	db = openAuditFile(t, e.dir)
	vaulttest.DropTriggers(t, db)
	rewrite(t, db, e.victim, 2)
	if _, err := db.Exec(`DELETE FROM audit_checkpoints WHERE tenant_id = ? AND size >= 2`, e.victim); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, errOut, err := cli(t, e.dir, "audit", "accept-rollback", "--tenant", e.victim, "--config", cfg); err != nil {
		t.Fatalf("accept-rollback: %v\n%s", err, errOut)
	}
	srv = startServer(t, e.dir, cfg)
	owner = e.login(t, srv, "owner@victim.example", e.victimPassword)
	work(t, owner, 1)
	forked := checkpointNow(t, owner)
	v := waitDelivered(t, owner, forked.Size, 30*time.Second)
	srv.Stop(t)
	t.Logf("forked tree of size %d delivered; sink status %+v", forked.Size, v.Status)
	code, out, errOut := sinkCheck(s3args...)
	if code != 1 || !strings.Contains(errOut, "broken consistency proof") {
		t.Fatalf("sink-check of the forked history: exit %d\n%s%s\nwant exit 1 naming a broken consistency proof", code, out, errOut)
	}
	t.Logf("fork: %s", strings.TrimSpace(errOut))
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// exportBundle writes c's firm's complete JSONL export to path.
func exportBundle(t *testing.T, c *client, path string) {
	t.Helper()
	resp := c.request(t, "GET", "/api/v1/audit/export?format=jsonl", nil, nil)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("export = %d %s", resp.StatusCode, b)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// downloadSink copies every object of bucket into dir, as an auditor's
// copy of the firm's bucket, and returns how many.
func downloadSink(t *testing.T, mc *minio.Client, bucket, dir string) int {
	t.Helper()
	ctx := context.Background()
	n := 0
	for info := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if info.Err != nil {
			t.Fatal(info.Err)
		}
		if err := mc.FGetObject(ctx, bucket, info.Key, filepath.Join(dir, filepath.FromSlash(info.Key)), minio.GetObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// cutBackFile writes to dst the complete bundle src cut back to its stored
// checkpoint of size k: the header, that checkpoint on line 2, events 1 …
// k with the checkpoints up to k, and an end line counting k events.
func cutBackFile(t *testing.T, src, dst string, k int64) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	lines := bundleLines(string(b))
	var ck string
	var body []string
	for _, l := range lines[2 : len(lines)-1] {
		var v struct {
			Type string `json:"type"`
			Seq  int64  `json:"seq"`
			Note string `json:"note"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatal(err)
		}
		switch v.Type {
		case "event":
			if v.Seq <= k {
				body = append(body, l)
			}
		case "checkpoint":
			s := checkpointSize(t, v.Note)
			if s <= k {
				body = append(body, l)
			}
			if s == k {
				ck = l
			}
		}
	}
	if ck == "" {
		t.Fatalf("the bundle holds no checkpoint of size %d", k)
	}
	out := lines[0] + ck + strings.Join(body, "") + fmt.Sprintf("{\"type\":\"end\",\"events\":%d}\n", k)
	if err := os.WriteFile(dst, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkpointSize reads the tree size of a checkpoint note.
func checkpointSize(t *testing.T, note string) int64 {
	t.Helper()
	parts := strings.SplitN(note, "\n", 3)
	var n int64
	if _, err := fmt.Sscan(parts[1], &n); err != nil {
		t.Fatalf("checkpoint %q: %v", note, err)
	}
	return n
}

// hook is a firm's HTTPS webhook: it keeps each POSTed object as a file,
// or answers 500 while down.
type hook struct {
	dir   string
	token string
	down  atomic.Bool
	mu    sync.Mutex
	got   int
	auth  []string
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.auth = append(h.auth, r.Header.Get("Authorization"))
	if h.down.Load() || r.Method != http.MethodPost || r.URL.Path != "/checkpoints" {
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	o, err := sink.ParseObject(b)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	name := filepath.Join(h.dir, filepath.FromSlash(o.Name("")))
	os.MkdirAll(filepath.Dir(name), 0o700)
	if err := os.WriteFile(name, b, 0o600); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h.got++
	w.WriteHeader(http.StatusNoContent)
}

// TestSink_Webhook runs the real server with a firm whose sink is a real
// HTTPS webhook on loopback, its CA given by audit.sink_ca_file: the
// checkpoints arrive with the bearer token; while the webhook answers 500
// the firm's actions keep succeeding, the status and the metric show what
// is pending and why; once it is back everything pending is delivered,
// nothing lost, and the collection checks.
func TestSink_Webhook(t *testing.T) {
	h := &hook{dir: t.TempDir(), token: "firm-hook-token-" + fmt.Sprint(time.Now().UnixNano())}
	ts := httptest.NewTLSServer(h)
	defer ts.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newAnchorEnv(t)
	srv := startServer(t, e.dir, sinkConfig(t, ca))
	owner := e.login(t, srv, "owner@victim.example", e.victimPassword)
	owner.json(t, "PUT", "/api/v1/audit/sink", map[string]string{"kind": "webhook", "url": "http://example.com/x"}, http.StatusBadRequest, nil)
	var v vault.AuditSinkView
	owner.json(t, "PUT", "/api/v1/audit/sink", map[string]string{"kind": "webhook", "url": ts.URL + "/checkpoints", "token": h.token}, http.StatusOK, &v)
	if v.URL != ts.URL+"/checkpoints" || !v.TokenSet {
		t.Errorf("PUT answered %+v", v)
	}
	work(t, owner, 2)
	cp := checkpointNow(t, owner)
	key := cp.VerifierKey
	waitDelivered(t, owner, cp.Size, 30*time.Second)

	// Down: the firm keeps working; what is signed waits.
	h.down.Store(true)
	var last int64
	for range 3 {
		work(t, owner, 2) // each answers 201: appends never wait for the sink
		last = checkpointNow(t, owner).Size
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		v = sinkStatus(t, owner)
		if v.Status.Pending >= 3 && strings.Contains(v.Status.LastError, "HTTP 500") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("while the webhook is down: status %+v, want 3 pending and the HTTP 500", v.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp := newClient(srv.URL).request(t, "GET", "/metrics", nil, nil)
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var pending float64
	for _, l := range strings.Split(string(m), "\n") {
		fmt.Sscanf(l, "casevault_audit_sink_pending %g", &pending)
	}
	if pending < 3 {
		t.Errorf("/metrics: casevault_audit_sink_pending %v, want at least 3:\n%s", pending, grepLines(string(m), "sink"))
	}

	// Back: everything pending arrives.
	h.down.Store(false)
	v = waitDelivered(t, owner, last, 60*time.Second)
	if v.Status.LastError != "" {
		t.Errorf("after delivery, last_error = %q", v.Status.LastError)
	}
	srv.Stop(t)
	h.mu.Lock()
	for _, a := range h.auth {
		if a != "Bearer "+h.token {
			t.Errorf("Authorization = %q", a)
		}
	}
	h.mu.Unlock()
	db := openAuditFile(t, e.dir)
	var want int
	if err := db.QueryRow(`SELECT COUNT(*) FROM audit_checkpoints WHERE tenant_id = ? AND size >= ? AND size <= ?`, e.victim, cp.Size, last).Scan(&want); err != nil {
		t.Fatal(err)
	}
	db.Close()
	objs, err := filepath.Glob(filepath.Join(h.dir, sink.Dir, e.victim, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got int
	for _, o := range objs {
		var s int64
		fmt.Sscanf(filepath.Base(o), "%d-", &s)
		if s >= cp.Size && s <= last {
			got++
		}
	}
	if got != want {
		t.Errorf("the webhook kept %d checkpoints of sizes %d … %d, the log signed %d", got, cp.Size, last, want)
	}
	if code, out, errOut := sinkCheck("--key", key, "--sink", h.dir); code != 0 {
		t.Fatalf("sink-check of the webhook's copies: exit %d\n%s%s", code, out, errOut)
	}
}

// TestSink_MinIOBucketLate names a bucket that does not exist yet: while
// MinIO refuses the objects the firm keeps working and its checkpoints
// wait, with the bucket's refusal in the status; once the firm creates the
// bucket every pending checkpoint arrives, and the collection checks.
func TestSink_MinIOBucketLate(t *testing.T) {
	srv3 := s3test.Shared(t, s3test.KindMinIO)
	ctx := context.Background()
	mc, err := srv3.Client()
	if err != nil {
		t.Fatal(err)
	}
	bucket := s3test.NewBucketName("late-sink")
	e := newAnchorEnv(t)
	srv := startServer(t, e.dir, sinkConfig(t, ""))
	owner := e.login(t, srv, "owner@victim.example", e.victimPassword)
	owner.json(t, "PUT", "/api/v1/audit/sink", map[string]string{
		"kind": "s3", "endpoint": srv3.URL(), "bucket": bucket, "region": s3test.Region,
		"access_key_id": srv3.AccessKey, "secret_access_key": srv3.SecretKey,
	}, http.StatusOK, nil)
	var last vault.AuditCheckpoint
	for range 3 {
		work(t, owner, 2)
		last = checkpointNow(t, owner)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		v := sinkStatus(t, owner)
		if v.Status.Pending >= 1 && strings.Contains(v.Status.LastError, "NoSuchBucket") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %+v, want pending checkpoints and NoSuchBucket", v.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := mc.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: s3test.Region}); err != nil {
		t.Fatal(err)
	}
	waitDelivered(t, owner, last.Size, 60*time.Second)
	code, out, errOut := sinkCheck("--key", last.VerifierKey, "--sink", "s3://"+bucket, "--sink-endpoint", srv3.URL(),
		"--sink-access-key", srv3.AccessKey, "--sink-secret-key", srv3.SecretKey)
	if code != 0 {
		t.Fatalf("sink-check: exit %d\n%s%s", code, out, errOut)
	}
	var n int
	fmt.Sscanf(out, "OK: Sink: %d checkpoints", &n)
	if n < 3 {
		t.Errorf("the bucket holds %d checkpoints, want the 3 signed while it was missing:\n%s", n, out)
	}
	t.Log(strings.TrimSpace(out))
}
