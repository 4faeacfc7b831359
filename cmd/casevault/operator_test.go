package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/casevault/casevault/move"
)

// operatorAPI is a client of a running server's operator API, found
// through the data directory's lock file as `tenant move` finds it.
type operatorAPI struct {
	base, token string
	hc          *http.Client
}

// opAPI returns the operator API of the server running on dataDir.
func opAPI(t testing.TB, dataDir string) *operatorAPI {
	t.Helper()
	info, err := readLockInfo(dataDir)
	if err != nil || !info.Ready || info.OperatorURL == "" {
		t.Fatalf("lock info = %+v, %v; want a ready server with its operator URL", info, err)
	}
	tok, err := readOperatorToken(info.TokenFile)
	if err != nil {
		t.Fatal(err)
	}
	return &operatorAPI{base: info.OperatorURL, token: tok, hc: &http.Client{Timeout: 30 * time.Second}}
}

// call sends one request with header (the operator token unless header
// sets Authorization or Cookie) and returns the status and body. It never
// calls t.Fatal, so goroutines may use it; a transport error is status 0.
func (o *operatorAPI) call(method, path string, in any, header http.Header) (int, []byte) {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, o.base+path, body)
	if err != nil {
		return 0, []byte(err.Error())
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if header == nil {
		req.Header.Set("Authorization", "Bearer "+o.token)
	}
	resp, err := o.hc.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// moveStatus is the JSON of a move's status.
type moveStatus struct {
	TenantID  string       `json:"tenant_id"`
	From      string       `json:"from"`
	To        string       `json:"to"`
	Step      string       `json:"step"`
	Running   bool         `json:"running"`
	ErrorCode string       `json:"error_code"`
	Error     string       `json:"error"`
	Result    *move.Result `json:"result"`
}

// start POSTs the move of tenant to region to and wants 202.
func (o *operatorAPI) start(t testing.TB, tenant, to string) moveStatus {
	t.Helper()
	code, b := o.call("POST", "/operator/v1/moves", map[string]string{"tenant_id": tenant, "to": to}, nil)
	var st moveStatus
	if code != http.StatusAccepted || json.Unmarshal(b, &st) != nil {
		t.Fatalf("POST /operator/v1/moves = %d %s, want 202", code, b)
	}
	return st
}

// wait polls the move's status until it no longer runs.
func (o *operatorAPI) wait(t testing.TB, tenant string) moveStatus {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		code, b := o.call("GET", "/operator/v1/moves/"+tenant, nil, nil)
		var st moveStatus
		if code != http.StatusOK || json.Unmarshal(b, &st) != nil {
			t.Fatalf("GET /operator/v1/moves/%s = %d %s", tenant, code, b)
		}
		if !st.Running {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the move of %s did not end", tenant)
	return moveStatus{}
}

// errorCode decodes an error answer's code.
func errorCode(b []byte) string {
	var e struct {
		Error struct{ Code, Message string }
	}
	json.Unmarshal(b, &e)
	return e.Error.Code
}

// TestOperator_Auth checks who may use the operator API: only the operator
// token, never no token, a wrong one, a firm owner's API token, a firm
// session (as a bearer token or the UI's cookie); the main listener
// answers its paths exactly as a path that does not exist; the token file
// is 0600 and survives a restart; the API's own errors carry stable codes.
func TestOperator_Auth(t *testing.T) {
	e := newMoveEnv(t, 1, func(int) int64 { return 1000 })
	srv := startServer(t, e.dataDir, e.config)
	op := opAPI(t, e.dataDir)
	info, _ := readLockInfo(e.dataDir)
	fi, err := os.Stat(info.TokenFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file %s: %v, %v; want mode 0600", info.TokenFile, fi.Mode(), err)
	}

	owner := precellsLogin(t, srv.URL, e.firm.Emails[0], e.firm.Passwords[e.firm.Emails[0]])
	var apiTok struct {
		Token string `json:"token"`
	}
	owner.json(t, "POST", "/api/v1/tokens", map[string]string{"name": "ops"}, http.StatusCreated, &apiTok)
	// The session works where it belongs: the UI takes it as its cookie
	// (and does not send the owner to sign in).
	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	req.Header.Set("Cookie", "cv_session="+owner.token)
	req.Header.Set("Accept", "text/html")
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusOK && (resp.StatusCode != http.StatusSeeOther || strings.HasPrefix(loc, "/signin")) {
		t.Fatalf("GET / with the session cookie = %d to %q, want it taken", resp.StatusCode, loc)
	}

	for _, c := range []struct {
		name   string
		header http.Header
	}{
		{"NoToken", http.Header{}},
		{"WrongToken", http.Header{"Authorization": {"Bearer " + strings.Repeat("A", len(op.token))}}},
		{"TokenAsBasic", http.Header{"Authorization": {"Basic " + op.token}}},
		{"OwnerAPIToken", http.Header{"Authorization": {"Bearer " + apiTok.Token}}},
		{"OwnerSession", http.Header{"Authorization": {"Bearer " + owner.token}}},
		{"SessionCookie", http.Header{"Cookie": {"cv_session=" + owner.token}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, r := range []struct{ method, path string }{{"GET", "/operator/v1/moves"}, {"POST", "/operator/v1/moves"}, {"GET", "/operator/v1/moves/" + e.firm.ID}} {
				code, b := op.call(r.method, r.path, map[string]string{"tenant_id": e.firm.ID, "to": "ca"}, c.header)
				if code != http.StatusUnauthorized || errorCode(b) != "unauthorized" {
					t.Errorf("%s %s = %d %s, want 401 unauthorized", r.method, r.path, code, b)
				}
			}
		})
	}
	if code, b := op.call("GET", "/operator/v1/moves/"+e.firm.ID, nil, nil); code != http.StatusOK {
		// Still not moved: nothing to report.
		if code != http.StatusNotFound || errorCode(b) != "not_found" {
			t.Fatalf("GET the move of a firm never moved = %d %s, want 404", code, b)
		}
	}
	code, b := op.call("GET", "/operator/v1/moves", nil, nil)
	if code != http.StatusOK || !bytes.Contains(b, []byte(`"moves":[]`)) {
		t.Fatalf("GET /operator/v1/moves with the operator token = %d %s, want 200 and no moves", code, b)
	}

	t.Run("MainListener404", func(t *testing.T) {
		main := &operatorAPI{base: srv.URL, token: op.token, hc: op.hc}
		_, none := main.call("GET", "/operator/v1/no-such-path", nil, nil)
		for _, r := range []struct{ method, path string }{{"GET", "/operator/v1/moves"}, {"POST", "/operator/v1/moves"}, {"GET", "/operator/v1/moves/" + e.firm.ID}} {
			code, b := main.call(r.method, r.path, map[string]string{"tenant_id": e.firm.ID, "to": "ca"}, nil)
			if code != http.StatusNotFound || !bytes.Equal(b, none) {
				t.Errorf("%s %s on the main listener = %d %s, want 404 %s", r.method, r.path, code, b, none)
			}
		}
	})

	t.Run("Errors", func(t *testing.T) {
		for _, c := range []struct {
			name   string
			body   any
			status int
			code   string
		}{
			{"UnknownFirm", map[string]string{"tenant_id": "ten_nosuchfirm", "to": "ca"}, 404, "not_found"},
			{"AnotherFirmOfNoOne", map[string]string{"tenant_id": "../x", "to": "ca"}, 404, "not_found"},
			{"UnservedRegion", map[string]string{"tenant_id": e.firm.ID, "to": "eu"}, 400, "invalid"},
			{"NoRegion", map[string]string{"tenant_id": e.firm.ID}, 400, "invalid"},
			{"UnknownField", map[string]string{"tenant_id": e.firm.ID, "to": "ca", "from": "us"}, 400, "invalid"},
		} {
			code, b := op.call("POST", "/operator/v1/moves", c.body, nil)
			if code != c.status || errorCode(b) != c.code {
				t.Errorf("%s: POST = %d %s, want %d %s", c.name, code, b, c.status, c.code)
			}
		}
		st := op.start(t, e.other.ID, "ca") // in ca already
		if st = op.wait(t, e.other.ID); st.Step != "done" || st.Result == nil || !st.Result.Already {
			t.Errorf("move of a firm to its own region = %+v, want done, already", st)
		}
	})

	srv.Stop(t)
	srv = startServer(t, e.dataDir, e.config)
	if again := opAPI(t, e.dataDir); again.token != op.token {
		t.Errorf("the operator token changed over a restart")
	}
	srv.Stop(t)
	if err := os.Chmod(info.TokenFile, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary(t), "serve", "--data-dir", e.dataDir, "--config", e.config, "--addr", "127.0.0.1:0").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "readable by others") {
		t.Fatalf("serve with a world-readable operator token: %v\n%s", err, out)
	}
}

// TestOperator_CLIForwards runs `tenant move` beside a running server: it
// goes through the server's operator API (the server logs the request)
// and prints what the command prints in process. With the API off the
// command refuses; a second server refuses the data directory; a lock file
// left by a killed server stops nothing.
func TestOperator_CLIForwards(t *testing.T) {
	e := newMoveEnv(t, 2, func(i int) int64 { return int64(i+1) * 30_000 })

	t.Run("StaleLock", func(t *testing.T) {
		srv := startServer(t, e.dataDir, e.config)
		srv.cmd.Process.Signal(syscall.SIGKILL)
		<-srv.done
		srv.done <- nil
		if info, err := readLockInfo(e.dataDir); err != nil || !info.Ready {
			t.Fatalf("lock file after SIGKILL = %+v, %v; want the dead server's", info, err)
		}
		code, out := e.moveCLI(t)
		if code != 0 {
			t.Fatalf("tenant move after a killed server: exit %d\n%s", code, out)
		}
		var res move.Result
		if err := json.Unmarshal([]byte(out), &res); err != nil || res.Step != move.StepDone || res.To != "ca" {
			t.Fatalf("tenant move = %q, %v; want done to ca", out, err)
		}
	})

	t.Run("Forward", func(t *testing.T) {
		srv := startServer(t, e.dataDir, e.config)
		out, err := exec.Command(binary(t), "tenant", "move", "--tenant", e.firm.ID, "--to", "us",
			"--config", e.config, "--data-dir", e.dataDir).CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "Moved firm "+e.firm.ID+" from ca to us: 2 objects copied") {
			t.Fatalf("tenant move beside a server: %v\n%s", err, out)
		}
		if !strings.Contains(srv.Stderr.String(), `"move requested"`) {
			t.Fatalf("the server did not run the move:\n%s", srv.Stderr.String())
		}
		owner := precellsLogin(t, srv.URL, e.firm.Emails[0], e.firm.Passwords[e.firm.Emails[0]])
		for id := range e.firm.Docs {
			var d docJSON
			owner.json(t, "GET", "/api/v1/documents/"+id, nil, 200, &d)
			if d.Region != "us" {
				t.Fatalf("document %s region = %q, want us", id, d.Region)
			}
		}
		if out, err := exec.Command(binary(t), "serve", "--data-dir", e.dataDir, "--config", e.config, "--addr", "127.0.0.1:0").CombinedOutput(); err == nil ||
			!strings.Contains(string(out), "holds the data directory") {
			t.Fatalf("a second serve on the data directory: %v\n%s", err, out)
		}
		srv.Stop(t)
	})

	t.Run("HeldByAnotherCommand", func(t *testing.T) {
		// As an in-process move holds it: the command waits for no one and
		// serve refuses to start.
		lock, err := lockDataDir(e.dataDir, "tenant move")
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Close()
		if code, out := e.moveCLI(t); code == 0 || !strings.Contains(out, `another casevault command ("tenant move"`) {
			t.Fatalf("tenant move beside another move: exit %d, want a refusal\n%s", code, out)
		}
		out, err := exec.Command(binary(t), "serve", "--data-dir", e.dataDir, "--config", e.config, "--addr", "127.0.0.1:0").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "holds the data directory") {
			t.Fatalf("serve beside a move: %v\n%s", err, out)
		}
	})

	t.Run("OperatorOff", func(t *testing.T) {
		srv := startServer(t, e.dataDir, e.config, "CASEVAULT_OPERATOR_ADDR=off")
		code, out := e.moveCLI(t)
		if code == 0 || !strings.Contains(out, "operator API off") {
			t.Fatalf("tenant move beside a server without the operator API: exit %d, want a refusal\n%s", code, out)
		}
		srv.Stop(t)
		e.checkServed(t, e.firm, "us")
	})
}
