package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

// anchorEnv is a data directory with two firms, each signed in over HTTP
// with the real server: Victim, whose audit log the tests rewrite behind
// the server's back, and Other, which must keep working.
type anchorEnv struct {
	dir            string
	victim, other  string // tenant ids
	victimPassword string
	otherPassword  string
}

func newAnchorEnv(t *testing.T) *anchorEnv {
	t.Helper()
	e := &anchorEnv{dir: newDataDir(t)}
	for _, f := range []struct {
		name, email string
		id, pw      *string
	}{
		{"Victim LLP", "owner@victim.example", &e.victim, &e.victimPassword},
		{"Other LLP", "owner@other.example", &e.other, &e.otherPassword},
	} {
		out, errOut, err := cli(t, e.dir, "tenant", "create", "--name", f.name, "--region", "us", "--owner-email", f.email, "--json")
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
		*f.id, *f.pw = created.TenantID, created.OwnerPassword
	}
	return e
}

// login signs a firm's owner in.
func (e *anchorEnv) login(t *testing.T, srv *server, email, password string) *client {
	t.Helper()
	c := newClient(srv.URL)
	var login struct {
		Token string `json:"token"`
	}
	c.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": password}, http.StatusOK, &login)
	c.token = login.Token
	return c
}

// work creates n matters as c, each an audited action.
func work(t *testing.T, c *client, n int) {
	t.Helper()
	for i := range n {
		c.json(t, "POST", "/api/v1/matters", map[string]string{"name": fmt.Sprintf("Matter %d", i), "client": "Client"}, http.StatusCreated, nil)
	}
}

// run starts the server, signs both owners in and has each do n actions,
// then stops it (which signs and anchors the last checkpoints).
func (e *anchorEnv) run(t *testing.T, n int) {
	t.Helper()
	srv := startServer(t, e.dir, "")
	work(t, e.login(t, srv, "owner@victim.example", e.victimPassword), n)
	work(t, e.login(t, srv, "owner@other.example", e.otherPassword), n)
	srv.Stop(t)
}

// checkRefused starts the server and checks that Victim's log is refused
// (its actions answer unavailable, its divergence is named in the log, no
// checkpoint is signed) while Other keeps working.
func (e *anchorEnv) checkRefused(t *testing.T, want string) {
	t.Helper()
	before := countRows(t, e.dir, `SELECT COUNT(*) FROM audit_checkpoints WHERE tenant_id = ?`, e.victim)
	srv := startServer(t, e.dir, "")
	c := newClient(srv.URL)
	resp := c.request(t, "POST", "/api/v1/auth/login", strings.NewReader(`{"email":"owner@victim.example","password":"`+e.victimPassword+`"}`),
		http.Header{"Content-Type": {"application/json"}})
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusServiceUnavailable; got != want || !strings.Contains(string(b), `"unavailable"`) {
		t.Errorf("victim's sign-in = %d %s, want %d unavailable", got, b, want)
	}
	work(t, e.login(t, srv, "owner@other.example", e.otherPassword), 2)
	srv.Stop(t)
	// The line names the firm, so it is in the firm's cell log (the
	// service log has it with the firm redacted).
	log := cellLog(t, e.dir, "us")
	var named bool
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "does not extend the checkpoint signed last") &&
			strings.Contains(line, e.victim) && strings.Contains(line, want) {
			named = true
			t.Logf("server log: %s", line)
		}
	}
	if !named {
		t.Errorf("server log does not name the divergence of %s (%q):\n%s", e.victim, want, log)
	}
	if strings.Contains(log, `"tenant_id":"`+e.other+`","diverges_at"`) {
		t.Errorf("other firm reported diverged:\n%s", log)
	}
	if got := countRows(t, e.dir, `SELECT COUNT(*) FROM audit_checkpoints WHERE tenant_id = ?`, e.victim); got != before {
		t.Errorf("victim's checkpoints: %d, want %d (nothing signed over the forged history)", got, before)
	}
}

// countRows runs a COUNT query on audit.db.
func countRows(t *testing.T, dir, q string, args ...any) int {
	t.Helper()
	db := openAuditFile(t, dir)
	defer db.Close()
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// usAuditPath is the audit log of the us cell of data dir dir, where the
// firms of these tests live.
func usAuditPath(dir string) string { return filepath.Join(dir, "regions", "us", "audit.db") }

// openAuditFile opens the us cell's audit.db behind the server's back.
func openAuditFile(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", usAuditPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// size returns the number of events of tenant's log in db.
func size(t *testing.T, db *sql.DB, tenant string) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(`SELECT MAX(seq) FROM audit_events WHERE tenant_id = ?`, tenant).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAnchor_TruncatedLog deletes the last events of a firm's log, with
// their stored hashes and the checkpoints that cover them: the restarted
// server refuses that log, naming the size where the histories part.
func TestAnchor_TruncatedLog(t *testing.T) {
	e := newAnchorEnv(t)
	e.run(t, 4)
	db := openAuditFile(t, e.dir)
	vaulttest.DropTriggers(t, db)
	n := size(t, db, e.victim)
	keep := n - 3
	for _, q := range []string{
		`DELETE FROM audit_events WHERE tenant_id = ? AND seq > ?`,
		`DELETE FROM audit_checkpoints WHERE tenant_id = ? AND size > ?`,
	} {
		if _, err := db.Exec(q, e.victim, keep); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`DELETE FROM audit_hashes WHERE tenant_id = ? AND idx >= ?`, e.victim, tlog.StoredHashCount(keep)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	e.checkRefused(t, fmt.Sprintf("the histories part after event %d", keep))
}

// TestAnchor_RewrittenEvent rewrites one event of a firm's log, re-links
// the chain after it and recomputes every stored hash, as a forger who can
// hash would, and deletes the checkpoints the rewrite contradicts: the
// restarted server refuses that log.
func TestAnchor_RewrittenEvent(t *testing.T) {
	e := newAnchorEnv(t)
	e.run(t, 4)
	db := openAuditFile(t, e.dir)
	vaulttest.DropTriggers(t, db)
	n := size(t, db, e.victim)
	const k = 3
	rewrite(t, db, e.victim, k)
	if _, err := db.Exec(`DELETE FROM audit_checkpoints WHERE tenant_id = ? AND size >= ?`, e.victim, k); err != nil {
		t.Fatal(err)
	}
	db.Close()
	e.checkRefused(t, fmt.Sprintf("and part after it, at or before event %d", n))
}

// rewrite replaces event k of tenant's log with a forged one (forge),
// re-links every later event to it and recomputes the log's stored hashes.
func rewrite(t *testing.T, db *sql.DB, tenant string, k int64) {
	t.Helper()
	rows, err := db.Query(`SELECT seq, leaf FROM audit_events WHERE tenant_id = ? ORDER BY seq`, tenant)
	if err != nil {
		t.Fatal(err)
	}
	var leaves [][]byte
	for rows.Next() {
		var seq int64
		var leaf []byte
		if err := rows.Scan(&seq, &leaf); err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, leaf)
	}
	rows.Close()
	leaves[k-1] = forge(t, db, tenant, k)
	for i := k; i < int64(len(leaves)); i++ {
		ent, err := audit.Decode(leaves[i])
		if err != nil {
			t.Fatal(err)
		}
		ent.Prev = audit.PrevOf(leaves[i-1])
		if leaves[i], err = audit.Encode(ent); err != nil {
			t.Fatal(err)
		}
	}
	hashes := map[int64]tlog.Hash{}
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	})
	for i, leaf := range leaves {
		hs, err := tlog.StoredHashes(int64(i), leaf, r)
		if err != nil {
			t.Fatal(err)
		}
		for j, h := range hs {
			hashes[tlog.StoredHashIndex(0, int64(i))+int64(j)] = h
		}
		if _, err := db.Exec(`UPDATE audit_events SET leaf = ? WHERE tenant_id = ? AND seq = ?`, leaf, tenant, i+1); err != nil {
			t.Fatal(err)
		}
	}
	for idx, h := range hashes {
		if _, err := db.Exec(`UPDATE audit_hashes SET hash = ? WHERE tenant_id = ? AND idx = ?`, h[:], tenant, idx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAnchor_OlderDatabase puts back an older copy of audit.db: the server
// refuses the logs that grew since, until the operator records the gap
// with `casevault audit accept-rollback`; then the firm works again and the
// gap is an event of its log.
func TestAnchor_OlderDatabase(t *testing.T) {
	e := newAnchorEnv(t)
	e.run(t, 2)
	path := usAuditPath(e.dir)
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	db := openAuditFile(t, e.dir)
	oldSize := size(t, db, e.victim)
	db.Close()

	// Only Victim acts after the copy.
	srv := startServer(t, e.dir, "")
	work(t, e.login(t, srv, "owner@victim.example", e.victimPassword), 3)
	srv.Stop(t)
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(path + suffix)
	}
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	e.checkRefused(t, fmt.Sprintf("the histories part after event %d", oldSize))
	// Still refused at the next start: nothing was accepted silently.
	e.checkRefused(t, fmt.Sprintf("the histories part after event %d", oldSize))

	if _, errOut, err := cli(t, e.dir, "audit", "accept-rollback"); exitCode(err) != 2 || !strings.Contains(errOut, "--tenant is required") {
		t.Errorf("accept-rollback without --tenant: %v, %q; want exit 2 naming --tenant", err, errOut)
	}
	if _, errOut, err := cli(t, e.dir, "audit", "accept-rollback", "--tenant", e.other); err == nil {
		t.Errorf("accept-rollback of a log that extends its checkpoint succeeded\n%s", errOut)
	}
	out, errOut, err := cli(t, e.dir, "audit", "accept-rollback", "--tenant", e.victim)
	if err != nil {
		t.Fatalf("accept-rollback: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, "audit.rollback_accepted") {
		t.Errorf("accept-rollback printed %q", out)
	}

	srv = startServer(t, e.dir, "")
	work(t, e.login(t, srv, "owner@victim.example", e.victimPassword), 1)
	srv.Stop(t)
	db = openAuditFile(t, e.dir)
	defer db.Close()
	var leaf []byte
	if err := db.QueryRow(`SELECT leaf FROM audit_events WHERE tenant_id = ? AND action = ?`, e.victim, audit.ActionRollbackAccepted).Scan(&leaf); err != nil {
		t.Fatalf("no %s event: %v", audit.ActionRollbackAccepted, err)
	}
	ent, err := audit.Decode(leaf)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ent.Seq, oldSize+1; got != want {
		t.Errorf("rollback event seq = %d, want %d", got, want)
	}
	if got, want := ent.Details["current_size"], fmt.Sprint(oldSize); got != want {
		t.Errorf("current_size = %q, want %q", got, want)
	}
	var remembered int64
	if _, err := fmt.Sscan(ent.Details["remembered_size"], &remembered); err != nil || remembered <= oldSize || ent.Details["remembered_root"] == "" {
		t.Errorf("remembered_size = %q, root %q; want a size past %d and a root", ent.Details["remembered_size"], ent.Details["remembered_root"], oldSize)
	}
	if ent.ActorID != vault.ActorOperator {
		t.Errorf("rollback actor = %q, want %q", ent.ActorID, vault.ActorOperator)
	}
}
