package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/internal/refverify"
	"github.com/casevault/casevault/vault"
)

// exportHTTP downloads a jsonl bundle from the real server.
func exportHTTP(t *testing.T, c *client, query string) string {
	t.Helper()
	resp := c.request(t, "GET", "/api/v1/audit/export?format=jsonl"+query, nil, nil)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("audit export = %d %s, %v", resp.StatusCode, b, err)
	}
	return string(b)
}

// bundleLine is one line of a bundle, parsed loosely for editing.
type bundleLine map[string]any

func parseBundle(t *testing.T, b string) []bundleLine {
	t.Helper()
	var out []bundleLine
	for _, l := range bundleLines(b) {
		var m bundleLine
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("bundle line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func joinLines(t *testing.T, ls []bundleLine) string {
	t.Helper()
	var sb strings.Builder
	for _, l := range ls {
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		sb.Write(b)
		sb.WriteByte('\n')
	}
	return sb.String()
}

// leafOf decodes an event line's leaf.
func leafOf(t *testing.T, l bundleLine) *audit.Entry {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(l["leaf"].(string))
	if err != nil {
		t.Fatal(err)
	}
	e, err := audit.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// lastEvent returns the last event line of a bundle.
func lastEvent(t *testing.T, ls []bundleLine) bundleLine {
	t.Helper()
	for i := len(ls) - 1; i >= 0; i-- {
		if ls[i]["type"] == "event" {
			return ls[i]
		}
	}
	t.Fatal("no event line")
	return nil
}

// noteSize is the tree size of a checkpoint line.
func noteSize(t *testing.T, l bundleLine) int64 {
	t.Helper()
	lines := strings.SplitN(l["note"].(string), "\n", 3)
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// cutBack rewrites a complete bundle as if it ended at size n: line 2 is
// the bundle's own stored checkpoint of size n, later events and
// checkpoints are dropped and the end count fixed. header, when not nil,
// edits the header too.
func cutBack(t *testing.T, b string, n int64, header func(bundleLine)) string {
	t.Helper()
	ls := parseBundle(t, b)
	var out []bundleLine
	var ck bundleLine
	events := 0
	for i, l := range ls {
		switch {
		case i < 2:
			out = append(out, l)
		case l["type"] == "event" && int64(l["seq"].(float64)) <= n:
			out = append(out, l)
			events++
		case l["type"] == "checkpoint" && noteSize(t, l) <= n:
			out = append(out, l)
			if noteSize(t, l) == n {
				ck = l
			}
		}
	}
	if ck == nil {
		t.Fatalf("no stored checkpoint of size %d in the bundle", n)
	}
	out[1] = bundleLine{"type": "checkpoint", "note": ck["note"]}
	if header != nil {
		header(out[0])
	}
	return joinLines(t, append(out, bundleLine{"type": "end", "events": events}))
}

// verifyBoth runs `casevault audit verify` with args and refverify with o
// on bundle b; they must agree. It returns the CLI's exit code and output.
func verifyBoth(t *testing.T, b string, o refverify.Options, args ...string) (int, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bundle.jsonl")
	if err := os.WriteFile(path, []byte(b), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := auditVerify(append(append([]string{"--key", o.TrustedKey}, args...), path)...)
	_, rerr := refverify.VerifyWith(strings.NewReader(b), o)
	var re *refverify.Error
	if rerr != nil && !errors.As(rerr, &re) {
		t.Fatalf("refverify: %v", rerr)
	}
	if (code == 0) != (rerr == nil) {
		t.Fatalf("audit verify exit %d (%s%s), refverify %v: they disagree", code, out, errOut, rerr)
	}
	if re != nil {
		want := "FAIL: "
		if re.Seq != 0 {
			want = "FAIL at seq " + strconv.FormatInt(re.Seq, 10) + ":"
		}
		if !strings.HasPrefix(errOut, want) {
			t.Fatalf("audit verify says %q, refverify names seq %d (%s)", errOut, re.Seq, re.Reason)
		}
	}
	return code, out + errOut
}

// TestAuditExport_TimeAndExportEvent checks, with the real server over
// HTTP, that an export's bundle (format /2) carries the log's timestamps
// and ends with its own audit.export event, which `audit verify` prints;
// and the Done-when of issue #11 item 3: a bundle cut back to an earlier
// stored checkpoint no longer matches its last audit.export event, and,
// made to match (the genuine earlier export), fails --at … --max-age …;
// an edited filter, export id or time fails. audit verify and refverify
// agree on each.
func TestAuditExport_TimeAndExportEvent(t *testing.T) {
	e := newAnchorEnv(t)
	srv := startServer(t, e.dir, "")
	c := e.login(t, srv, "owner@victim.example", e.victimPassword)
	work(t, c, 3)
	var cp vault.AuditCheckpoint
	c.json(t, "GET", "/api/v1/audit/checkpoint", nil, http.StatusOK, &cp)
	if cp.SignedAt == "" {
		t.Fatalf("GET checkpoint has no signed_at: %+v", cp)
	}
	if at, ok, err := audit.CheckpointTime([]byte(cp.Note), cp.VerifierKey); err != nil || !ok || at.Format(time.RFC3339) != cp.SignedAt {
		t.Fatalf("checkpoint timestamp %v %v %v, signed_at %s", at, ok, err, cp.SignedAt)
	}
	early := exportHTTP(t, c, "")
	earlySize := int64(lastEvent(t, parseBundle(t, early))["seq"].(float64))
	// Timestamps are seconds: let the clock move on before the later export.
	time.Sleep(2100 * time.Millisecond)
	work(t, c, 4)
	full := exportHTTP(t, c, "")
	filtered := exportHTTP(t, c, "&action=matter.create")
	key := cp.VerifierKey
	o := refverify.Options{TrustedKey: key}

	// The genuine bundles verify, and say who exported them and when.
	ls := parseBundle(t, full)
	h := ls[0]
	if h["format"] != audit.BundleFormatV2 || !strings.HasPrefix(h["export_id"].(string), "exp_") {
		t.Fatalf("header %v, want format /2 with an export id", h)
	}
	last := leafOf(t, lastEvent(t, ls))
	if last.Seq != noteSize(t, ls[1]) || last.Action != "audit.export" || last.Details["export_id"] != h["export_id"] || last.Time != h["exported_at"] {
		t.Fatalf("last event %+v does not close the bundle with header %v", last, h)
	}
	code, out := verifyBoth(t, full, refverify.Options{TrustedKey: key, MaxAge: time.Hour}, "--max-age", "1h")
	if code != 0 || !strings.Contains(out, "Export "+h["export_id"].(string)+" by ") || !strings.Contains(out, "owner@victim.example") ||
		!strings.Contains(out, last.Time) || !strings.Contains(out, "Newest checkpoint timestamp") {
		t.Fatalf("audit verify of the export: exit %d\n%s", code, out)
	}
	fl := parseBundle(t, filtered)
	if lf := leafOf(t, lastEvent(t, fl)); lf.Action != "audit.export" || fl[0]["filter"].(map[string]any)["action"] != "matter.create" {
		t.Fatalf("filtered bundle does not end with its export event: %+v", lf)
	}
	if code, out := verifyBoth(t, filtered, o); code != 0 {
		t.Fatalf("filtered bundle: exit %d\n%s", code, out)
	}

	// Cut back to an earlier stored checkpoint (that of the earlier
	// export's tree, earlySize, and one of a plain event before it): the
	// header no longer matches the last event.
	n := earlySize - 1
	if code, out := verifyBoth(t, cutBack(t, full, n, nil), o); code == 0 || !strings.Contains(out, "not the export's own audit.export event") {
		t.Errorf("bundle cut back to size %d: exit %d\n%s", n, code, out)
	}
	cut := cutBack(t, full, earlySize, nil)
	if code, out := verifyBoth(t, cut, o); code == 0 || !strings.Contains(out, "export_id") {
		t.Errorf("bundle cut back to the earlier export's checkpoint: exit %d\n%s", code, out)
	}
	// Made to match that earlier export (its id, time), the cut bundle is
	// the earlier export itself, and verifies, but is too old at the time
	// of the later one.
	el := parseBundle(t, early)
	matched := cutBack(t, full, earlySize, func(h bundleLine) {
		h["export_id"], h["exported_at"] = el[0]["export_id"], el[0]["exported_at"]
	})
	if code, out := verifyBoth(t, matched, o); code != 0 {
		t.Fatalf("the cut bundle made to match the earlier export: exit %d\n%s", code, out)
	}
	at := latestTime(t, full, key)
	ageArgs := []string{"--at", at.Format(time.RFC3339), "--max-age", "1s"}
	ageOpts := refverify.Options{TrustedKey: key, At: at, MaxAge: time.Second}
	if code, out := verifyBoth(t, full, ageOpts, ageArgs...); code != 0 {
		t.Errorf("the real export at its own time, --max-age 1s: exit %d\n%s", code, out)
	}
	if code, out := verifyBoth(t, matched, ageOpts, ageArgs...); code == 0 || !strings.Contains(out, "more than 1s before") {
		t.Errorf("cut-back bundle with --at %s --max-age 1s: exit %d\n%s", at.Format(time.RFC3339), code, out)
	}
	// A time far in the past puts every timestamp in the future.
	past := at.Add(-time.Hour)
	if code, out := verifyBoth(t, full, refverify.Options{TrustedKey: key, At: past}, "--at", past.Format(time.RFC3339)); code == 0 || !strings.Contains(out, "after") {
		t.Errorf("--at an hour before the export: exit %d\n%s", code, out)
	}

	// Header edits: another filter label, another export id, another time.
	edits := []struct {
		name string
		b    string
		edit func(bundleLine)
	}{
		{"FilterLabel", filtered, func(h bundleLine) { h["filter"] = map[string]any{"action": "document.download"} }},
		{"FilterAdded", filtered, func(h bundleLine) { h["filter"].(map[string]any)["actor_id"] = "usr_someoneelse" }},
		{"ExportID", full, func(h bundleLine) { h["export_id"] = "exp_aaaaaaaaaaaaaaaaaaaaaaaaaa" }},
		{"ExportedAt", full, func(h bundleLine) { h["exported_at"] = "2026-01-01T00:00:00.000000000Z" }},
		{"Format1", full, func(h bundleLine) { h["format"] = audit.BundleFormatV1; delete(h, "export_id") }},
	}
	for _, ed := range edits {
		t.Run(ed.name, func(t *testing.T) {
			ls := parseBundle(t, ed.b)
			ed.edit(ls[0])
			b := joinLines(t, ls)
			code, out := verifyBoth(t, b, o)
			if ed.name == "Format1" {
				// Format /1 needs no export event; it verifies, but says it
				// proves neither who nor when, and fails --max-age.
				if code != 0 || !strings.Contains(out, "carries no export event and no timestamps") {
					t.Errorf("as format /1: exit %d\n%s", code, out)
				}
				if code, out := verifyBoth(t, b, refverify.Options{TrustedKey: key, MaxAge: time.Hour}, "--max-age", "1h"); code != 1 {
					t.Errorf("format /1 with --max-age: exit %d\n%s", code, out)
				}
				return
			}
			if code != 1 {
				t.Errorf("edited header verified:\n%s", out)
			}
		})
	}
}

// latestTime returns the newest checkpoint timestamp of a bundle.
func latestTime(t *testing.T, b, key string) time.Time {
	t.Helper()
	var newest time.Time
	for _, l := range parseBundle(t, b) {
		if l["type"] != "checkpoint" {
			continue
		}
		at, ok, err := audit.CheckpointTime([]byte(l["note"].(string)), key)
		if err != nil || !ok {
			t.Fatalf("checkpoint without timestamp: %v", err)
		}
		if at.After(newest) {
			newest = at
		}
	}
	return newest
}

// TestAuditExport_ConcurrentAppends exports while other requests append to
// the same firm's log: each bundle covers exactly events 1..E, E being its
// own audit.export event, and verifies.
func TestAuditExport_ConcurrentAppends(t *testing.T) {
	ctx := context.Background()
	m := openMain(t, newDataDir(t))
	defer m.Close()
	tenant, owner, _, err := m.Service.CreateTenant(ctx, vault.NewTenant{Name: "Busy LLP", Region: "us", Owner: vault.NewUser{Email: "owner@busy.example"}})
	if err != nil {
		t.Fatal(err)
	}
	key, err := m.Audit.VerifierKey(ctx, tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := m.Service.CreateMatter(ctx, owner, "M "+strconv.Itoa(w)+"-"+strconv.Itoa(i), "C"); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := range 6 {
		var sb strings.Builder
		f := vault.AuditFilter{}
		if i%2 == 1 {
			f.Action = vault.ActMatterCreate
		}
		if err := m.Service.ExportAudit(ctx, owner, vault.AuditFormatJSONL, f, &sb); err != nil {
			t.Fatal(err)
		}
		ls := parseBundle(t, sb.String())
		size := noteSize(t, ls[1])
		le := leafOf(t, lastEvent(t, ls))
		if le.Seq != size || le.Action != "audit.export" || le.Details["export_id"] != ls[0]["export_id"] {
			t.Errorf("bundle %d: tree size %d, last event %d %s (%s), header %v", i, size, le.Seq, le.Action, le.Details["export_id"], ls[0]["export_id"])
		}
		if n, _ := m.Audit.Size(ctx, tenant.ID); n <= size && i > 0 {
			t.Logf("bundle %d: no append after the export event (log size %d)", i, n)
		}
		if code, out := verifyBoth(t, sb.String(), refverify.Options{TrustedKey: key}); code != 0 {
			t.Errorf("bundle %d: exit %d\n%s", i, code, out)
		}
	}
	close(stop)
	wg.Wait()
}

// TestAuditHeartbeat_RealServer checks that the real server, with
// CASEVAULT_AUDIT_HEARTBEAT=1s, signs an idle firm's latest tree again with
// fresh timestamps: heartbeats stored in audit.db whose timestamps verify
// with the firm's key, newer than its last checkpoint.
func TestAuditHeartbeat_RealServer(t *testing.T) {
	e := newAnchorEnv(t)
	srv := startServer(t, e.dir, "", "CASEVAULT_AUDIT_HEARTBEAT=1s")
	c := e.login(t, srv, "owner@victim.example", e.victimPassword)
	work(t, c, 2)
	var cp vault.AuditCheckpoint
	c.json(t, "GET", "/api/v1/audit/checkpoint", nil, http.StatusOK, &cp)
	time.Sleep(3500 * time.Millisecond) // idle
	srv.Stop(t)
	db := openAuditFile(t, e.dir)
	defer db.Close()
	rows, err := db.Query(`SELECT size, note FROM audit_timestamps WHERE tenant_id = ? ORDER BY id`, e.victim)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var beats int
	first, _, _ := audit.CheckpointTime([]byte(cp.Note), cp.VerifierKey)
	for rows.Next() {
		var size int64
		var msg []byte
		if err := rows.Scan(&size, &msg); err != nil {
			t.Fatal(err)
		}
		at, ok, err := audit.CheckpointTime(msg, cp.VerifierKey)
		if err != nil || !ok {
			t.Errorf("heartbeat of size %d: time %v %v %v", size, at, ok, err)
		}
		if size == cp.Size && at.After(first) {
			beats++
		}
	}
	if beats < 1 {
		t.Fatalf("no heartbeat of the idle firm's log (size %d) after 3.5 s at 1 s", cp.Size)
	}
	if beats > 4 {
		t.Errorf("%d heartbeats in 3.5 s at 1 s: more than one per interval", beats)
	}
}
