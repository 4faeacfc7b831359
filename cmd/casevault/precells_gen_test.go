package main

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// precellsDir is the fixture of a data directory written by the release
// before cells (issue 13): testdata/precells at the repository root.
const precellsDir = "../../testdata/precells"

// precellsManifest describes what the fixture holds (manifest.json).
type precellsManifest struct {
	Commit string         `json:"commit"` // the commit whose code wrote the fixture
	Note   string         `json:"note"`
	Firms  []precellsFirm `json:"firms"`
}

type precellsFirm struct {
	Marker       string             `json:"marker"` // in every name, client and content; lower case in emails
	ID           string             `json:"id"`
	Name         string             `json:"name"`
	Region       string             `json:"region"`
	VerifierKeys []string           `json:"verifier_keys"` // the region's audit verifier keys
	Users        []precellsUser     `json:"users"`
	Matters      []precellsMatter   `json:"matters"`
	Documents    []precellsDocument `json:"documents"`
	Grants       []string           `json:"grants"` // grant ids
	Walls        []precellsWall     `json:"walls"`
	Tokens       []precellsToken    `json:"tokens"`
	AuditEvents  int                `json:"audit_events"` // events in the firm's log when the server stopped
	Checkpoint   precellsCheckpoint `json:"checkpoint"`   // the latest stored checkpoint
}

type precellsUser struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Password string `json:"password"`
}

type precellsMatter struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Client string `json:"client"`
}

type precellsDocument struct {
	ID        string            `json:"id"`
	MatterID  string            `json:"matter_id"`
	Uploader  string            `json:"uploader"`   // the user id that uploaded it, who may read every version
	Name      string            `json:"name"`       // current name
	FirstName string            `json:"first_name"` // name at upload (differs when renamed)
	Trashed   bool              `json:"trashed"`
	Versions  []precellsVersion `json:"versions"`
}

type precellsVersion struct {
	Version int    `json:"version"`
	Size    int    `json:"size"`
	SHA256  string `json:"sha256"` // hex, of the plaintext
}

type precellsWall struct {
	MatterID string `json:"matter_id"`
	UserID   string `json:"user_id"`
}

type precellsToken struct {
	ID     string `json:"id"`
	UserID string `json:"user_id"`
	Name   string `json:"name"`
	Token  string `json:"token"` // the secret, so later tests can use it
}

type precellsCheckpoint struct {
	Size        int    `json:"size"`
	Note        string `json:"note"`
	VerifierKey string `json:"verifier_key"`
}

// TestGeneratePrecellsFixture writes testdata/precells with the real
// binary: two firms (us and ca) driven over the HTTP API. It runs only with
// CASEVAULT_WRITE_FIXTURE=1 and must not be run again once cells exist:
// the fixture stands for the release before them.
func TestGeneratePrecellsFixture(t *testing.T) {
	if os.Getenv("CASEVAULT_WRITE_FIXTURE") != "1" {
		t.Skip("set CASEVAULT_WRITE_FIXTURE=1 to regenerate testdata/precells")
	}
	dataDir := newDataDir(t)
	us, ca := precellsTwoFirms(t, dataDir, "")

	// The events each log holds, counted in a copy of audit.db so that the
	// fixture's files stay as the server left them.
	counts := precellsCountEvents(t, dataDir)
	var keys []struct {
		Region      string `json:"region"`
		VerifierKey string `json:"verifier_key"`
	}
	out, errOut, err := cli(t, dataDir, "audit", "keys", "--json")
	if err != nil || json.Unmarshal([]byte(out), &keys) != nil {
		t.Fatalf("audit keys: %v %s\n%s", err, out, errOut)
	}
	m := precellsManifest{Note: "A data directory written by the release before cells (issue 13); do not regenerate."}
	if b, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(b))
	}
	for _, f := range []*precellsFirm{&us, &ca} {
		f.AuditEvents = counts[f.ID]
		if f.AuditEvents != f.Checkpoint.Size {
			t.Fatalf("firm %s: %d events, latest checkpoint %d", f.Marker, f.AuditEvents, f.Checkpoint.Size)
		}
		for _, k := range keys {
			if k.Region == f.Region {
				f.VerifierKeys = append(f.VerifierKeys, k.VerifierKey)
			}
		}
		m.Firms = append(m.Firms, *f)
	}

	// README.md stays; the rest is written afresh.
	for _, name := range []string{"data", "data-keys", "manifest.json"} {
		if err := os.RemoveAll(filepath.Join(precellsDir, name)); err != nil {
			t.Fatal(err)
		}
	}
	copyDir(t, dataDir, filepath.Join(precellsDir, "data"))
	copyDir(t, dataDir+"-keys", filepath.Join(precellsDir, "data-keys"))
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(precellsDir, "manifest.json"), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// precellsTwoFirms creates, in dataDir, a ca firm (by setup) and a us firm
// (by `tenant create`), each filled by precellsPopulate with its marker in
// every name, and returns them with their ids. The server is stopped when
// it returns.
func precellsTwoFirms(t *testing.T, dataDir, config string, env ...string) (us, ca precellsFirm) {
	srv := startServer(t, dataDir, config, env...)
	ca = precellsFirm{Marker: "MARKER-CA", Name: "MARKER-CA Maple & Pine LLP", Region: "ca"}
	owner := precellsUser{Email: "owner.marker-ca@maple.example", Name: "MARKER-CA Owner", Role: "owner", Password: "MARKER-CA owner password"}
	c := newClient(srv.URL)
	var setup struct {
		Tenant struct{ ID string }
		Owner  struct{ ID string }
	}
	c.json(t, "POST", "/api/v1/setup", map[string]string{"token": srv.SetupToken(t), "firm_name": ca.Name, "region": "ca",
		"owner_email": owner.Email, "owner_name": owner.Name, "owner_password": owner.Password}, http.StatusCreated, &setup)
	ca.ID, owner.ID = setup.Tenant.ID, setup.Owner.ID
	ca.Users = append(ca.Users, owner)
	srv.Stop(t)

	us = precellsFirm{Marker: "MARKER-US", Name: "MARKER-US Hudson & Birch LLP", Region: "us"}
	args := []string{"tenant", "create", "--name", us.Name, "--region", "us",
		"--owner-email", "owner.marker-us@hudson.example", "--owner-name", "MARKER-US Owner", "--json"}
	if config != "" {
		args = append(args, "--config", config)
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	out, errOut, err := cli(t, dataDir, args...)
	if err != nil {
		t.Fatalf("tenant create: %v\n%s", err, errOut)
	}
	var created struct {
		TenantID      string `json:"tenant_id"`
		OwnerID       string `json:"owner_id"`
		OwnerPassword string `json:"owner_password"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err)
	}
	us.ID = created.TenantID
	usOwner := precellsUser{ID: created.OwnerID, Email: "owner.marker-us@hudson.example", Name: "MARKER-US Owner", Role: "owner", Password: "MARKER-US owner password"}
	srv = startServer(t, dataDir, config, env...)
	oc := precellsLogin(t, srv.URL, usOwner.Email, created.OwnerPassword)
	oc.json(t, "POST", "/api/v1/me/password", map[string]string{"old_password": created.OwnerPassword, "new_password": usOwner.Password}, http.StatusNoContent, nil)
	us.Users = append(us.Users, usOwner)

	for _, f := range []*precellsFirm{&us, &ca} {
		precellsPopulate(t, srv.URL, f)
	}
	srv.Stop(t)

	return us, ca
}

// precellsPopulate fills firm f, whose owner is signed up, over the API.
func precellsPopulate(t *testing.T, url string, f *precellsFirm) {
	mk, low := f.Marker, strings.ToLower(f.Marker)
	domain := strings.ToLower(strings.Fields(f.Name)[1]) + ".example"
	owner := precellsLogin(t, url, f.Users[0].Email, f.Users[0].Password)
	users := map[string]*client{"owner": owner}
	for _, u := range []precellsUser{
		{Email: "admin." + low + "@" + domain, Name: mk + " Admin", Role: "admin"},
		{Email: "lawyer1." + low + "@" + domain, Name: mk + " Lawyer One", Role: "lawyer"},
		{Email: "lawyer2." + low + "@" + domain, Name: mk + " Lawyer Two", Role: "lawyer"},
		{Email: "auditor." + low + "@" + domain, Name: mk + " Auditor", Role: "auditor"},
	} {
		u.Password = mk + " password of " + u.Email
		var got struct{ ID string }
		owner.json(t, "POST", "/api/v1/users", map[string]string{"email": u.Email, "name": u.Name, "role": u.Role, "password": "first " + u.Password}, http.StatusCreated, &got)
		u.ID = got.ID
		c := precellsLogin(t, url, u.Email, "first "+u.Password)
		c.json(t, "POST", "/api/v1/me/password", map[string]string{"old_password": "first " + u.Password, "new_password": u.Password}, http.StatusNoContent, nil)
		users[strings.Fields(u.Name)[1]+strings.Join(strings.Fields(u.Name)[2:], "")] = c
		f.Users = append(f.Users, u)
	}
	admin, lawyer1, lawyer2, auditor := users["Admin"], users["LawyerOne"], users["LawyerTwo"], users["Auditor"]

	for _, name := range []string{"A", "B"} {
		mt := precellsMatter{Name: mk + " Matter " + name, Client: mk + " Client " + name}
		var got struct{ ID string }
		admin.json(t, "POST", "/api/v1/matters", map[string]string{"name": mt.Name, "client": mt.Client}, http.StatusCreated, &got)
		mt.ID = got.ID
		f.Matters = append(f.Matters, mt)
	}
	upload := func(by int, matter int, name, content string) *precellsDocument {
		c := map[int]*client{0: owner, 2: lawyer1}[by]
		resp := c.request(t, "POST", "/api/v1/matters/"+f.Matters[matter].ID+"/documents?name="+name,
			strings.NewReader(content), http.Header{"Content-Type": {"text/plain"}})
		d := decodeDoc(t, resp, http.StatusCreated)
		f.Documents = append(f.Documents, precellsDocument{ID: d.ID, MatterID: d.MatterID, Uploader: f.Users[by].ID, Name: name, FirstName: name,
			Versions: []precellsVersion{precellsSum(1, content)}})
		return &f.Documents[len(f.Documents)-1]
	}
	for i := 1; i <= 4; i++ {
		upload(0, 0, fmt.Sprintf("%s-brief-%d.txt", mk, i), fmt.Sprintf("%s brief %d of %s\n", mk, i, f.Name))
	}
	upload(2, 1, mk+"-memo.txt", mk+" memo by lawyer one\n")
	upload(0, 1, mk+"-contract.txt", mk+" contract draft\n")
	docs := f.Documents

	// Document 0 has a second version.
	v2 := mk + " brief 1, second version\n"
	resp := owner.request(t, "PUT", "/api/v1/documents/"+docs[0].ID+"/content", strings.NewReader(v2), http.Header{"Content-Type": {"text/plain"}})
	decodeDoc(t, resp, http.StatusOK)
	f.Documents[0].Versions = append(f.Documents[0].Versions, precellsSum(2, v2))
	// Document 1 is renamed, document 2 trashed.
	renamed := mk + "-brief-2-final.txt"
	owner.json(t, "PATCH", "/api/v1/documents/"+docs[1].ID, map[string]string{"name": renamed}, http.StatusOK, nil)
	f.Documents[1].Name = renamed
	owner.json(t, "DELETE", "/api/v1/documents/"+docs[2].ID, nil, http.StatusOK, nil)
	f.Documents[2].Trashed = true

	// A grant lets lawyer two read and download document 3; a wall bars
	// them from matter B, and their try at its memo is denied.
	var grant struct{ ID string }
	owner.json(t, "POST", "/api/v1/grants", map[string]any{"user_id": f.Users[3].ID, "document_id": docs[3].ID, "permissions": []string{"read", "download"}}, http.StatusCreated, &grant)
	f.Grants = append(f.Grants, grant.ID)
	admin.json(t, "POST", "/api/v1/matters/"+f.Matters[1].ID+"/walls", map[string]string{"user_id": f.Users[3].ID}, http.StatusCreated, nil)
	f.Walls = append(f.Walls, precellsWall{MatterID: f.Matters[1].ID, UserID: f.Users[3].ID})
	precellsGet(t, lawyer2, "/api/v1/documents/"+docs[3].ID+"/download", http.StatusOK)
	precellsGet(t, lawyer2, "/api/v1/documents/"+docs[3].ID+"/content", http.StatusOK)
	precellsGet(t, lawyer2, "/api/v1/documents/"+docs[4].ID+"/download", http.StatusForbidden)
	precellsGet(t, owner, "/api/v1/documents/"+docs[0].ID+"/download?version=1", http.StatusOK)
	precellsGet(t, owner, "/api/v1/documents/"+docs[0].ID+"/content", http.StatusOK)
	precellsGet(t, lawyer1, "/api/v1/documents/"+docs[4].ID+"/download", http.StatusOK)

	var tok precellsToken
	tok.Name = mk + " nightly backup"
	owner.json(t, "POST", "/api/v1/tokens", map[string]string{"name": tok.Name}, http.StatusCreated, &struct {
		Token  *string `json:"token"`
		ID     *string `json:"id"`
		UserID *string `json:"user_id"`
	}{&tok.Token, &tok.ID, &tok.UserID})
	f.Tokens = append(f.Tokens, tok)

	// A stored checkpoint midway, the auditor's reading, and the latest
	// checkpoint last, so that it covers every event of the log.
	auditor.json(t, "GET", "/api/v1/audit/checkpoint", nil, http.StatusOK, nil)
	auditor.json(t, "GET", "/api/v1/audit/events?limit=10", nil, http.StatusOK, nil)
	var cp struct {
		Size        int    `json:"size"`
		Note        string `json:"note"`
		VerifierKey string `json:"verifier_key"`
	}
	owner.json(t, "GET", "/api/v1/audit/checkpoint", nil, http.StatusOK, &cp)
	f.Checkpoint = precellsCheckpoint(cp)
}

// precellsLogin signs email in and returns its client.
func precellsLogin(t *testing.T, url, email, password string) *client {
	t.Helper()
	c := newClient(url)
	var login struct{ Token string }
	c.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": password}, http.StatusOK, &login)
	c.token = login.Token
	return c
}

// precellsGet GETs path, wants status and returns the body.
func precellsGet(t *testing.T, c *client, path string, status int) []byte {
	t.Helper()
	resp := c.request(t, "GET", path, nil, nil)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if resp.StatusCode != status {
		t.Fatalf("GET %s = %d %s, want %d", path, resp.StatusCode, b, status)
	}
	return b
}

func precellsSum(version int, content string) precellsVersion {
	s := sha256.Sum256([]byte(content))
	return precellsVersion{Version: version, Size: len(content), SHA256: hex.EncodeToString(s[:])}
}

// precellsCountEvents counts each tenant's events in a copy of dataDir's
// audit.db (with its WAL, if any).
func precellsCountEvents(t *testing.T, dataDir string) map[string]int {
	t.Helper()
	dir := t.TempDir()
	for _, s := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(filepath.Join(dataDir, "audit.db"+s))
		if err != nil {
			if s != "" && os.IsNotExist(err) {
				continue
			}
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "audit.db"+s), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT tenant_id, count(*) FROM audit_events GROUP BY tenant_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		counts[id] = n
	}
	return counts
}
