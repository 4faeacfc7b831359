package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
	vaultfs "github.com/casevault/casevault/vault/fs"
	"github.com/casevault/casevault/vault/vaulttest"
)

// shredFirm is what the test knows of the firm to shred before it goes.
type shredFirm struct {
	moveFirm
	keysets  vault.TenantKeysets
	keyIDs   []vault.KeysetID
	users    map[vault.Role]string // role → email
	docID    string
	verifier string // the us audit verifier key
	caKey    string
}

// newShredEnv is a moveEnv with backups every second, an admin and an
// auditor in the us firm to shred, and a second us firm that stays.
func newShredEnv(t *testing.T) (*moveEnv, *shredFirm, moveFirm) {
	t.Helper()
	e := newMoveEnv(t, 3, func(i int) int64 { return 3000 + int64(i)*70_000 })
	cfg, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg = bytes.ReplaceAll(cfg, []byte("-master.json}\n"), []byte("-master.json}\n    backup: {interval: 1s}\n"))
	if err := os.WriteFile(e.config, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m := e.open(t)
	defer m.Close()
	stays := makeMoveFirm(t, m, "us", "birch", 2, func(int) int64 { return 4000 })
	f := &shredFirm{moveFirm: e.firm, users: map[vault.Role]string{vault.RoleOwner: e.firm.Emails[0], vault.RoleLawyer: e.firm.Emails[1]}}
	for _, r := range []vault.Role{vault.RoleAdmin, vault.RoleAuditor} {
		email := string(r) + "@oak-move.example"
		_, pw, err := m.Service.AddUser(ctx, f.ID, vault.NewUser{Email: email, Name: "MOVEMARKOAK " + string(r), Role: r})
		if err != nil {
			t.Fatal(err)
		}
		f.users[r], f.Passwords[email] = email, pw
		f.Emails = append(f.Emails, email)
		f.Markers = append(f.Markers, email)
	}
	e.firm = f.moveFirm
	cell, err := m.DB.CellOf("us")
	if err != nil {
		t.Fatal(err)
	}
	if _, f.keysets, err = cell.TenantKeysets(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if f.keyIDs, err = m.Keys.KeysetIDs(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	for id := range f.Docs {
		f.docID = id
	}
	f.verifier, f.caKey = m.AuditKeys["us"], m.AuditKeys["ca"]
	return e, f, stays
}

// TestTenantShred_Server shreds a us firm through a running server's
// operator API, after its owner requested it over HTTP, and attacks the
// result from outside: the files, the bundle, the certificate, HTTP, the
// backup.
func TestTenantShred_Server(t *testing.T) {
	needAuditMove(t)
	t.Setenv("AWS_CA_BUNDLE", "")
	e, f, stays := newShredEnv(t)
	srv := startServer(t, e.dataDir, e.config)
	defer srv.Stop(t)
	backupDir := filepath.Join(e.dataDir, "backups", "us")
	waitFor(t, "a us backup", func() bool { return len(backupObjects(t, backupDir)) > 0 })

	login := func(email string) *client { return precellsLogin(t, srv.URL, email, f.Passwords[email]) }
	owner := login(f.users[vault.RoleOwner])
	other := precellsLogin(t, srv.URL, stays.Emails[0], stays.Passwords[stays.Emails[0]])
	name := "MOVEMARKOAK LLP"

	// The permission matrix of the request.
	body := map[string]string{"reason": "MOVEMARKOAK engagement ended", "confirm": name}
	for _, r := range []vault.Role{vault.RoleAdmin, vault.RoleLawyer, vault.RoleAuditor} {
		login(f.users[r]).json(t, "POST", "/api/v1/shred-request", body, http.StatusForbidden, nil)
	}
	owner.json(t, "POST", "/api/v1/shred-request", map[string]string{"reason": "x", "confirm": "Another LLP"}, http.StatusBadRequest, nil)
	owner.json(t, "POST", "/api/v1/shred-request", map[string]string{"confirm": name}, http.StatusBadRequest, nil)
	owner.json(t, "GET", "/api/v1/shred-request", nil, http.StatusNotFound, nil)
	var req struct{ ID, Reason string }
	owner.json(t, "POST", "/api/v1/shred-request", body, http.StatusCreated, &req)
	owner.json(t, "POST", "/api/v1/shred-request", body, http.StatusConflict, nil)
	for _, r := range []vault.Role{vault.RoleOwner, vault.RoleAdmin, vault.RoleAuditor} {
		var got struct{ ID, Reason string }
		login(f.users[r]).json(t, "GET", "/api/v1/shred-request", nil, http.StatusOK, &got)
		if got.ID != req.ID || got.Reason != body["reason"] {
			t.Errorf("%s: GET shred-request = %+v, want %s with its reason", r, got, req.ID)
		}
	}
	login(f.users[vault.RoleLawyer]).json(t, "GET", "/api/v1/shred-request", nil, http.StatusForbidden, nil)
	login(f.users[vault.RoleAdmin]).json(t, "DELETE", "/api/v1/shred-request/"+req.ID, nil, http.StatusForbidden, nil)
	other.json(t, "DELETE", "/api/v1/shred-request/"+req.ID, nil, http.StatusNotFound, nil)
	other.json(t, "GET", "/api/v1/shred-request", nil, http.StatusNotFound, nil)
	// Cancelled, then requested again.
	owner.json(t, "DELETE", "/api/v1/shred-request/"+req.ID, nil, http.StatusNoContent, nil)
	owner.json(t, "POST", "/api/v1/shred-request", body, http.StatusCreated, &req)

	// The operator's refusals: no request (the firm that stays), a wrong
	// name, neither --bundle nor --no-bundle.
	dir := t.TempDir()
	bundle, cert := filepath.Join(dir, "final.bundle"), filepath.Join(dir, "shred.cert")
	shredCLI := func(tenant, confirm string, extra ...string) (string, error) {
		args := append([]string{"tenant", "shred", "--tenant", tenant, "--confirm", confirm, "--out", cert, "--config", e.config}, extra...)
		out, errOut, err := cli(t, e.dataDir, args...)
		return out + errOut, err
	}
	if out, err := shredCLI(stays.ID, "MOVEMARKBIRCH LLP", "--no-bundle"); err == nil || !strings.Contains(out+err.Error(), "not requested") {
		t.Errorf("shred without a request: %v\n%s", err, out)
	}
	if out, err := shredCLI(f.ID, "MOVEMARKOAK", "--bundle", bundle); err == nil || !strings.Contains(out+err.Error(), "firm's name") {
		t.Errorf("shred with a wrong name: %v\n%s", err, out)
	}
	if _, err := shredCLI(f.ID, name); err == nil {
		t.Error("shred with neither --bundle nor --no-bundle: got no error")
	}
	if _, err := os.Stat(bundle); err == nil {
		t.Fatal("a refused shred wrote the bundle")
	}

	// The reason is sealed in the cell's database.
	if hits, _ := vaulttest.MarkersInDatabase(t, filepath.Join(e.dataDir, "regions", "us", "casevault.db"), body["reason"]); len(hits) > 0 {
		t.Errorf("the shred request's reason is in the cell database in the clear: %v", hits)
	}
	// The scan below finds the wrapped keysets where they are.
	if !fileHolds(t, f.keysets.Document[20:52], filepath.Join(e.dataDir, "regions", "us")) {
		t.Fatal("before the shred, no file of the us cell holds the firm's wrapped keyset: the scan would prove nothing")
	}
	started := time.Now()
	out, err := shredCLI(f.ID, name, "--bundle", bundle)
	if err != nil {
		t.Fatalf("tenant shred: %v\n%s\n%s", err, out, srv.Stderr.String())
	}
	t.Logf("%s", out)

	// Its documents: not_found; its people: signed out for good.
	other.json(t, "GET", "/api/v1/documents/"+f.docID, nil, http.StatusNotFound, nil)
	other.json(t, "GET", "/api/v1/documents/"+f.docID+"/download", nil, http.StatusNotFound, nil)
	owner.json(t, "GET", "/api/v1/documents/"+f.docID, nil, http.StatusUnauthorized, nil)
	c := newClient(srv.URL)
	c.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": f.users[vault.RoleOwner], "password": f.Passwords[f.users[vault.RoleOwner]]}, http.StatusUnauthorized, nil)

	// The firm that stays downloads its documents.
	for id, want := range stays.Docs {
		resp := other.request(t, "GET", "/api/v1/documents/"+id+"/download", nil, nil)
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || int64(b.Len()) != want.Size {
			t.Errorf("download %s of the firm that stays: %d, %d bytes; want 200, %d", id, resp.StatusCode, b.Len(), want.Size)
		}
	}

	// The bundle and the certificate verify offline; tampered, or with
	// another region's key, the certificate does not.
	if out, errOut, err := offline("audit", "verify", "--key", f.verifier, bundle); err != nil || !strings.HasPrefix(out, "OK") {
		t.Errorf("audit verify of the final bundle: %v\n%s%s", err, out, errOut)
	}
	if seq, leaf := lastBundleEvent(t, bundle); !strings.Contains(leaf, `"tenant.shred"`) {
		t.Errorf("the final bundle's last event (seq %d) is not tenant.shred: %s", seq, leaf)
	}
	if out, errOut, err := offline("shred", "verify", "--key", f.verifier, cert); err != nil || !strings.HasPrefix(out, "OK") {
		t.Fatalf("shred verify: %v\n%s%s", err, out, errOut)
	}
	signed, _ := os.ReadFile(cert)
	for _, want := range []string{f.ID, req.ID, `"site": "primary"`, f.keyIDs[0].WrappedSHA256, f.keyIDs[1].WrappedSHA256, `"objects_deleted"`} {
		if !bytes.Contains(signed, []byte(want)) {
			t.Errorf("the certificate does not name %q:\n%s", want, signed)
		}
	}
	for i, ks := range [][]byte{f.keysets.Document, f.keysets.Field} {
		if sum := sha256.Sum256(ks); f.keyIDs[i].WrappedSHA256 != hex.EncodeToString(sum[:]) || len(f.keyIDs[i].KeyIDs) == 0 {
			t.Errorf("keyset %s: %+v is not of the keyset stored", f.keyIDs[i].Purpose, f.keyIDs[i])
		}
	}
	if _, _, err := offline("shred", "verify", "--key", f.caKey, cert); err == nil {
		t.Error("shred verify with the ca key: got no error")
	}
	for _, i := range []int{10, len(signed) / 2, len(signed) - 5} {
		bad := append([]byte(nil), signed...)
		bad[i] ^= 0x01
		p := filepath.Join(dir, "bad.cert")
		os.WriteFile(p, bad, 0o600)
		if _, _, err := offline("shred", "verify", "--key", f.verifier, p); err == nil {
			t.Errorf("shred verify of a certificate with byte %d changed: got no error", i)
		}
	}

	// Nothing of the firm is left, anywhere, with the server running.
	f.Markers = append(f.Markers, strings.ToLower(body["reason"]))
	e.firm = f.moveFirm
	e.checkGone(t, e.firm, "us")
	scanShredded(t, e, f, started)

	srv.Stop(t)
	// The us backup restores the firm that stayed, and not the other.
	s := restoreJSON(t, e.dataDir, e.config, "us", filepath.Join(t.TempDir(), "us"))
	if !s.OK || len(s.Firms) != 1 || s.Firms[0].Tenant != stays.ID || s.Firms[0].Documents != len(stays.Docs) {
		t.Fatalf("restore us after the shred = %+v, want the firm that stayed only, whole", s)
	}
}

// lastBundleEvent returns the seq and decoded leaf of a bundle's last event.
func lastBundleEvent(t *testing.T, path string) (int64, string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var seq int64
	var leaf string
	for _, line := range bytes.Split(b, []byte("\n")) {
		var ev struct {
			Type string
			Seq  int64
			Leaf string
		}
		if json.Unmarshal(line, &ev) != nil || ev.Type != "event" {
			continue
		}
		l, err := base64.StdEncoding.DecodeString(ev.Leaf)
		if err != nil {
			l = []byte(ev.Leaf)
		}
		seq, leaf = ev.Seq, string(l)
	}
	return seq, leaf
}

// fileHolds reports whether a file under dir holds needle.
func fileHolds(t *testing.T, needle []byte, dir string) bool {
	t.Helper()
	found := false
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, needle) {
				found = true
			}
		}
		return nil
	})
	return found
}

// pathsWith counts the paths under dir that hold needle.
func pathsWith(dir, needle string) int {
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(p, needle) {
			n++
		}
		return nil
	})
	return n
}

// offline runs a command that takes no data directory (a verifier).
func offline(args ...string) (string, string, error) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// scanShredded scans every file of the data directory and the key
// directories for the firm's id, markers and wrapped keyset bytes, and
// every object of the us backup, decrypted, for the same.
func scanShredded(t *testing.T, e *moveEnv, f *shredFirm, started time.Time) {
	t.Helper()
	needles := [][]byte{f.keysets.Document[20:52], f.keysets.Field[20:52], []byte(f.ID)}
	for _, mk := range f.Markers {
		needles = append(needles, []byte(strings.ToLower(mk)))
	}
	files := 0
	for _, root := range []string{e.dataDir, e.keyDir("us"), e.keyDir("ca")} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if strings.Contains(d.Name(), f.ID) {
				t.Errorf("%s: its name holds the firm's id", p)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files++
			low := bytes.ToLower(b)
			for i, n := range needles {
				if bytes.Contains(b, n) || (i > 1 && bytes.Contains(low, bytes.ToLower(n))) {
					t.Errorf("%s holds %q", p, shortNeedle(n, i))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 10 {
		t.Fatalf("scanned %d files only", files)
	}
	mk, err := loadMasterKey(filepath.Join(e.keyDir("us"), "us-master.json"))
	if err != nil {
		t.Fatal(err)
	}
	bkey, err := keys.LoadBackupKey(context.Background(), filepath.Join(e.keyDir("us"), "us-backup.json"), "us", mk)
	if err != nil {
		t.Fatal(err)
	}
	backupDir := filepath.Join(e.dataDir, "backups", "us")
	store, err := vaultfs.New(backupDir)
	if err != nil {
		t.Fatal(err)
	}
	objs := backupObjects(t, backupDir)
	if len(objs) == 0 {
		t.Fatal("no us backup object left")
	}
	for _, o := range objs {
		plain := ltxPlain(t, store, bkey, o)
		for i, n := range needles {
			if bytes.Contains(plain, n) || (i > 1 && bytes.Contains(bytes.ToLower(plain), bytes.ToLower(n))) {
				t.Errorf("backup object %s (written %s after the shred began) holds %q", o.key, o.written.Sub(started), shortNeedle(n, i))
			}
		}
	}
}

func shortNeedle(n []byte, i int) string {
	if i < 2 {
		return "wrapped keyset bytes"
	}
	return string(n)
}

// TestTenantShred_InProcessMirror shreds a firm of a region with an fs
// mirror and its backups off, in the command's own process (no server),
// without a bundle: both sites lose every object of the firm, and the
// certificate counts each site and says there was no backup and no bundle.
func TestTenantShred_InProcessMirror(t *testing.T) {
	needAuditMove(t)
	mirrorDir := t.TempDir()
	e := newMoveEnvWith(t, 2, func(i int) int64 { return 9000 + int64(i) }, func(region string) string {
		if region == "us" {
			return "    type: fs\n    backup: off\n    mirror: {type: fs, path: " + mirrorDir + "}\n"
		}
		return "    type: fs\n    backup: off\n"
	})
	ctx := context.Background()
	m := e.open(t)
	secret, _, err := m.Service.Login(ctx, e.firm.Emails[0], e.firm.Passwords[e.firm.Emails[0]], "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	owner, _, err := m.Service.Authenticate(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Service.RequestShred(ctx, owner, "MOVEMARKOAK done", "MOVEMARKOAK LLP"); err != nil {
		t.Fatal(err)
	}
	vkey := m.AuditKeys["us"]
	m.Close()
	if pathsWith(mirrorDir, e.firm.ID) == 0 {
		t.Fatal("before the shred the mirror holds nothing of the firm: the test proves nothing")
	}

	cert := filepath.Join(t.TempDir(), "shred.cert")
	out, errOut, err := cli(t, e.dataDir, "tenant", "shred", "--tenant", e.firm.ID, "--confirm", "MOVEMARKOAK LLP", "--no-bundle",
		"--out", cert, "--json", "--config", e.config)
	if err != nil {
		t.Fatalf("tenant shred: %v\n%s%s", err, out, errOut)
	}
	var c struct {
		Blobs []struct {
			Site    string
			Objects int64
		}
		Backup *struct{}
		Bundle *struct{}
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if len(c.Blobs) != 2 || c.Blobs[0].Objects != 2 || c.Blobs[1].Site != "mirror" || c.Blobs[1].Objects != 2 || c.Backup != nil || c.Bundle != nil {
		t.Errorf("certificate = %s, want 2 objects deleted on each site, no backup, no bundle", out)
	}
	if out, errOut, err := offline("shred", "verify", "--key", vkey, cert); err != nil {
		t.Errorf("shred verify: %v\n%s%s", err, out, errOut)
	}
	e.checkGone(t, e.firm, "us")
	if fileHolds(t, []byte(e.firm.ID), mirrorDir) || fileHolds(t, []byte("MOVEMARKOAK"), mirrorDir) {
		t.Error("the mirror still holds the firm")
	}
	if n := pathsWith(mirrorDir, e.firm.ID); n > 0 {
		t.Errorf("the mirror keeps %d paths naming the firm", n)
	}
	// Run again: the request went with the firm.
	if _, _, err := cli(t, e.dataDir, "tenant", "shred", "--tenant", e.firm.ID, "--confirm", "MOVEMARKOAK LLP", "--no-bundle",
		"--out", cert+"2", "--config", e.config); err == nil {
		t.Error("a second shred of the same firm: got no error")
	}
	e.checkServed(t, e.other, "ca")
}
