package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/casevault/casevault/vault/s3/s3test"
)

// The residency of cells (issue 13), attacked from outside the process:
// every file of each region's cell, of its keys and of the service-wide
// files is read byte by byte, and its path name too, for what another
// region's firm owns.

// firmNeedles are the strings of firm f that must appear nowhere outside
// its cell: its id, its marker (in every name it wrote), its users' ids and
// emails, its matters' and documents' ids, its token's id.
func firmNeedles(f precellsFirm) []string {
	n := []string{f.ID, hex.EncodeToString([]byte(f.ID)), f.Marker}
	for _, u := range f.Users {
		n = append(n, u.ID, u.Email)
	}
	for _, m := range f.Matters {
		n = append(n, m.ID)
	}
	for _, d := range f.Documents {
		n = append(n, d.ID)
	}
	for _, t := range f.Tokens {
		n = append(n, t.ID)
	}
	return n
}

// scanFiles reads every regular file below each root (a root that does not
// exist is skipped) and returns "path: needle" for each needle found,
// case-insensitively, in a file's bytes or its path, and how many bytes it
// read.
func scanFiles(t *testing.T, roots []string, needles []string) (hits []string, read int64) {
	t.Helper()
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) && p == root {
					return filepath.SkipDir
				}
				return err
			}
			name := strings.ToLower(p)
			var b []byte
			if d.Type().IsRegular() {
				if b, err = os.ReadFile(p); err != nil {
					return err
				}
				read += int64(len(b))
				b = bytes.ToLower(b)
			}
			for _, n := range needles {
				ln := strings.ToLower(n)
				if strings.Contains(name, ln) || bytes.Contains(b, []byte(ln)) {
					hits = append(hits, p+": "+n)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return hits, read
}

// serviceFiles are the files of dataDir outside every cell.
func serviceFiles(t *testing.T, dataDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.Name() != "regions" {
			out = append(out, filepath.Join(dataDir, e.Name()))
		}
	}
	return out
}

// checkResidency scans a stopped server's data and keys directories: each
// region's cell and key files hold nothing of the other regions' firms, the
// service-wide files hold no firm's email, name or user, matter or document
// id (firm ids only in the directory of service.db), and no database of the
// release before cells is left.
func checkResidency(t *testing.T, dataDir string, firms []precellsFirm) {
	t.Helper()
	keysDir := dataDir + "-keys"
	for _, f := range firms {
		for _, g := range firms {
			if g.Region == f.Region {
				continue
			}
			keyFiles := regionKeyFiles(keysDir, g.Region)
			if len(keyFiles) == 0 {
				t.Fatalf("region %s: no key files in %s to scan", g.Region, keysDir)
			}
			roots := append([]string{filepath.Join(dataDir, "regions", g.Region)}, keyFiles...)
			hits, read := scanFiles(t, roots, firmNeedles(f))
			if read == 0 {
				t.Fatalf("cell %s: no bytes to scan", g.Region)
			}
			for _, h := range hits {
				t.Errorf("cell %s holds firm %s (%s): %s", g.Region, f.ID, f.Region, h)
			}
		}
		// Its own cell does hold it: the scan finds what is there.
		if hits, _ := scanFiles(t, []string{filepath.Join(dataDir, "regions", f.Region)}, []string{f.ID}); len(hits) == 0 {
			t.Errorf("cell %s: the scan finds no trace of its own firm %s", f.Region, f.ID)
		}
		needles := firmNeedles(f)[2:] // the firm id may name its cell in the directory
		hits, _ := scanFiles(t, serviceFiles(t, dataDir), needles)
		for _, h := range hits {
			t.Errorf("service-wide file holds firm %s: %s", f.ID, h)
		}
		hits, _ = scanFiles(t, []string{filepath.Join(dataDir, "service-audit.db"), filepath.Join(dataDir, "service-audit.db-wal")}, firmNeedles(f)[:2])
		for _, h := range hits {
			t.Errorf("service audit log holds firm %s: %s", f.ID, h)
		}
	}
	for _, name := range []string{"casevault.db", "audit.db"} {
		if _, err := os.Stat(filepath.Join(dataDir, name)); !os.IsNotExist(err) {
			t.Errorf("%s of the release before cells is still in the data dir (%v)", name, err)
		}
	}
}

// TestCells_Residency fills a us and a ca firm (users, matters, documents,
// versions, grants, walls, denied accesses, a token, audit reads, marker
// strings in every name) on a fresh data dir and scans every file.
func TestCells_Residency(t *testing.T) {
	dataDir := newDataDir(t)
	us, ca := precellsTwoFirms(t, dataDir, "")
	// Failed sign-ins: of an unknown account (the service log's, which
	// names its email only as a keyed hash) and of each firm's owner.
	srv := startServer(t, dataDir, "")
	unknown := "nobody.marker-nowhere@unknown.example"
	for _, email := range []string{unknown, us.Users[0].Email, ca.Users[0].Email} {
		resp := newClient(srv.URL).request(t, "POST", "/api/v1/auth/login",
			strings.NewReader(`{"email":"`+email+`","password":"wrong password"}`), http.Header{"Content-Type": {"application/json"}})
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("sign-in of %s with a wrong password: %d, want 401", email, resp.StatusCode)
		}
	}
	srv.Stop(t)
	checkResidency(t, dataDir, []precellsFirm{us, ca})
	hits, _ := scanFiles(t, append(serviceFiles(t, dataDir), filepath.Join(dataDir, "regions")), []string{unknown, "marker-nowhere"})
	for _, h := range hits {
		t.Errorf("the unknown account's email is written in the clear: %s", h)
	}
}

// TestCells_UpgradeResidency splits the data dir of the release before
// cells (testdata/precells) by starting the server on a copy, then scans
// it as TestCells_Residency does.
func TestCells_UpgradeResidency(t *testing.T) {
	m := readPrecells(t)
	dataDir := copyPrecells(t)
	srv := startServer(t, dataDir, "")
	srv.Stop(t)
	checkResidency(t, dataDir, m.Firms)
}

// TestMigrateCells runs `casevault migrate cells` on a copy of the data
// dir of the release before cells: it splits it, checks every firm's
// audit log against its anchored checkpoint, and a second run has nothing
// to do.
func TestMigrateCells(t *testing.T) {
	dataDir := copyPrecells(t)
	out, errOut, err := cli(t, dataDir, "migrate", "cells", "--json")
	if err != nil {
		t.Fatalf("migrate cells: %v\n%s", err, errOut)
	}
	var res struct {
		Split    bool              `json:"split"`
		Firms    map[string]int    `json:"firms"`
		Diverged map[string]string `json:"diverged"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !res.Split || res.Firms["us"] != 1 || res.Firms["ca"] != 1 || len(res.Diverged) != 0 {
		t.Fatalf("migrate cells = %s, want split, one firm per region, no diverged log", out)
	}
	out, _, err = cli(t, dataDir, "migrate", "cells")
	if err != nil || !strings.Contains(out, "Nothing to split") {
		t.Fatalf("second migrate cells: %v %q, want nothing to split", err, out)
	}
	checkResidency(t, dataDir, readPrecells(t).Firms)
}

// scanBucket reads every object of bucket, its key and its bytes, and
// returns "bucket/key: needle" for each needle found, case-insensitively,
// and how many objects it read.
func scanBucket(t *testing.T, mc *minio.Client, bucket string, needles []string) (hits []string, objects int) {
	t.Helper()
	ctx := context.Background()
	for obj := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		r, err := mc.GetObject(ctx, bucket, obj.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		objects++
		b, key := bytes.ToLower(b), strings.ToLower(obj.Key)
		for _, n := range needles {
			ln := strings.ToLower(n)
			if strings.Contains(key, ln) || bytes.Contains(b, []byte(ln)) {
				hits = append(hits, bucket+"/"+obj.Key+": "+n)
			}
		}
	}
	return hits, objects
}

// TestCells_ResidencyMinIO is TestCells_Residency with each region's blobs
// in a bucket of its own MinIO server: besides every file of the cells,
// every object of each region's bucket is read for the other region's
// firm.
func TestCells_ResidencyMinIO(t *testing.T) {
	servers := map[string]*s3test.Server{"us": s3test.MinIO(t), "ca": s3test.MinIO(t)}
	buckets := map[string]string{"us": s3test.NewBucketName("cell-us"), "ca": s3test.NewBucketName("cell-ca")}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "casevault.yaml")
	var yml bytes.Buffer
	yml.WriteString("regions:\n")
	var env []string
	for _, r := range []string{"us", "ca"} {
		m := servers[r]
		fmt.Fprintf(&yml, "  %s:\n    type: s3\n    endpoint: %s\n    bucket: %s\n    secure: false\n    create_bucket: true\n    master_key: {type: file}\n",
			r, m.Endpoint, buckets[r])
		up := strings.ToUpper(r)
		env = append(env, "CASEVAULT_REGION_"+up+"_ACCESS_KEY="+m.AccessKey, "CASEVAULT_REGION_"+up+"_SECRET_KEY="+m.SecretKey)
	}
	if err := os.WriteFile(cfg, yml.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "data")
	us, ca := precellsTwoFirms(t, dataDir, cfg, env...)
	firms := []precellsFirm{us, ca}
	checkResidency(t, dataDir, firms)
	for _, f := range firms {
		for _, g := range firms {
			mc, err := servers[g.Region].Client()
			if err != nil {
				t.Fatal(err)
			}
			if g.Region == f.Region {
				if hits, n := scanBucket(t, mc, buckets[g.Region], []string{f.ID}); n == 0 || len(hits) == 0 {
					t.Errorf("bucket of %s: %d objects, none under its own firm %s", g.Region, n, f.ID)
				}
				continue
			}
			hits, n := scanBucket(t, mc, buckets[g.Region], firmNeedles(f))
			if n == 0 {
				t.Fatalf("bucket of %s: no objects to scan", g.Region)
			}
			for _, h := range hits {
				t.Errorf("MinIO of %s holds firm %s (%s): %s", g.Region, f.ID, f.Region, h)
			}
		}
	}
}

// TestCells_UnservedRegion starts a server that serves only ca on a data
// dir that also has a us cell (one deployment per region): the ca firm
// works, the us firm's users are told its region is unavailable here, and
// nothing of the us firm is answered or written by this server.
func TestCells_UnservedRegion(t *testing.T) {
	m := readPrecells(t)
	dataDir := copyPrecells(t)
	startServer(t, dataDir, "").Stop(t) // split into both cells first
	cfg := filepath.Join(t.TempDir(), "ca-only.yaml")
	if err := os.WriteFile(cfg, []byte("regions:\n  ca:\n    type: fs\n    master_key: {type: file}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	usDB, err := os.ReadFile(filepath.Join(dataDir, "regions", "us", "casevault.db"))
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, dataDir, cfg)
	for _, f := range m.Firms {
		u := f.Users[0]
		resp := newClient(srv.URL).request(t, "POST", "/api/v1/auth/login",
			strings.NewReader(`{"email":"`+u.Email+`","password":"`+u.Password+`"}`), http.Header{"Content-Type": {"application/json"}})
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch f.Region {
		case "ca":
			if resp.StatusCode != http.StatusOK {
				t.Errorf("ca owner sign-in on the ca server: %d %s, want 200", resp.StatusCode, b)
			}
		case "us":
			if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), `"code":"unavailable"`) {
				t.Errorf("us owner sign-in on the ca server: %d %s, want 503 unavailable", resp.StatusCode, b)
			}
			tc := newClient(srv.URL)
			tc.token = f.Tokens[0].Token
			resp := tc.request(t, "GET", "/api/v1/matters", nil, nil)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("us token on the ca server: %d, want 401", resp.StatusCode)
			}
		}
	}
	srv.Stop(t)
	after, err := os.ReadFile(filepath.Join(dataDir, "regions", "us", "casevault.db"))
	if err != nil || !bytes.Equal(after, usDB) {
		t.Errorf("the us cell's database changed while only ca was served (%v)", err)
	}
}

// TestCells_ResidencyReport asks for each firm's residency report, from
// the API as its auditor and with `casevault tenant residency`, and checks
// both offline with `casevault residency verify` and the region's key
// only; a lawyer may not have it; once a file holding the us firm's id sits
// in the ca cell, the us firm's report is refused (409) and nothing is
// signed.
func TestCells_ResidencyReport(t *testing.T) {
	dataDir := newDataDir(t)
	us, ca := precellsTwoFirms(t, dataDir, "")
	verify := func(t *testing.T, report []byte, region string) error {
		t.Helper()
		file := filepath.Join(t.TempDir(), "residency.txt")
		if err := os.WriteFile(file, report, 0o600); err != nil {
			t.Fatal(err)
		}
		key := auditKeysJSON(t, dataDir, "--region", region)[0].VerifierKey
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), []string{"residency", "verify", "--key", key, file}, &stdout, &stderr); err != nil {
			return fmt.Errorf("%w: %s", err, stderr.String())
		}
		return nil
	}
	srv := startServer(t, dataDir, "")
	for _, f := range []precellsFirm{us, ca} {
		auditor := precellsLogin(t, srv.URL, f.Users[4].Email, f.Users[4].Password)
		report := precellsGet(t, auditor, "/api/v1/residency", http.StatusOK)
		if err := verify(t, report, f.Region); err != nil {
			t.Errorf("%s report from the API: residency verify: %v\n%s", f.Region, err, report)
		}
		other := map[string]string{"us": "ca", "ca": "us"}[f.Region]
		if err := verify(t, report, other); err == nil {
			t.Errorf("%s report verifies with the %s key", f.Region, other)
		}
		lawyer := precellsLogin(t, srv.URL, f.Users[2].Email, f.Users[2].Password)
		precellsGet(t, lawyer, "/api/v1/residency", http.StatusForbidden)
	}
	srv.Stop(t)
	out, errOut, err := cli(t, dataDir, "tenant", "residency", "--tenant", ca.ID)
	if err != nil {
		t.Fatalf("tenant residency: %v\n%s", err, errOut)
	}
	if err := verify(t, []byte(out), "ca"); err != nil {
		t.Errorf("ca report from the CLI: %v", err)
	}
	if !strings.Contains(out, `"region":"ca"`) && !strings.Contains(out, `"region": "ca"`) {
		t.Errorf("ca report does not state region ca:\n%s", out)
	}

	// A leak: the us firm's id in a file of the ca cell.
	if err := os.WriteFile(filepath.Join(dataDir, "regions", "ca", "stray.txt"), []byte("copied "+us.ID), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cli(t, dataDir, "tenant", "residency", "--tenant", us.ID); err == nil || !strings.Contains(err.Error(), "stray.txt") {
		t.Errorf("tenant residency with a leak: %v, want a refusal naming stray.txt", err)
	}
	srv = startServer(t, dataDir, "")
	auditor := precellsLogin(t, srv.URL, us.Users[4].Email, us.Users[4].Password)
	b := precellsGet(t, auditor, "/api/v1/residency", http.StatusConflict)
	if strings.Contains(string(b), "stray") || strings.Contains(string(b), us.Users[0].Email) {
		t.Errorf("the refusal repeats what the scan found: %s", b)
	}
}
