package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/drill"
)

// drillConfig writes a configuration of two regions backed up every
// second outside the data directory, with ca's first scheduled drill a few
// seconds after the start.
func drillConfig(t *testing.T, outside string) string {
	t.Helper()
	return backupConfig(t, outside, map[string]string{
		"us": "      drill_interval: off\n",
		"ca": "      drill_delay: 4s\n      drill_sample: 2\n",
	})
}

// createFirm runs `tenant create` and returns the firm's id and owner's
// one-time password.
func createFirm(t *testing.T, dataDir, cfg, name, region, email string) (string, string) {
	t.Helper()
	out, errOut, err := cli(t, dataDir, "tenant", "create", "--name", name, "--region", region, "--owner-email", email, "--json", "--config", cfg)
	if err != nil {
		t.Fatalf("tenant create: %v\n%s", err, errOut)
	}
	var f struct {
		TenantID      string `json:"tenant_id"`
		OwnerPassword string `json:"owner_password"`
	}
	json.Unmarshal([]byte(out), &f)
	return f.TenantID, f.OwnerPassword
}

// drillOf polls the operator API until region's drill id (or, for "", any
// drill) has finished, and returns its status.
func drillOf(t *testing.T, o *operatorAPI, region, id string) forwardedDrill {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		code, b := o.call("GET", "/operator/v1/drills/"+region, nil, nil)
		var st forwardedDrill
		if code == http.StatusOK && json.Unmarshal(b, &st) == nil && !st.Running && st.Drill != nil && (id == "" || st.ID == id) {
			return st
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no finished drill of %s", region)
	return forwardedDrill{}
}

// noDrillRestores fails when a drill's restore is left in region's cell.
func noDrillRestores(t *testing.T, dataDir, region string) {
	t.Helper()
	des, _ := os.ReadDir(filepath.Join(dataDir, "regions", region, "drills"))
	for _, de := range des {
		if strings.HasPrefix(de.Name(), "tmp-") {
			t.Errorf("a drill's restore is left in the cell: %s", de.Name())
		}
	}
}

// TestDrill_Serve runs restore drills against a running server: the first
// scheduled one and one asked for with `casevault drill`, forwarded to the
// server's operator API. Both pass; each firm of the region has the event
// in an audit export that verifies offline; the signed record verifies with
// `drill verify` and fails with any byte flipped or another region's key;
// no restore is left behind. Then the backup is deleted: the drill fails,
// is recorded as failed, logged at error level, and the metrics say so.
// The server stopped, a drill runs in process.
// drillPlain fills the documents TestDrill_Serve's drills sample, so that
// their plaintext can be looked for on disk.
const drillPlain = "MKDRILLPLAIN-"

func TestDrill_Serve(t *testing.T) {
	outside := t.TempDir()
	dataDir := filepath.Join(outside, "data")
	cfg := drillConfig(t, outside)
	ca1, pw1 := createFirm(t, dataDir, cfg, "Firm One", "ca", "owner1@one.example")
	ca2, pw2 := createFirm(t, dataDir, cfg, "Firm Two", "ca", "owner2@two.example")
	createFirm(t, dataDir, cfg, "Firm Three", "us", "owner3@three.example")

	srv := startServer(t, dataDir, cfg)
	owners := map[string]*client{}
	for id, login := range map[string][2]string{ca1: {"owner1@one.example", pw1}, ca2: {"owner2@two.example", pw2}} {
		c := newClient(srv.URL)
		var l struct{ Token string }
		c.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": login[0], "password": login[1]}, http.StatusOK, &l)
		c.token = l.Token
		var matter struct{ ID string }
		c.json(t, "POST", "/api/v1/matters", map[string]string{"name": "M", "client": "C"}, http.StatusCreated, &matter)
		for i := range 3 {
			decodeDoc(t, c.request(t, "POST", fmt.Sprintf("/api/v1/matters/%s/documents?name=d%d.txt", matter.ID, i),
				strings.NewReader(strings.Repeat(drillPlain, 70000*(i+1)/len(drillPlain)+1)[:70000*(i+1)]), http.Header{"Content-Type": {"text/plain"}}), http.StatusCreated)
		}
		owners[id] = c
	}
	o := opAPI(t, dataDir)

	scheduled := drillOf(t, o, "ca", "")
	if !scheduled.Drill.OK {
		t.Fatalf("the scheduled drill failed: %+v", scheduled.Drill)
	}

	recFile := filepath.Join(outside, "drill.txt")
	out, errOut, err := cli(t, dataDir, "drill", "--region", "ca", "--json", "--out", recFile, "--config", cfg)
	if err != nil {
		t.Fatalf("casevault drill (forwarded): %v\n%s\n%s", err, out, errOut)
	}
	var rec drill.Record
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatalf("drill --json printed %q: %v", out, err)
	}
	if !rec.OK || rec.ID == scheduled.ID || rec.Firms != 2 || rec.Versions != 6 || rec.Sampled != 4 || rec.SampleFailures != 0 || rec.RPOms == nil || rec.RTOms == nil {
		t.Errorf("forwarded drill = %+v; want ok, a new id, 2 firms, 6 versions, 4 sampled", rec)
	}
	noDrillRestores(t, dataDir, "ca")
	// A drill decrypts its sample and discards it: no file anywhere (the
	// cells, the stores, the backups) holds the documents' plaintext.
	if hits, _ := scanFiles(t, []string{outside}, []string{drillPlain}); len(hits) > 0 {
		t.Errorf("plaintext of sampled documents on disk after the drills: %v", hits)
	}

	// The durability figures show the drill to an owner.
	var dur durabilityAnswer
	owners[ca1].json(t, "GET", "/api/v1/durability", nil, http.StatusOK, &dur)
	if dur.Region != "ca" || dur.Drill == nil || dur.Drill.ID != rec.ID || !dur.Drill.OK || len(dur.Backups) != 2 {
		t.Errorf("GET /api/v1/durability = %+v, want ca's last drill %s and two backups", dur, rec.ID)
	}

	// Deleting the backup: the next drill cannot restore.
	if err := os.RemoveAll(filepath.Join(outside, "backups", "ca")); err != nil {
		t.Fatal(err)
	}
	out, errOut, err = cli(t, dataDir, "drill", "--region", "ca", "--config", cfg)
	if err == nil || !strings.Contains(out, "FAILED") {
		t.Errorf("drill of a deleted backup: got %v\n%s%s, want a FAILED drill", err, out, errOut)
	}
	failed := drillOf(t, o, "ca", "")
	if failed.Drill.OK || !strings.Contains(failed.Drill.Failure, "does not restore") {
		t.Errorf("drill of a deleted backup = %+v, want a failure that it does not restore", failed.Drill)
	}
	metrics := fetchMetrics(t, srv)
	for _, want := range []string{`casevault_drill_last_ok{region="ca"} 0`, `casevault_backup_stale{database="audit",region="ca"} 0`, `casevault_backup_age_seconds{database="casevault",region="us"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(metrics, "casevault_drill_"))
		}
	}
	if n := strings.Count(srv.Stderr.String(), `"level":"error","component":"drill"`); n != 1 {
		t.Errorf("error lines of the drill: got %d, want 1 (the change to failing)\n%s", n, grepLines(srv.Stderr.String(), "drill"))
	}
	noDrillRestores(t, dataDir, "ca")

	bundles := map[string][]byte{}
	for id, c := range owners {
		resp := c.request(t, "GET", "/api/v1/audit/export?format=jsonl", nil, nil)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("audit export = %d %s", resp.StatusCode, b)
		}
		bundles[id] = b
	}
	srv.Stop(t)

	keys := map[string]string{}
	for _, r := range []string{"ca", "us"} {
		keys[r] = auditKeysJSON(t, dataDir, "--region", r, "--config", cfg)[0].VerifierKey
	}
	for id, b := range bundles {
		if got := bytes.Count(decodeLeaves(t, b), []byte(`"action":"backup.drill"`)); got != 3 {
			t.Errorf("firm %s's export holds %d backup.drill events, want 3 (scheduled, asked for, failed)", id, got)
		}
		file := filepath.Join(outside, id+".jsonl")
		os.WriteFile(file, b, 0o600)
		var vout, verr bytes.Buffer
		if err := run(context.Background(), []string{"audit", "verify", "--key", keys["ca"], file}, &vout, &verr); err != nil {
			t.Errorf("audit verify of firm %s: %v\n%s%s", id, err, vout.String(), verr.String())
		}
	}

	t.Run("Verify", func(t *testing.T) {
		var vout, verr bytes.Buffer
		if err := run(context.Background(), []string{"drill", "verify", "--key", keys["ca"], recFile}, &vout, &verr); err != nil {
			t.Fatalf("drill verify: %v\n%s%s", err, vout.String(), verr.String())
		}
		if !strings.Contains(vout.String(), "OK: drill record "+rec.ID) || !strings.Contains(vout.String(), "PASSED") {
			t.Errorf("drill verify printed %q", vout.String())
		}
		vout.Reset()
		verr.Reset()
		if err := run(context.Background(), []string{"drill", "verify", "--key", keys["us"], recFile}, &vout, &verr); err == nil ||
			!strings.Contains(verr.String(), "FAIL: not signed by any of the given keys") {
			t.Errorf("drill verify with us's key: %v %q, want FAIL", err, verr.String())
		}
		b, _ := os.ReadFile(recFile)
		for i := range b {
			if b[i] == '\n' {
				continue
			}
			c := append([]byte(nil), b...)
			c[i] ^= 0x01
			if _, err := drill.Verify(c, []string{keys["ca"]}); err == nil {
				t.Fatalf("byte %d of the record flipped: it verifies", i)
			}
		}
		tampered := filepath.Join(outside, "tampered.txt")
		os.WriteFile(tampered, bytes.Replace(b, []byte(`"sampled": 4`), []byte(`"sampled": 5`), 1), 0o600)
		verr.Reset()
		if err := run(context.Background(), []string{"drill", "verify", "--key", keys["ca"], tampered}, io.Discard, &verr); err == nil ||
			!strings.Contains(verr.String(), "FAIL: the signature of key casevault-audit-ca") {
			t.Errorf("drill verify of a tampered record: %v %q, want FAIL naming the signature", err, verr.String())
		}
	})

	t.Run("InProcess", func(t *testing.T) {
		out, errOut, err := cli(t, dataDir, "drill", "--region", "us", "--json", "--config", cfg)
		if err != nil {
			t.Fatalf("casevault drill (in process): %v\n%s\n%s", err, out, errOut)
		}
		var r drill.Record
		if err := json.Unmarshal([]byte(out), &r); err != nil || !r.OK || r.Firms != 1 {
			t.Errorf("in-process drill of us = %s (%v), want ok with 1 firm", out, err)
		}
		noDrillRestores(t, dataDir, "us")
	})
}

// durabilityAnswer is the JSON of GET /api/v1/durability.
type durabilityAnswer struct {
	Region  string `json:"region"`
	Backups []struct {
		Database string `json:"database"`
		Stale    bool   `json:"stale"`
	} `json:"backups"`
	Drill *struct {
		ID string `json:"id"`
		OK bool   `json:"ok"`
	} `json:"drill"`
}
