package web_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/web"
)

const operatorToken = "op-token-of-the-test-0123456789abcdef"

// fakeOperator answers moves from a table: the web layer's unit test. The
// real moves are tested over the real binary (cmd/casevault,
// TestOperator_*).
type fakeOperator struct {
	mu     sync.Mutex
	starts []string
	errs   map[string]error // by firm id
}

func (f *fakeOperator) StartMove(_ context.Context, tenantID, to string) (web.MoveStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.errs[tenantID]; err != nil {
		return web.MoveStatus{}, err
	}
	f.starts = append(f.starts, tenantID+"→"+to)
	return web.MoveStatus{TenantID: tenantID, From: "us", To: to, Running: true}, nil
}

func (f *fakeOperator) Moves(context.Context) ([]web.MoveStatus, error) {
	return []web.MoveStatus{{TenantID: "ten_a", From: "us", To: "ca", Step: "done", Result: map[string]int{"rows": 3}}}, nil
}

func (f *fakeOperator) Move(_ context.Context, tenantID string) (web.MoveStatus, error) {
	if tenantID != "ten_a" {
		return web.MoveStatus{}, vault.Errorf(vault.ENOTFOUND, "No move of this firm is in progress.")
	}
	return web.MoveStatus{TenantID: "ten_a", From: "us", To: "ca", Step: "copy_blobs", ErrorCode: vault.EUNAVAILABLE, Error: "Store down."}, nil
}

// TestServer_Operator checks the operator listener: only its token opens
// it (a firm owner's does not), its answers and error codes, and the main
// listener's 404 for its paths, the same as for a path that does not
// exist.
func TestServer_Operator(t *testing.T) {
	e := newEnv(t)
	owner, _ := e.firm(t, "us")
	op := &fakeOperator{errs: map[string]error{
		"ten_gone":  vault.Errorf(vault.ENOTFOUND, "Firm not found."),
		"ten_busy":  vault.Errorf(vault.ECONFLICT, "A move of this firm from us to ca is in progress."),
		"ten_where": vault.Errorf(vault.EINVALID, "Region eu is not served by this server."),
	}}
	srv := e.server(t, func(s *web.Server) {
		s.Operator = web.OperatorListener{Addr: "127.0.0.1:0", Token: operatorToken, Moves: op}
	})
	if srv.OperatorURL() == "" || srv.OperatorURL() == srv.URL() {
		t.Fatalf("OperatorURL() = %q beside URL() %q, want a listener of its own", srv.OperatorURL(), srv.URL())
	}
	anon := &client{base: srv.OperatorURL(), hc: http.DefaultClient}
	opc := &client{base: srv.OperatorURL(), token: operatorToken, hc: http.DefaultClient}
	firm := &client{base: srv.OperatorURL(), token: owner.token, hc: http.DefaultClient}

	for _, c := range []*client{anon, firm, {base: srv.OperatorURL(), token: operatorToken + "x", hc: http.DefaultClient}} {
		resp, b := c.read(t, "GET", "/operator/v1/moves", nil, nil)
		wantError(t, resp, b, http.StatusUnauthorized, vault.EUNAUTHORIZED)
		resp, b = c.read(t, "POST", "/operator/v1/moves", strings.NewReader(`{"tenant_id":"ten_a","to":"ca"}`), nil)
		wantError(t, resp, b, http.StatusUnauthorized, vault.EUNAUTHORIZED)
	}
	if len(op.starts) != 0 {
		t.Fatalf("moves started without the token: %v", op.starts)
	}

	var st web.MoveStatus
	opc.json(t, "POST", "/operator/v1/moves", map[string]string{"tenant_id": "ten_a", "to": "ca"}, http.StatusAccepted, &st)
	if st.TenantID != "ten_a" || st.To != "ca" || !st.Running {
		t.Errorf("POST = %+v, want ten_a running to ca", st)
	}
	for _, c := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"tenant_id":"ten_gone","to":"ca"}`, 404, vault.ENOTFOUND},
		{`{"tenant_id":"ten_busy","to":"us"}`, 409, vault.ECONFLICT},
		{`{"tenant_id":"ten_where","to":"eu"}`, 400, vault.EINVALID},
		{`{"tenant_id":"ten_a"}`, 400, vault.EINVALID},
		{`{"tenant_id":"ten_a","to":"ca","extra":1}`, 400, vault.EINVALID},
		{`not json`, 400, vault.EINVALID},
	} {
		resp, b := opc.read(t, "POST", "/operator/v1/moves", strings.NewReader(c.body), http.Header{"Content-Type": {"application/json"}})
		wantError(t, resp, b, c.status, c.code)
	}
	b := opc.json(t, "GET", "/operator/v1/moves", nil, http.StatusOK, nil)
	if !strings.Contains(string(b), `{"moves":[{"tenant_id":"ten_a","from":"us","to":"ca","step":"done","running":false,"result":{"rows":3}}]}`) {
		t.Errorf("GET /operator/v1/moves = %s", b)
	}
	b = opc.json(t, "GET", "/operator/v1/moves/ten_a", nil, http.StatusOK, nil)
	if !strings.Contains(string(b), `"step":"copy_blobs","running":false,"error_code":"unavailable","error":"Store down."`) {
		t.Errorf("GET /operator/v1/moves/ten_a = %s", b)
	}
	resp, b := opc.read(t, "GET", "/operator/v1/moves/ten_none", nil, nil)
	wantError(t, resp, b, http.StatusNotFound, vault.ENOTFOUND)
	resp, b = opc.read(t, "GET", "/api/v1/me", nil, nil)
	wantError(t, resp, b, http.StatusNotFound, vault.ENOTFOUND)

	main := &client{base: srv.URL(), token: operatorToken, hc: http.DefaultClient}
	_, none := main.read(t, "GET", "/no/such/path", nil, nil)
	for _, path := range []string{"/operator/v1/moves", "/operator/v1/moves/ten_a"} {
		resp, b := main.read(t, "GET", path, nil, nil)
		if resp.StatusCode != http.StatusNotFound || string(b) != string(none) {
			t.Errorf("GET %s on the main listener = %d %s, want 404 %s", path, resp.StatusCode, b, none)
		}
	}
}

// TestServer_OperatorNeedsToken checks that the operator listener does
// not open without a token.
func TestServer_OperatorNeedsToken(t *testing.T) {
	e := newEnv(t)
	srv := web.NewServer(e.Svc, e.Server.Log)
	srv.Addr = "127.0.0.1:0"
	srv.Operator = web.OperatorListener{Addr: "127.0.0.1:0", Moves: &fakeOperator{}}
	if err := srv.Open(); err == nil {
		srv.Close(context.Background())
		t.Fatal("Open() with an operator listener and no token = nil, want an error")
	}
}

// TestServer_OperatorListenerTLS checks that the operator listener speaks
// the main listener's TLS when asked to (an address beyond loopback), and
// plain HTTP otherwise.
func TestServer_OperatorListenerTLS(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	pool := writeCert(t, certFile, keyFile)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for _, useTLS := range []bool{false, true} {
		srv := e.server(t, func(s *web.Server) {
			s.TLSCertFile, s.TLSKeyFile = certFile, keyFile
			s.Operator = web.OperatorListener{Addr: "127.0.0.1:0", TLS: useTLS, Token: operatorToken, Moves: &fakeOperator{}}
		})
		if got, want := strings.HasPrefix(srv.OperatorURL(), "https://"), useTLS; got != want {
			t.Fatalf("TLS %t: OperatorURL() = %q", useTLS, srv.OperatorURL())
		}
		c := &client{base: srv.OperatorURL(), token: operatorToken, hc: hc}
		c.json(t, "GET", "/operator/v1/moves", nil, http.StatusOK, nil)
	}
}
