package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/move"
	"github.com/casevault/casevault/residency"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

// auditMoveBuilt reports whether the audit log's side of a move
// (audit/handover.go) is built; until it is, the tests that carry a log
// over skip.
func auditMoveBuilt() bool {
	skey, _, err := note.GenerateKey(rand.Reader, "probe")
	if err != nil {
		return false
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		return false
	}
	_, err = audit.MoveStatement("ten_probe", "us", "ca", time.Now(), s, s)
	return err == nil || !strings.Contains(err.Error(), "not built yet")
}

func needAuditMove(t *testing.T) {
	t.Helper()
	if !auditMoveBuilt() {
		t.Skip("needs the audit log's side of a move (audit/handover.go, issue 13 part M1)")
	}
}

// moveEnv is a data directory with a us firm to move (users, matters,
// documents, a grant and a wall, named with marker strings) and a ca firm
// that stays, under a config that keeps each region's keys in its own
// directory, so that the us key directory can be scanned on its own.
type moveEnv struct {
	root, dataDir, config string
	firm                  moveFirm
	other                 moveFirm
}

type moveFirm struct {
	ID        string
	Emails    []string
	Passwords map[string]string
	Docs      map[string]moveDoc // document id → what was uploaded
	Markers   []string
}

type moveDoc struct {
	Size int64
	Sum  [32]byte
}

func (e *moveEnv) keyDir(region string) string { return filepath.Join(e.root, "keys-"+region) }

// newMoveEnv makes the env on fs stores; size returns the size of
// document i of n.
func newMoveEnv(t testing.TB, n int, size func(i int) int64) *moveEnv {
	t.Helper()
	return newMoveEnvWith(t, n, size, func(string) string { return "    type: fs\n" })
}

// newMoveEnvWith makes the env with each region's store configured by
// store (YAML lines of the region, indented by four spaces).
func newMoveEnvWith(t testing.TB, n int, size func(i int) int64, store func(region string) string) *moveEnv {
	t.Helper()
	root := t.TempDir()
	e := &moveEnv{root: root, dataDir: filepath.Join(root, "data"), config: filepath.Join(root, "casevault.yaml")}
	var yml strings.Builder
	// The owner downloads every document at once, past the default
	// per-user rate.
	yml.WriteString("rate_limit: {per_user_per_second: 1000, per_user_burst: 1000}\n")
	yml.WriteString("regions:\n")
	for _, r := range []string{"us", "ca"} {
		fmt.Fprintf(&yml, "  %s:\n%s    master_key: {type: file, path: %s}\n", r, store(r), filepath.Join(e.keyDir(r), r+"-master.json"))
	}
	if err := os.WriteFile(e.config, []byte(yml.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	m := e.open(t)
	defer m.Close()
	e.firm = makeMoveFirm(t, m, "us", "oak", n, size)
	e.other = makeMoveFirm(t, m, "ca", "maple", 2, func(int) int64 { return 5000 })
	return e
}

// open opens the program on the env, as an operator command does.
func (e *moveEnv) open(t testing.TB) *Main {
	t.Helper()
	cf := &commonFlags{configFile: e.config, dataDir: e.dataDir}
	m, err := cf.open(context.Background(), io.Discard)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	m.Service.PasswordParams = vaulttest.FastPasswords
	return m
}

func makeMoveFirm(t testing.TB, m *Main, region, tag string, n int, size func(int) int64) moveFirm {
	t.Helper()
	ctx := context.Background()
	mark := "MOVEMARK" + strings.ToUpper(tag)
	f := moveFirm{Passwords: map[string]string{}, Docs: map[string]moveDoc{}}
	ownerEmail := "owner@" + tag + "-move.example"
	ten, owner, pw, err := m.Service.CreateTenant(ctx, vault.NewTenant{Name: mark + " LLP", Region: region,
		Owner: vault.NewUser{Email: ownerEmail, Name: mark + " Owner"}})
	if err != nil {
		t.Fatal(err)
	}
	f.ID = ten.ID
	f.Emails, f.Passwords[ownerEmail] = append(f.Emails, ownerEmail), pw
	lawyerEmail := "lawyer@" + tag + "-move.example"
	lawyer, lpw, err := m.Service.AddUser(ctx, ten.ID, vault.NewUser{Email: lawyerEmail, Name: mark + " Lawyer", Role: vault.RoleLawyer})
	if err != nil {
		t.Fatal(err)
	}
	f.Emails, f.Passwords[lawyerEmail] = append(f.Emails, lawyerEmail), lpw
	matter, err := m.Service.CreateMatter(ctx, owner, mark+" Matter", mark+" Client")
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		sz := size(i)
		h := sha256.New()
		d, err := m.Service.PutDocument(ctx, owner, vault.NewDocument{MatterID: matter.ID, Name: fmt.Sprintf("%s %d.pdf", mark, i)},
			io.TeeReader(vaulttest.NewGen(byte(i), sz), h), sz)
		if err != nil {
			t.Fatalf("PutDocument %d: %v", i, err)
		}
		var doc moveDoc
		doc.Size = sz
		copy(doc.Sum[:], h.Sum(nil))
		f.Docs[d.ID] = doc
		if i == 0 {
			if _, _, err := m.Service.CreateGrant(ctx, owner, vault.NewGrant{UserID: lawyer.ID, DocumentID: d.ID, Permissions: []vault.Permission{vault.PermRead}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	walled, err := m.Service.CreateMatter(ctx, owner, mark+" Walled", mark+" Walled Client")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Service.AddWall(ctx, owner, walled.ID, lawyer.ID); err != nil {
		t.Fatal(err)
	}
	f.Markers = []string{mark, ten.ID, hex.EncodeToString([]byte(ten.ID)), ownerEmail, lawyerEmail}
	return f
}

// copyEnv returns a copy of e in a new directory (the config rewritten for
// its key paths), so that each crash variant starts from the same firm.
func (e *moveEnv) copyEnv(t testing.TB) *moveEnv {
	t.Helper()
	c := *e
	c.root = t.TempDir()
	c.dataDir, c.config = filepath.Join(c.root, "data"), filepath.Join(c.root, "casevault.yaml")
	err := filepath.WalkDir(e.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(e.root, p)
		to := filepath.Join(c.root, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if rel == "casevault.yaml" {
			b = bytes.ReplaceAll(b, []byte(e.root), []byte(c.root))
		}
		return os.WriteFile(to, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

// checkServed opens the program on the env and checks that firm f is
// served from region: the directory names it, every user signs in, the
// owner lists every document and downloads each with its SHA-256, and
// each email finds one account.
func (e *moveEnv) checkServed(t testing.TB, f moveFirm, region string) {
	t.Helper()
	ctx := context.Background()
	m := e.open(t)
	defer m.Close()
	if got, err := m.DB.Region(ctx, f.ID); err != nil || got != region {
		t.Fatalf("region of %s = %q, %v; want %q", f.ID, got, err, region)
	}
	var owner *vault.User
	for _, email := range f.Emails {
		secret, _, err := m.Service.Login(ctx, email, f.Passwords[email], "127.0.0.1")
		if err != nil {
			t.Fatalf("sign-in %s: %v", email, err)
		}
		u, _, err := m.Service.Authenticate(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		if u.Role == vault.RoleOwner {
			owner = u
		}
	}
	docs, err := m.Service.Documents(ctx, owner, "", false)
	if err != nil || len(docs) != len(f.Docs) {
		t.Fatalf("documents: %d, %v; want %d", len(docs), err, len(f.Docs))
	}
	for id, want := range f.Docs {
		c, err := m.Service.OpenVersion(ctx, owner, id, 0, vault.PermDownload)
		if err != nil {
			t.Fatalf("open %s: %v", id, err)
		}
		rc, err := c.Range(ctx, 0, -1)
		if err != nil {
			t.Fatalf("download %s: %v", id, err)
		}
		h := sha256.New()
		n, err := io.Copy(h, rc)
		rc.Close()
		if err != nil || n != want.Size || !bytes.Equal(h.Sum(nil), want.Sum[:]) {
			t.Fatalf("download %s: %d bytes, %v; want %d bytes with the uploaded SHA-256", id, n, err, want.Size)
		}
	}
}

// checkGone scans every file of the us cell directory (databases, WAL
// files, blobs) and the us key directory for the firm's id (plain and as
// the anchors name it), its users' emails and its marker strings, in
// contents and in names.
func (e *moveEnv) checkGone(t testing.TB, f moveFirm, region string) {
	t.Helper()
	m := NewMain()
	if err := m.Config.LoadFile(e.config); err != nil {
		t.Fatal(err)
	}
	m.Config.DataDir = e.dataDir
	for _, dir := range []string{m.Config.CellDir(region), e.keyDir(region)} {
		read := 0
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			for _, mk := range f.Markers {
				if strings.Contains(strings.ToLower(d.Name()), strings.ToLower(mk)) {
					t.Errorf("%s: its name holds %q", p, mk)
				}
			}
			if d.IsDir() {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			read += len(b)
			low := bytes.ToLower(b)
			for _, mk := range f.Markers {
				if bytes.Contains(low, []byte(strings.ToLower(mk))) {
					t.Errorf("%s holds %q", p, mk)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if read == 0 {
			t.Fatalf("read nothing under %s", dir)
		}
	}
	if hits, _ := vaulttest.MarkersInDatabase(t, m.Config.CellDatabasePath(region), f.Markers...); len(hits) > 0 {
		t.Errorf("cell %s database: %v", region, hits)
	}
}

// moveCLI runs `casevault tenant move --json` on the env in a child
// process and returns its exit code and its output, stdout first.
func (e *moveEnv) moveCLI(t testing.TB, env ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary(t), "tenant", "move", "--tenant", e.firm.ID, "--to", "ca", "--json",
		"--config", e.config, "--data-dir", e.dataDir)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := stdout.String() + stderr.String()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out
	case errors.As(err, &ee):
		return ee.ExitCode(), out
	}
	t.Fatalf("tenant move: %v\n%s", err, out)
	return 0, ""
}

// TestTenantMove_CrashBeforeHandover kills the move after each step before
// the audit handover in turn: the firm is served from us only, and so it is
// after a rerun, which (until the audit side is built) stops at the
// handover, or, once it is, finishes in ca.
func TestTenantMove_CrashBeforeHandover(t *testing.T) {
	base := newMoveEnv(t, 4, func(i int) int64 { return int64(i) * 40_000 })
	for _, step := range []move.Step{move.StepPrepare, move.StepCopyBlobs, move.StepFreeze, move.StepCopyNewBlobs} {
		t.Run(string(step), func(t *testing.T) {
			e := base.copyEnv(t)
			if code, out := e.moveCLI(t, moveCrashEnv+"="+string(step)); code != 3 {
				t.Fatalf("crash after %s: exit %d, want 3\n%s", step, code, out)
			}
			e.checkServed(t, e.firm, "us")
			e.checkServed(t, e.other, "ca")
			code, out := e.moveCLI(t)
			if !auditMoveBuilt() {
				if code != 1 || !strings.Contains(out, "handover") {
					t.Fatalf("rerun without the audit side: exit %d, want 1 at the handover\n%s", code, out)
				}
				e.checkServed(t, e.firm, "us")
				return
			}
			if code != 0 {
				t.Fatalf("rerun: exit %d\n%s", code, out)
			}
			e.checkServed(t, e.firm, "ca")
			e.checkGone(t, e.firm, "us")
		})
	}
}

// TestTenantMove_Crash kills the move after every step in turn and reruns
// it: in between, the firm is served from us before the switch and from ca
// after it; after the rerun it is served from ca, the us cell and key
// directory hold nothing of it, and its audit log exported afterwards
// verifies with both regions' keys.
func TestTenantMove_Crash(t *testing.T) {
	needAuditMove(t)
	base := newMoveEnv(t, 3, func(i int) int64 { return int64(i) * 70_000 })
	for _, step := range move.Steps[:len(move.Steps)-1] {
		t.Run(string(step), func(t *testing.T) {
			e := base.copyEnv(t)
			if code, out := e.moveCLI(t, moveCrashEnv+"="+string(step)); code != 3 {
				t.Fatalf("crash after %s: exit %d, want 3\n%s", step, code, out)
			}
			// Readable in exactly one region: the old one until the
			// switch (from the handover on its log takes the firm's events
			// unsigned, and the rerun carries them over), the new one from
			// it. checkServed signs in and downloads: events the rerun
			// must carry.
			if slices.Index(move.Steps, step) < slices.Index(move.Steps, move.StepSwitch) {
				e.checkServed(t, e.firm, "us")
			} else {
				e.checkServed(t, e.firm, "ca")
			}
			if code, out := e.moveCLI(t); code != 0 {
				t.Fatalf("rerun: exit %d\n%s", code, out)
			}
			e.checkServed(t, e.firm, "ca")
			e.checkServed(t, e.other, "ca")
			e.checkGone(t, e.firm, "us")
			e.verifyAudit(t)
		})
	}
}

// verifyAudit exports the moved firm's audit bundle from a running server
// and verifies it offline with both regions' verifier keys; with
// downloads set, every user signs in over HTTP first and the owner
// downloads every document, SHA-256 compared.
func (e *moveEnv) verifyAudit(t *testing.T, downloads ...bool) {
	t.Helper()
	m := e.open(t)
	keys := []string{m.AuditKeys["us"], m.AuditKeys["ca"]}
	m.Close()
	srv := startServer(t, e.dataDir, e.config)
	owner := precellsLogin(t, srv.URL, e.firm.Emails[0], e.firm.Passwords[e.firm.Emails[0]])
	if len(downloads) > 0 && downloads[0] {
		for _, email := range e.firm.Emails[1:] {
			precellsLogin(t, srv.URL, email, e.firm.Passwords[email])
		}
		for id, want := range e.firm.Docs {
			var d docJSON
			owner.json(t, "GET", "/api/v1/documents/"+id, nil, 200, &d)
			if d.Region != "ca" {
				t.Fatalf("document %s region = %q, want ca", id, d.Region)
			}
			resp := owner.request(t, "GET", "/api/v1/documents/"+id+"/download", nil, nil)
			h := sha256.New()
			n, err := io.Copy(h, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || err != nil || n != want.Size || !bytes.Equal(h.Sum(nil), want.Sum[:]) {
				t.Fatalf("download %s = %d, %d bytes, %v; want 200 with the uploaded %d bytes", id, resp.StatusCode, n, err, want.Size)
			}
		}
	}
	bundle := filepath.Join(t.TempDir(), "bundle.jsonl")
	if err := os.WriteFile(bundle, precellsGet(t, owner, "/api/v1/audit/export?format=jsonl", 200), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary(t), "audit", "verify", "--key", keys[0], "--key", keys[1], bundle).CombinedOutput()
	if err != nil {
		t.Fatalf("audit verify --key US --key CA: %v\n%s", err, out)
	}
	srv.Stop(t)
}

// TestCLI_TenantMoveUsage checks the command's flags and its answers
// about firms and regions it cannot move.
func TestCLI_TenantMoveUsage(t *testing.T) {
	dir := newDataDir(t)
	if _, _, err := cli(t, dir, "tenant", "move", "--tenant", "ten_x"); !errors.Is(err, errUsage) {
		t.Fatalf("tenant move without --to: %v, want a usage error", err)
	}
	if _, _, err := cli(t, dir, "tenant", "move", "--tenant", vault.NewID(vault.PrefixTenant), "--to", "ca"); !strings.Contains(fmt.Sprint(err), "not found") {
		t.Fatalf("tenant move of an unknown firm: %v, want not found", err)
	}
	out, _, err := cli(t, dir, "tenant", "create", "--name", "Oak LLP", "--region", "us", "--owner-email", "o@oak.example", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		TenantID string `json:"tenant_id"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err)
	}
	id := created.TenantID
	if _, _, err := cli(t, dir, "tenant", "move", "--tenant", id, "--to", "eu"); err == nil || !strings.Contains(err.Error(), "not served") {
		t.Fatalf("tenant move to an unserved region: %v", err)
	}
	out, _, err = cli(t, dir, "tenant", "move", "--tenant", id, "--to", "us")
	if err != nil || !strings.Contains(out, "already") {
		t.Fatalf("tenant move to its own region = %q, %v", out, err)
	}
}

// TestTenantMove_Final moves a us firm of 200 documents, one of 1 GiB
// (16 MiB with -short), to ca with the command: every document downloads
// byte-identical from ca over HTTP, every user signs in, the us cell and
// key directory hold nothing of the firm, and its audit log exported
// afterwards verifies offline with both regions' keys.
func TestTenantMove_Final(t *testing.T) {
	needAuditMove(t)
	big := int64(1 << 30)
	if testing.Short() {
		big = 16 << 20
	}
	e := newMoveEnv(t, 200, func(i int) int64 {
		if i == 0 {
			return big
		}
		return int64(i%9) * 7000
	})
	code, out := e.moveCLI(t)
	if code != 0 {
		t.Fatalf("tenant move: exit %d\n%s", code, out)
	}
	var res move.Result
	if err := json.NewDecoder(strings.NewReader(out)).Decode(&res); err != nil {
		t.Fatalf("tenant move --json printed %q: %v", out, err)
	}
	if res.Step != move.StepDone || res.Blobs.Copied != 200 {
		t.Fatalf("tenant move = %+v, want done with 200 objects copied", res)
	}
	e.checkGone(t, e.firm, "us")
	e.verifyAudit(t, true)
	e.checkResidencyReport(t, e.firm, "us", "ca")
}

// checkResidencyReport makes the firm's residency report with `casevault
// tenant residency` and checks it offline with the new region's key alone:
// it states the new region, no hit in the old cell, and the move.
func (e *moveEnv) checkResidencyReport(t *testing.T, f moveFirm, from, to string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"tenant", "residency", "--tenant", f.ID, "--config", e.config, "--data-dir", e.dataDir}, &out, &errOut); err != nil {
		t.Fatalf("tenant residency: %v\n%s", err, errOut.String())
	}
	file := filepath.Join(t.TempDir(), "residency.txt")
	if err := os.WriteFile(file, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	key := auditKeysJSON(t, e.dataDir, "--region", to, "--config", e.config)[0].VerifierKey
	var vout, verr bytes.Buffer
	if err := run(context.Background(), []string{"residency", "verify", "--key", key, file}, &vout, &verr); err != nil {
		t.Fatalf("residency verify: %v\n%s\n%s", err, verr.String(), out.String())
	}
	r, err := residency.Verify(out.Bytes(), []string{key})
	if err != nil {
		t.Fatal(err)
	}
	if r.Region != to || len(r.Moves) != 1 || r.Moves[0].From != from || r.Moves[0].To != to || r.Moves[0].HandoverSeq < 1 {
		t.Errorf("report: region %s, moves %+v; want %s and one move %s→%s", r.Region, r.Moves, to, from, to)
	}
}
