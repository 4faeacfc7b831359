package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/sqlite"
	"github.com/casevault/casevault/vault/vaulttest"
	"github.com/casevault/casevault/web"
)

// env is a running Server over a whole real vault: a SQLite file, Tink keys
// wrapped by file master keys and local-directory region stores (us, ca),
// all under one temp dir.
type env struct {
	Dir    string
	DB     *sqlite.DB
	Svc    *vault.Service
	Server *web.Server
	Log    *vaulttest.SyncBuffer // the server's and the vault's log lines
	Clock  *vaulttest.Clock      // the service's clock
	Audit  *audit.Log            // the real audit log, in Dir/audit.db
}

// newEnv starts a server on 127.0.0.1:0; it is closed by tb.Cleanup.
func newEnv(tb testing.TB) *env { return newEnvAudit(tb, nil) }

// newEnvAudit is newEnv with the audit log's options adjusted by mod.
func newEnvAudit(tb testing.TB, mod func(*audit.Options)) *env {
	tb.Helper()
	dir := tb.TempDir()
	v := vaulttest.Open(tb, dir, nil)
	db, svc := v.DB, v.Svc
	al := vaulttest.UseAuditLog(tb, v, mod)

	logs := &vaulttest.SyncBuffer{}
	svc.Log = zerolog.New(logs).With().Str("component", "vault").Logger()
	srv := web.NewServer(svc, zerolog.New(logs))
	srv.Addr = "127.0.0.1:0"
	if err := srv.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return &env{Dir: dir, DB: db, Svc: svc, Server: srv, Log: logs, Clock: v.Clock, Audit: al}
}

// server starts a second server on e's vault, with its settings changed by
// set before Open, on 127.0.0.1:0; it is closed by tb.Cleanup. Point
// clients at it with their base.
func (e *env) server(tb testing.TB, set func(*web.Server)) *web.Server {
	tb.Helper()
	srv := web.NewServer(e.Svc, zerolog.Nop())
	srv.Addr = "127.0.0.1:0"
	set(srv)
	if err := srv.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	return srv
}

// firm creates a firm in region and returns a client signed in as its
// owner.
func (e *env) firm(tb testing.TB, region string) (*client, *vault.User) {
	tb.Helper()
	email := "owner@" + vault.NewID("f")[2:14] + ".example"
	_, owner, password, err := e.Svc.CreateTenant(context.Background(), vault.NewTenant{
		Name: "Firm " + region, Region: region, Owner: vault.NewUser{Email: email},
	})
	if err != nil {
		tb.Fatalf("CreateTenant: %v", err)
	}
	return e.login(tb, email, password), owner
}

// user adds a user with role to a firm and returns a client signed in as it.
func (e *env) user(tb testing.TB, tenantID string, role vault.Role) (*client, *vault.User) {
	tb.Helper()
	email := vault.NewID("u")[2:14] + "@example.com"
	u, password, err := e.Svc.AddUser(context.Background(), tenantID, vault.NewUser{Email: email, Role: role})
	if err != nil {
		tb.Fatalf("AddUser: %v", err)
	}
	return e.login(tb, email, password), u
}

// login signs in through the API.
func (e *env) login(tb testing.TB, email, password string) *client {
	tb.Helper()
	c := e.client()
	var resp struct {
		Token     string     `json:"token"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	c.json(tb, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": password}, http.StatusOK, &resp)
	if resp.Token == "" {
		tb.Fatal("login returned no token")
	}
	c.token = resp.Token
	return c
}

// client returns an anonymous client of the server.
func (e *env) client() *client {
	return &client{base: e.Server.URL(), hc: &http.Client{Transport: &http.Transport{DisableCompression: true}}}
}

// blobCount returns how many objects the region stores hold.
func (e *env) blobCount(tb testing.TB) int {
	tb.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(e.Dir, "regions"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			n++
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// client speaks HTTP to the server as one (possibly anonymous) user.
type client struct {
	base  string
	token string
	hc    *http.Client
}

// do sends one request; the caller closes the response.
func (c *client) do(tb testing.TB, method, path string, body io.Reader, header http.Header) *http.Response {
	tb.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if c.token != "" && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// read sends one request and returns the response with its whole body.
func (c *client) read(tb testing.TB, method, path string, body io.Reader, header http.Header) (*http.Response, []byte) {
	tb.Helper()
	resp := c.do(tb, method, path, body, header)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp, b
}

// json sends in as JSON (nil for no body), wants status, and decodes the
// answer into out (nil to ignore it). It returns the raw body.
func (c *client) json(tb testing.TB, method, path string, in any, status int, out any) []byte {
	tb.Helper()
	var body io.Reader
	h := http.Header{}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			tb.Fatal(err)
		}
		body = bytes.NewReader(b)
		h.Set("Content-Type", "application/json")
	}
	resp, b := c.read(tb, method, path, body, h)
	if resp.StatusCode != status {
		tb.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, b, status)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			tb.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
	return b
}

// matter opens a matter and returns its id.
func (c *client) matter(tb testing.TB, name string) string {
	tb.Helper()
	var m vault.Matter
	c.json(tb, "POST", "/api/v1/matters", map[string]string{"name": name, "client": "Client of " + name}, http.StatusCreated, &m)
	return m.ID
}

// docJSON is a document as the API returns it.
type docJSON struct {
	ID          string    `json:"id"`
	MatterID    string    `json:"matter_id"`
	Name        string    `json:"name"`
	Version     int       `json:"version"`
	Size        int64     `json:"size"`
	ContentType string    `json:"content_type"`
	Region      string    `json:"region"`
	Trashed     bool      `json:"trashed"`
	CreatedAt   time.Time `json:"created_at"`
}

// upload posts content raw into a matter and returns the document.
func (c *client) upload(tb testing.TB, matterID, name, contentType string, content []byte) docJSON {
	tb.Helper()
	resp, b := c.read(tb, "POST", "/api/v1/matters/"+matterID+"/documents?name="+url.QueryEscape(name),
		bytes.NewReader(content), http.Header{"Content-Type": {contentType}})
	if resp.StatusCode != http.StatusCreated {
		tb.Fatalf("upload = %d %s", resp.StatusCode, b)
	}
	var d docJSON
	if err := json.Unmarshal(b, &d); err != nil {
		tb.Fatal(err)
	}
	return d
}

// errorBody is the error shape.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// wantError checks that resp/body is the error shape with status and code.
func wantError(tb testing.TB, resp *http.Response, body []byte, status int, code string) errorBody {
	tb.Helper()
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil {
		tb.Fatalf("%s %s: error body %q is not JSON: %v", resp.Request.Method, resp.Request.URL.Path, body, err)
	}
	if resp.StatusCode != status || e.Error.Code != code || e.Error.Message == "" {
		tb.Fatalf("%s %s = %d %s, want %d with code %q", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, body, status, code)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		tb.Errorf("error Content-Type = %q", ct)
	}
	return e
}

// random returns n deterministic pseudo-random bytes.
func random(seed byte, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}
