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

	"github.com/casevault/casevault/keys"
	vaultfs "github.com/casevault/casevault/vault/fs"
	"github.com/casevault/casevault/vault/s3/s3test"
)

// threeSites is regions us and ca, each storing its blobs on MinIO P with
// a mirror on MinIO M and backing up to MinIO B (three processes), the
// keys outside the data directory.
type threeSites struct {
	p, m, b          *s3test.Server
	outside, dataDir string
	keysDir          string
	env              []string
}

func newThreeSites(t *testing.T) *threeSites {
	t.Helper()
	s := &threeSites{p: s3test.MinIO(t), m: s3test.MinIO(t), b: s3test.MinIO(t), outside: t.TempDir()}
	s.dataDir = filepath.Join(s.outside, "data")
	s.keysDir = filepath.Join(s.outside, "keys")
	for _, r := range []string{"US", "CA"} {
		s.env = append(s.env,
			"CASEVAULT_REGION_"+r+"_ACCESS_KEY="+s.p.AccessKey, "CASEVAULT_REGION_"+r+"_SECRET_KEY="+s.p.SecretKey,
			"CASEVAULT_REGION_"+r+"_MIRROR_ACCESS_KEY="+s.m.AccessKey, "CASEVAULT_REGION_"+r+"_MIRROR_SECRET_KEY="+s.m.SecretKey,
			"CASEVAULT_REGION_"+r+"_BACKUP_ACCESS_KEY="+s.b.AccessKey, "CASEVAULT_REGION_"+r+"_BACKUP_SECRET_KEY="+s.b.SecretKey)
	}
	for _, e := range s.env {
		k, v, _ := strings.Cut(e, "=")
		t.Setenv(k, v)
	}
	return s
}

// bucket names the bucket of region r on a site ("docs", "mirror",
// "backup").
func (s *threeSites) bucket(site, r string) string { return "cv-" + site + "-" + r }

// config writes the configuration (backups on or off) and returns its path.
func (s *threeSites) config(t *testing.T, name string, backups bool) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "keys_dir: %s\nregions:\n", s.keysDir)
	for _, r := range []string{"us", "ca"} {
		fmt.Fprintf(&b, "  %s:\n    type: s3\n    endpoint: %s\n    bucket: %s\n    secure: false\n    create_bucket: true\n    master_key: {type: file}\n",
			r, s.p.Endpoint, s.bucket("docs", r))
		fmt.Fprintf(&b, "    mirror:\n      type: s3\n      endpoint: %s\n      bucket: %s\n      secure: false\n      create_bucket: true\n",
			s.m.Endpoint, s.bucket("mirror", r))
		if backups {
			fmt.Fprintf(&b, "    backup:\n      type: s3\n      endpoint: %s\n      bucket: %s\n      prefix: cells/%s\n      s3_region: %s\n      secure: false\n      create_bucket: true\n      interval: 1s\n",
				s.b.Endpoint, s.bucket("backup", r), r, s3test.Region)
		} else {
			b.WriteString("    backup: off\n")
		}
	}
	cfg := filepath.Join(s.outside, name)
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// e2eFirm is a firm created with the CLI, its owner's credentials.
type e2eFirm struct {
	ID, Region, Email, Password string
}

func createE2EFirm(t *testing.T, dataDir, cfg, region, name, email, owner string) e2eFirm {
	t.Helper()
	out, errOut, err := cli(t, dataDir, "tenant", "create", "--name", name, "--region", region,
		"--owner-email", email, "--owner-name", owner, "--json", "--config", cfg)
	if err != nil {
		t.Fatalf("tenant create: %v\n%s", err, errOut)
	}
	var f struct {
		TenantID      string `json:"tenant_id"`
		OwnerPassword string `json:"owner_password"`
	}
	if err := json.Unmarshal([]byte(out), &f); err != nil {
		t.Fatal(err)
	}
	return e2eFirm{ID: f.TenantID, Region: region, Email: email, Password: f.OwnerPassword}
}

// signIn signs the firm's owner in on srv.
func (f e2eFirm) signIn(t *testing.T, srv *server) *client {
	t.Helper()
	c := newClient(srv.URL)
	var login struct{ Token string }
	c.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": f.Email, "password": f.Password}, http.StatusOK, &login)
	c.token = login.Token
	return c
}

// uploadBytes posts body as a new document of matter.
func (c *client) uploadBytes(t *testing.T, matter, name string, body []byte) docJSON {
	t.Helper()
	return decodeDoc(t, c.request(t, "POST", "/api/v1/matters/"+matter+"/documents?name="+name,
		bytes.NewReader(body), http.Header{"Content-Type": {"application/x-mkctypeone"}}), http.StatusCreated)
}

// verifyExport exports the firm's audit log through c and verifies it
// offline with the region's published key.
func verifyExport(t *testing.T, c *client, dataDir, cfg string, f e2eFirm) {
	t.Helper()
	resp := c.request(t, "GET", "/api/v1/audit/export?format=jsonl", nil, nil)
	bundle, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("audit export of %s = %d %s", f.Region, resp.StatusCode, bundle)
	}
	file := filepath.Join(t.TempDir(), "bundle.jsonl")
	if err := os.WriteFile(file, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	key := auditKeysJSON(t, dataDir, "--region", f.Region, "--config", cfg)[0].VerifierKey
	var vout, verr bytes.Buffer
	if err := run(context.Background(), []string{"audit", "verify", "--key", key, file}, &vout, &verr); err != nil {
		t.Errorf("audit verify of the %s firm's export: %v\n%s%s", f.Region, err, vout.String(), verr.String())
	}
}

// markerObjects returns the objects of a bucket whose key or bytes hold an
// at-rest marker.
func markerObjects(t *testing.T, srv *s3test.Server, bucket string) (hits []string, n int) {
	t.Helper()
	for k, b := range objects(t, srv, bucket) {
		n++
		low := bytes.ToLower(b)
		for what, m := range atRestMarkers {
			if bytes.Contains(low, []byte(m)) || strings.Contains(strings.ToLower(k), m) {
				hits = append(hits, what+" ("+m+"): "+bucket+"/"+k)
			}
		}
	}
	return hits, n
}

// TestDurability_LoseDataDirAndPrimary is issue #14's "lose everything"
// drill against three MinIO processes (blobs on P, their mirror on M,
// backups on B): backup → delete the whole data directory and every object
// of P → restore each cell by the README runbook → serve → scrub refills P
// from M; every document downloads byte-identical, every firm's audit log
// verifies offline, sign-in works, and a second scrub finds nothing. A
// restore as of a time between two uploads, served from a new data
// directory, lists exactly the first. No object of M or B holds a marker,
// and the ca backup, decrypted, holds nothing of the us firm.
func TestDurability_LoseDataDirAndPrimary(t *testing.T) {
	s := newThreeSites(t)
	cfg := s.config(t, "casevault.yaml", true)
	ca := createE2EFirm(t, s.dataDir, cfg, "ca", "Firm MKFIRMONE LLP", "mkowneremail@x.example", "Owner MKOWNERNAME")
	us := createE2EFirm(t, s.dataDir, cfg, "us", "Firm MKFIRMTWO LLP", "mkcliowneremail@x.example", "Owner MKCLIOWNERNAME")

	srv := startServer(t, s.dataDir, cfg, s.env...)
	cc, uc := ca.signIn(t, srv), us.signIn(t, srv)
	var caMatter, usMatter struct{ ID string }
	cc.json(t, "POST", "/api/v1/matters", map[string]string{"name": "Matter MKMATTERNAME", "client": "Client MKCLIENTNAME"}, http.StatusCreated, &caMatter)
	uc.json(t, "POST", "/api/v1/matters", map[string]string{"name": "Matter MKMATTERNAME us", "client": "Client MKCLIENTNAME us"}, http.StatusCreated, &usMatter)
	contentsA := markedContents(5<<20+123, "mkcontents A")
	contentsU := markedContents(2<<20+7, "mkcontents U")
	docA := cc.uploadBytes(t, caMatter.ID, "MKDOCRAW-A.pdf", contentsA)
	docU := uc.uploadBytes(t, usMatter.ID, "MKDOCRAW-U.pdf", contentsU)

	// Litestream notices the WAL within a second and ships within the next.
	time.Sleep(3 * time.Second)
	at := time.Now().UTC().Truncate(time.Second)
	time.Sleep(2 * time.Second)
	contentsB := markedContents(3<<20+45, "mkcontents B")
	docB := cc.uploadBytes(t, caMatter.ID, "MKDOCRAW-B.pdf", contentsB)
	srv.Stop(t) // the final sync ships the rest

	t.Run("NothingInTheClear", func(t *testing.T) {
		for _, site := range []struct {
			srv  *s3test.Server
			name string
		}{{s.m, "mirror"}, {s.b, "backup"}} {
			for _, r := range []string{"us", "ca"} {
				hits, n := markerObjects(t, site.srv, s.bucket(site.name, r))
				if n == 0 {
					t.Errorf("%s bucket of %s: no object at all", site.name, r)
				}
				if len(hits) > 0 {
					t.Errorf("%s objects hold identifying text:\n  %s", site.name, strings.Join(hits, "\n  "))
				}
			}
		}
		s.checkCABackupHoldsNoUS(t, ca, us)
	})

	// Lose everything but the keys, the mirror and the backups: the whole
	// data directory, and P comes back empty.
	if err := os.RemoveAll(s.dataDir); err != nil {
		t.Fatal(err)
	}
	if err := s.p.RestartEmpty(); err != nil {
		t.Fatal(err)
	}

	// The runbook, "Losing the primary site": restore each region into its
	// cell directory, serve, scrub.
	for _, f := range []e2eFirm{ca, us} {
		sum := restoreJSON(t, s.dataDir, cfg, f.Region, filepath.Join(s.dataDir, "regions", f.Region))
		if len(sum.Firms) != 1 || sum.Firms[0].Tenant != f.ID {
			t.Fatalf("restore %s = %+v, want its own firm only", f.Region, sum)
		}
		if got := sum.Firms[0]; got.AuditVerified == 0 || got.AuditError != "" || got.AuditBehind != "" || len(got.MissingBlobs) != 0 {
			t.Errorf("restore %s: %+v, want a verified log, nothing behind, no blob missing", f.Region, got)
		}
		if !sum.OK {
			t.Errorf("restore %s: not OK: %+v", f.Region, sum)
		}
	}
	srv = startServer(t, s.dataDir, cfg, s.env...)
	for _, r := range []string{"ca", "us"} {
		rep := scrubJSON(t, s.dataDir, cfg, r, s.env...)
		if rep.Copied == 0 || rep.Lost != 0 || rep.Failed != 0 {
			t.Errorf("scrub %s after losing P: %+v, want copies, nothing lost or failed", r, rep)
		}
	}
	if got, want := len(objects(t, s.p, s.bucket("docs", "ca"))), len(objects(t, s.m, s.bucket("mirror", "ca"))); got != want || got == 0 {
		t.Errorf("objects on P after scrub: got %d, want %d (those of M)", got, want)
	}
	cc, uc = ca.signIn(t, srv), us.signIn(t, srv)
	for _, d := range []struct {
		c    *client
		id   string
		want []byte
	}{{cc, docA.ID, contentsA}, {cc, docB.ID, contentsB}, {uc, docU.ID, contentsU}} {
		if got := d.c.downloadBytes(t, d.id); !bytes.Equal(got, d.want) {
			t.Errorf("download of %s after restore: got %d bytes, want %d identical bytes", d.id, len(got), len(d.want))
		}
	}
	verifyExport(t, cc, s.dataDir, cfg, ca)
	verifyExport(t, uc, s.dataDir, cfg, us)
	for _, r := range []string{"ca", "us"} {
		if rep := scrubJSON(t, s.dataDir, cfg, r, s.env...); rep.Checked == 0 || rep.Copied+rep.Repaired+rep.Lost+rep.Deleted+rep.Failed != 0 {
			t.Errorf("second scrub %s: %+v, want everything checked and nothing to do", r, rep)
		}
	}
	srv.Stop(t)

	t.Run("PointInTime", func(t *testing.T) {
		pit := filepath.Join(s.outside, "pit")
		sum := restoreJSON(t, pit, cfg, "ca", filepath.Join(pit, "regions", "ca"), "--at", at.Format(time.RFC3339))
		if len(sum.Firms) != 1 || sum.Firms[0].Documents != 1 {
			t.Fatalf("restore ca at %s = %+v, want one firm with one document", at, sum)
		}
		// B's upload was anchored after at: the log restored is behind, a
		// gap the runbook puts on the record before serving it.
		if sum.Firms[0].AuditBehind == "" || sum.Firms[0].AuditVerified == 0 {
			t.Errorf("restore ca at %s: audit log %+v, want verified and behind its anchor", at, sum.Firms[0])
		}
		if out, errOut, err := cli(t, pit, "audit", "accept-rollback", "--tenant", ca.ID, "--config", cfg); err != nil {
			t.Fatalf("accept-rollback: %v\n%s%s", err, out, errOut)
		}
		// Served without backups, so that the old state does not ship over
		// the region's backup.
		srv := startServer(t, pit, s.config(t, "pit.yaml", false), s.env...)
		c := ca.signIn(t, srv)
		var list []docJSON
		c.json(t, "GET", "/api/v1/matters/"+caMatter.ID+"/documents", nil, http.StatusOK, &list)
		if len(list) != 1 || list[0].ID != docA.ID {
			t.Fatalf("documents as of %s: got %+v, want exactly A (%s)", at, list, docA.ID)
		}
		if got := c.downloadBytes(t, docA.ID); !bytes.Equal(got, contentsA) {
			t.Errorf("download of A as of %s: got %d bytes, want %d identical bytes", at, len(got), len(contentsA))
		}
		srv.Stop(t)
	})
}

// checkCABackupHoldsNoUS decrypts every object of the ca backup with the
// ca backup key and looks for the us firm's id: none holds it, while the
// ca firm's id is found (the scan sees the plaintext).
func (s *threeSites) checkCABackupHoldsNoUS(t *testing.T, ca, us e2eFirm) {
	t.Helper()
	// Copy the bucket's objects under the region's prefix to a directory,
	// laid out as an fs backup, and decrypt them from there.
	dir := t.TempDir()
	for k, b := range objects(t, s.b, s.bucket("backup", "ca")) {
		rel, ok := strings.CutPrefix(k, "cells/ca/")
		if !ok {
			t.Errorf("ca backup object %s is not under cells/ca/", k)
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mk, err := loadMasterKey(filepath.Join(s.keysDir, "ca-master.json"))
	if err != nil {
		t.Fatal(err)
	}
	bkey, err := keys.LoadBackupKey(context.Background(), filepath.Join(s.keysDir, "ca-backup.json"), "ca", mk)
	if err != nil {
		t.Fatal(err)
	}
	store, err := vaultfs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	own, n := 0, 0
	for _, o := range backupObjects(t, dir) {
		n++
		plain := bytes.ToLower(ltxPlain(t, store, bkey, o))
		if bytes.Contains(plain, []byte(strings.ToLower(us.ID))) {
			t.Errorf("ca backup object %s holds the us firm's id", o.key)
		}
		if bytes.Contains(plain, []byte(strings.ToLower(ca.ID))) {
			own++
		}
	}
	if n == 0 || own == 0 {
		t.Errorf("ca backup: %d objects, %d holding the ca firm's id; want some of each (the scan reads plaintext)", n, own)
	}
}

// TestMirror_ServeWithPrimaryDown starts serve while the primary MinIO of
// a mirrored region is down (killed before the start): serve starts and
// logs the site at error level, documents download from the mirror,
// /readyz names the region's primary site unavailable, uploads (both
// copies required) answer 503 unavailable; once the primary is back
// (empty, on the same port) it is used again without a restart: uploads
// work, and scrub refills it from the mirror.
func TestMirror_ServeWithPrimaryDown(t *testing.T) {
	m := newMirroredMinIO(t)
	cfg := m.config(t, true)
	srv, c, _, matter := mirrorFirm(t, m.dataDir, cfg, m.env...)
	contents := markedContents(3<<20+11, "mkcontents D")
	doc := c.uploadBytes(t, matter, "MKDOCRAW-D.pdf", contents)
	srv.Stop(t)
	if err := m.primary.Kill(); err != nil {
		t.Fatal(err)
	}

	srv = startServer(t, m.dataDir, cfg, m.env...)
	if log := srv.Stderr.String(); !strings.Contains(log, `"level":"error"`) || !strings.Contains(log, "unreachable at start") {
		t.Errorf("server log: no error naming the unreachable site:\n%s", log)
	}
	c.base = srv.URL // the session outlives the restart
	if got := c.downloadBytes(t, doc.ID); !bytes.Equal(got, contents) {
		t.Errorf("download with the primary down: got %d bytes, want %d identical bytes", len(got), len(contents))
	}
	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	newClient(srv.URL).json(t, "GET", "/readyz", nil, http.StatusServiceUnavailable, &ready)
	if ready.Checks["region:us"] != "unavailable" || ready.Checks["mirror:us"] != "ok" {
		t.Errorf("/readyz with the primary down: %+v, want region:us unavailable, mirror:us ok", ready.Checks)
	}
	if code, _, ecode := c.tryUpload(t, matter, "during.pdf", []byte("x")); code != http.StatusServiceUnavailable || ecode != "unavailable" {
		t.Errorf("upload with the primary down: %d %s, want 503 unavailable", code, ecode)
	}

	// The site comes back, empty: the server opens it in the background.
	if err := m.primary.RestartEmpty(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "upload after the primary came back", func() bool {
		code, _, _ := c.tryUpload(t, matter, "after.pdf", []byte("contents mkcontents after"))
		return code == http.StatusCreated
	})
	if !strings.Contains(srv.Stderr.String(), "reachable again") {
		t.Errorf("server log: the site's return is not logged")
	}
	newClient(srv.URL).json(t, "GET", "/readyz", nil, http.StatusOK, &ready)
	rep := scrubJSON(t, m.dataDir, cfg, "us", m.env...)
	if rep.Copied == 0 || rep.Lost != 0 || rep.Failed != 0 {
		t.Errorf("scrub after the primary came back: %+v, want copies, nothing lost or failed", rep)
	}
	if got, want := len(objects(t, m.primary, m.pBucket)), len(objects(t, m.mirror, m.mBucket)); got != want {
		t.Errorf("objects on the primary after scrub: got %d, want %d (the mirror's)", got, want)
	}
	if got := c.downloadBytes(t, doc.ID); !bytes.Equal(got, contents) {
		t.Errorf("download after the primary came back: got %d bytes, want %d identical bytes", len(got), len(contents))
	}
}
