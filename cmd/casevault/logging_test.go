package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casevault/casevault/internal/celllog"
)

// cellLog returns the process log of region's cell in dataDir (its default
// cell directory), "" when there is none.
func cellLog(tb testing.TB, dataDir, region string) string {
	tb.Helper()
	b, err := os.ReadFile(celllog.Path(filepath.Join(dataDir, "regions", region)))
	if os.IsNotExist(err) {
		return ""
	} else if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// logFirm is what a firm of TestLogs_StayInCells did: everything of it
// that must not reach the service log or another cell's.
type logFirm struct {
	region, marker string
	firm           firm
	secrets        []string // ids, emails and marker strings of the firm
}

// populate signs the firm's owner in, adds a lawyer, a matter and a
// document, downloads it, has the lawyer denied it, fails a sign-in and
// probes other's document.
func (f *logFirm) populate(t *testing.T, srv *server) (docID string) {
	t.Helper()
	owner := f.firm.signIn(t, srv)
	low := strings.ToLower(f.marker)
	lawyerEmail := "lawyer." + low + "@" + low + ".example"
	var lawyer struct{ ID string }
	owner.json(t, "POST", "/api/v1/users", map[string]string{"email": lawyerEmail, "name": f.marker + " Lawyer", "role": "lawyer", "password": f.marker + " first password"}, http.StatusCreated, &lawyer)
	var matter struct{ ID string }
	owner.json(t, "POST", "/api/v1/matters", map[string]string{"name": f.marker + " Matter", "client": f.marker + " Client"}, http.StatusCreated, &matter)
	resp := owner.request(t, "POST", "/api/v1/matters/"+matter.ID+"/documents?name="+f.marker+"-memo.txt",
		strings.NewReader(f.marker+" memo body\n"), http.Header{"Content-Type": {"text/plain"}})
	doc := decodeDoc(t, resp, http.StatusCreated)
	if got := precellsGet(t, owner, "/api/v1/documents/"+doc.ID+"/download", http.StatusOK); string(got) != f.marker+" memo body\n" {
		t.Errorf("download = %q", got)
	}
	l := precellsLogin(t, srv.URL, lawyerEmail, f.marker+" first password")
	precellsGet(t, l, "/api/v1/documents/"+doc.ID+"/download", http.StatusForbidden)
	// A wrong password for a real account is a failure about the firm.
	c := newClient(srv.URL)
	c.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": f.firm.email, "password": "wrong " + f.marker}, http.StatusUnauthorized, nil)
	var me struct {
		ID string `json:"id"`
	}
	owner.json(t, "GET", "/api/v1/me", nil, http.StatusOK, &me)
	f.secrets = append(f.secrets, f.firm.id, f.firm.email, lawyerEmail, lawyer.ID, matter.ID, doc.ID, me.ID, f.marker, low)
	return doc.ID
}

// TestLogs_StayInCells starts the real binary with a us and a ca firm,
// works as users of both, and reads the logs from outside: the operator's
// service log (stderr) holds none of either firm's ids, emails or markers,
// and each cell's log file holds its own firm's lines and nothing of the
// other firm.
func TestLogs_StayInCells(t *testing.T) {
	dir := newDataDir(t)
	firms := []*logFirm{{region: "us", marker: "MKLOGUSFIRM"}, {region: "ca", marker: "MKLOGCAFIRM"}}
	for _, f := range firms {
		low := strings.ToLower(f.marker)
		f.firm = newFirm(t, dir, f.marker+" LLP", f.region, "owner."+low+"@"+low+".example")
	}
	srv := startServer(t, dir, "")
	var docs []string
	for _, f := range firms {
		docs = append(docs, f.populate(t, srv))
	}
	// Each firm's owner asks for the other firm's document: not found.
	for i, f := range firms {
		precellsGet(t, f.firm.signIn(t, srv), "/api/v1/documents/"+docs[1-i]+"/download", http.StatusNotFound)
	}
	// An unknown account's failure is the service's own.
	newClient(srv.URL).json(t, "POST", "/api/v1/auth/login", map[string]string{"email": "nobody.mklognobody@nowhere.example", "password": "x"}, http.StatusUnauthorized, nil)
	srv.Stop(t)

	service := srv.Stderr.String()
	for _, f := range firms {
		for _, s := range append(f.secrets, "mklognobody", "nowhere.example") {
			if strings.Contains(strings.ToLower(service), strings.ToLower(s)) {
				t.Errorf("the service log holds %q of the %s firm", s, f.region)
			}
		}
	}
	cells := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(service), "\n") {
		var l map[string]any
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Errorf("service log line %q is not JSON: %v", line, err)
			continue
		}
		if c, ok := l["cell"].(string); ok && l["message"] == "request" {
			cells[c]++
			if got, want := l["tenant_id"], celllog.Placeholder; got != want {
				t.Errorf("service request line tenant_id = %v, want %v", got, want)
			}
		}
	}
	if cells["us"] == 0 || cells["ca"] == 0 {
		t.Errorf("service log request lines by cell = %v, want some of each", cells)
	}

	for i, f := range firms {
		other := firms[1-i]
		log := cellLog(t, dir, f.region)
		for _, s := range []string{f.firm.id, f.secrets[3], f.secrets[6], `"message":"sign-in failed"`, `"status":403`, `"status":404`} {
			if !strings.Contains(log, s) {
				t.Errorf("the %s cell log lacks %q", f.region, s)
			}
		}
		for _, s := range append(other.secrets, "mklognobody") {
			if strings.Contains(strings.ToLower(log), strings.ToLower(s)) {
				t.Errorf("the %s cell log holds %q of the %s firm", f.region, s, other.region)
			}
		}
		for n, line := range strings.Split(strings.TrimSpace(log), "\n") {
			var l struct {
				TenantID string `json:"tenant_id"`
			}
			if err := json.Unmarshal([]byte(line), &l); err != nil || l.TenantID != f.firm.id {
				t.Errorf("%s cell log line %d = %q, want a line of firm %s", f.region, n+1, line, f.firm.id)
			}
		}
		path := celllog.Path(filepath.Join(dir, "regions", f.region))
		for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
			if fi, err := os.Stat(p); err != nil {
				t.Error(err)
			} else if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s mode = %v, want %v", p, got, want)
			}
		}
	}
	if t.Failed() || os.Getenv("LOGDUMP") != "" {
		t.Logf("service log:\n%s", service)
		for _, f := range firms {
			t.Logf("%s cell log:\n%s", f.region, cellLog(t, dir, f.region))
		}
	}
}
