package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// atRestMarkers are the distinct strings the at-rest test puts in each
// kind of identifying text, by what carries them.
var atRestMarkers = map[string]string{
	"firm name (setup)":           "mkfirmone",
	"firm name (CLI)":             "mkfirmtwo",
	"owner email (setup)":         "mkowneremail",
	"owner name (setup)":          "mkownername",
	"owner email (CLI)":           "mkcliowneremail",
	"owner name (CLI)":            "mkcliownername",
	"user email (API)":            "mkuseremail",
	"user name (API)":             "mkusername",
	"user name (renamed)":         "mkuserrenamed",
	"user email (CLI user add)":   "mkcliuseremail",
	"token name":                  "mktokenname",
	"content type (raw)":          "x-mkctypeone",
	"content type (multipart)":    "x-mkctypetwo",
	"content type (version)":      "x-mkctypethree",
	"matter name":                 "mkmattername",
	"client name":                 "mkclientname",
	"document name (query)":       "mkdocraw",
	"document name (multipart)":   "mkdocmulti",
	"document name (renamed)":     "mkdocrenamed",
	"document contents":           "mkcontents",
	"user agent":                  "mkagent",
	"source address (forwarded)":  "203.0.113.77",
	"unknown email of a sign-in":  "mkunknownemail",
	"unknown email (restarted)":   "mkfailedemail",
	"owner password (not stored)": "mkpassword",
	"checkpoint sink URL":         "mksinkhost",
	"checkpoint sink token":       "mksinktoken",
}

// headerTransport adds the marker user agent and forwarded address to
// every request.
type headerTransport struct{ base http.RoundTripper }

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", "MKAGENT/1.0")
	r.Header.Set("X-Forwarded-For", "203.0.113.77")
	return h.base.RoundTrip(r)
}

// markerHits scans every file under dirs for every marker, case-insensitively,
// and returns "what (marker): file" for each one found.
func markerHits(t *testing.T, dirs ...string) []string {
	t.Helper()
	var hits []string
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			b = bytes.ToLower(b)
			rel, _ := filepath.Rel(filepath.Dir(dir), path)
			for what, m := range atRestMarkers {
				if bytes.Contains(b, []byte(m)) {
					hits = append(hits, what+" ("+m+"): "+rel)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(hits)
	return hits
}

// TestAtRest_NothingIdentifying fills a vault through the running binary's
// API (and the operator CLI) with firm names, emails, user and token names,
// content types, matter, client and document names, a user agent and a
// forwarded source address, each carrying its own marker, then scans every
// file under the data directory (databases, WAL and shm files, the audit
// log, the region stores' objects) and the keys directory, while the server
// runs and after it stopped: no marker may appear.
func TestAtRest_NothingIdentifying(t *testing.T) {
	dataDir := newDataDir(t)
	keysDir := dataDir + "-keys"
	cfg := filepath.Join(t.TempDir(), "casevault.yaml")
	if err := os.WriteFile(cfg, []byte("trusted_proxies: [127.0.0.1]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, dataDir, cfg)
	c := newClient(srv.URL)
	c.hc.Transport = headerTransport{c.hc.Transport}

	const ownerPassword = "MKPASSWORD of the owner"
	c.json(t, "POST", "/api/v1/setup", map[string]string{
		"token": srv.SetupToken(t), "firm_name": "Firm MKFIRMONE LLP", "region": "ca",
		"owner_email": "MKOwnerEmail@x.example", "owner_name": "Owner MKOWNERNAME", "owner_password": ownerPassword,
	}, http.StatusCreated, nil)
	var login struct{ Token string }
	c.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": "mkowneremail@x.example", "password": ownerPassword}, http.StatusOK, &login)
	c.token = login.Token

	var user struct{ ID string }
	c.json(t, "POST", "/api/v1/users", map[string]string{
		"email": "mkuseremail@x.example", "name": "User MKUSERNAME", "role": "lawyer", "password": "MKPASSWORD of the user",
	}, http.StatusCreated, &user)
	c.json(t, "PATCH", "/api/v1/users/"+user.ID, map[string]string{"name": "User MKUSERRENAMED"}, http.StatusOK, nil)
	c.json(t, "POST", "/api/v1/tokens", map[string]string{"name": "Token MKTOKENNAME"}, http.StatusCreated, nil)
	var matter struct{ ID string }
	c.json(t, "POST", "/api/v1/matters", map[string]string{"name": "Matter MKMATTERNAME", "client": "Client MKCLIENTNAME"}, http.StatusCreated, &matter)

	resp := c.request(t, "POST", "/api/v1/matters/"+matter.ID+"/documents?name=MKDOCRAW.pdf",
		strings.NewReader("contents MKCONTENTS raw"), http.Header{"Content-Type": {"application/x-mkctypeone"}})
	raw := decodeDoc(t, resp, http.StatusCreated)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Disposition": {`form-data; name="file"; filename="MKDOCMULTI.pdf"`},
		"Content-Type":        {"application/x-mkctypetwo"},
	})
	if err != nil {
		t.Fatal(err)
	}
	part.Write([]byte("contents MKCONTENTS multipart"))
	mw.Close()
	resp = c.request(t, "POST", "/api/v1/matters/"+matter.ID+"/documents", &body, http.Header{"Content-Type": {mw.FormDataContentType()}})
	multi := decodeDoc(t, resp, http.StatusCreated)
	if multi.ContentType != "application/x-mkctypetwo" || raw.ContentType != "application/x-mkctypeone" {
		t.Fatalf("content types = %q, %q", raw.ContentType, multi.ContentType)
	}
	resp = c.request(t, "PUT", "/api/v1/documents/"+raw.ID+"/content", strings.NewReader("contents MKCONTENTS v2"),
		http.Header{"Content-Type": {"text/x-mkctypethree"}})
	decodeDoc(t, resp, http.StatusOK, http.StatusCreated)
	c.json(t, "PATCH", "/api/v1/documents/"+multi.ID, map[string]string{"name": "MKDOCRENAMED.pdf"}, http.StatusOK, nil)
	c.json(t, "PUT", "/api/v1/audit/sink", map[string]string{"kind": "webhook", "url": "https://mksinkhost.invalid/hook", "token": "MKSINKTOKEN"}, http.StatusOK, nil)
	if got := fetch(t, c, "/api/v1/documents/"+raw.ID+"/download", ""); got != "contents MKCONTENTS v2" {
		t.Fatalf("download = %q", got)
	}

	anon := newClient(srv.URL)
	anon.hc.Transport = headerTransport{anon.hc.Transport}
	anon.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": "mkunknownemail@x.example", "password": "MKPASSWORD wrong"}, http.StatusUnauthorized, nil)
	anon.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": "mkuseremail@x.example", "password": "MKPASSWORD wrong"}, http.StatusUnauthorized, nil)
	anon.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": "mkuseremail@x.example", "password": "MKPASSWORD of the user"}, http.StatusOK, nil)
	// A failed sign-in of an email only another firm knows comes below.

	running := markerHits(t, dataDir, keysDir)
	srv.Stop(t)

	// The operator adds a second firm and a user from the command line.
	out, errOut, err := cli(t, dataDir, "tenant", "create", "--name", "Firm MKFIRMTWO LLP", "--region", "us",
		"--owner-email", "mkcliowneremail@x.example", "--owner-name", "Owner MKCLIOWNERNAME", "--json")
	if err != nil {
		t.Fatalf("tenant create: %v\n%s", err, errOut)
	}
	var second struct {
		TenantID      string `json:"tenant_id"`
		OwnerPassword string `json:"owner_password"`
	}
	if err := json.Unmarshal([]byte(out), &second); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := cli(t, dataDir, "user", "add", "--tenant", second.TenantID, "--email", "mkcliuseremail@x.example", "--role", "lawyer"); err != nil {
		t.Fatalf("user add: %v\n%s", err, errOut)
	}
	srv = startServer(t, dataDir, cfg)
	anon = newClient(srv.URL)
	anon.hc.Transport = headerTransport{anon.hc.Transport}
	anon.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": "mkcliowneremail@x.example", "password": second.OwnerPassword}, http.StatusOK, nil)
	anon.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": "mkfailedemail@x.example", "password": "MKPASSWORD wrong"}, http.StatusUnauthorized, nil)
	running = append(running, markerHits(t, dataDir, keysDir)...)
	srv.Stop(t)
	stopped := markerHits(t, dataDir, keysDir)

	seen := map[string]bool{}
	var all []string
	for _, h := range append(running, stopped...) {
		if !seen[h] {
			seen[h] = true
			all = append(all, h)
		}
	}
	sort.Strings(all)
	if len(all) > 0 {
		t.Errorf("identifying text found at rest (%d):\n  %s", len(all), strings.Join(all, "\n  "))
	}
}
