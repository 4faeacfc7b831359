package web_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/detect"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
	"github.com/casevault/casevault/web"
)

// newDetectEnv is newEnv with breach detection on the audit log, as
// cmd/casevault wires it, and a second server that trusts 127.0.0.1 as a
// proxy (proxied), so tests can speak from other sources with
// X-Forwarded-For.
func newDetectEnv(tb testing.TB) (e *env, proxied *web.Server, engine *detect.Engine) {
	tb.Helper()
	dir := tb.TempDir()
	v := vaulttest.Open(tb, dir, nil)
	al := vaulttest.UseAuditLog(tb, v, nil)
	engine = detect.New(detect.Options{Settings: v.Svc.LoadDetectionSettings, Store: v.DB, SourceHash: v.Svc.TokenSourceHash})
	v.Svc.Audit = v.Svc.WithDetection(al, engine)
	logs := &vaulttest.SyncBuffer{}
	v.Svc.Log = zerolog.New(logs)
	srv := web.NewServer(v.Svc, zerolog.New(logs))
	srv.Addr = "127.0.0.1:0"
	if err := srv.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	e = &env{Dir: dir, DB: v.DB, Svc: v.Svc, Server: srv, Log: logs, Clock: v.Clock, Audit: al}
	proxied = e.server(tb, func(s *web.Server) { s.TrustedProxies = []string{"127.0.0.1"} })
	return e, proxied, engine
}

// alertJSON is an alert as the API shows it.
type alertJSON struct {
	ID        string  `json:"id"`
	Rule      string  `json:"rule"`
	UserID    string  `json:"user_id"`
	TokenID   string  `json:"token_id"`
	Status    string  `json:"status"`
	Seq       int64   `json:"seq"`
	Evidence  []int64 `json:"evidence"`
	Threshold float64 `json:"threshold"`
	Observed  float64 `json:"observed"`
	Contained bool    `json:"contained"`
	Note      string  `json:"note"`
}

// only returns the settings with every rule off but the one given.
func only(rule string, r vault.RuleSettings) vault.DetectionSettings {
	st := vault.DefaultDetectionSettings()
	for id, x := range st.Rules {
		x.Enabled = false
		st.Rules[id] = x
	}
	r.Enabled = true
	st.Rules[rule] = r
	return st
}

// setDetection puts st as the firm's settings through the API.
func setDetection(tb testing.TB, owner *client, st vault.DetectionSettings) {
	tb.Helper()
	owner.json(tb, "PUT", "/api/v1/detection/settings", st, http.StatusOK, nil)
}

// alerts lists the firm's alerts.
func alerts(tb testing.TB, c *client, status string) []alertJSON {
	tb.Helper()
	var as []alertJSON
	c.json(tb, "GET", "/api/v1/alerts?status="+status, nil, http.StatusOK, &as)
	return as
}

// eventSeqs returns the sequence numbers of the firm's events matching query
// (an /api/v1/audit/events query string), in order.
func eventSeqs(tb testing.TB, owner *client, query string) []int64 {
	tb.Helper()
	var page struct {
		Events []struct {
			Seq int64 `json:"seq"`
		} `json:"events"`
	}
	owner.json(tb, "GET", "/api/v1/audit/events?"+query, nil, http.StatusOK, &page)
	var out []int64
	for _, ev := range page.Events {
		out = append(out, ev.Seq)
	}
	return out
}

// wantAlert checks that the firm has exactly one alert, of rule, with
// evidence want, and that its alert.raised event is in the log.
func wantAlert(tb testing.TB, owner *client, rule string, want []int64) alertJSON {
	tb.Helper()
	as := alerts(tb, owner, "")
	if len(as) != 1 || as[0].Rule != rule {
		tb.Fatalf("alerts = %+v, want one of rule %s", as, rule)
	}
	if !slices.Equal(as[0].Evidence, want) {
		tb.Errorf("evidence = %v, want %v", as[0].Evidence, want)
	}
	raised := eventSeqs(tb, owner, "action=alert.raised&object_id="+as[0].ID)
	if len(raised) != 1 || raised[0] != as[0].Seq {
		tb.Errorf("alert.raised events = %v, want [%d]", raised, as[0].Seq)
	}
	return as[0]
}

// wantNoAlert checks that the firm has no alert.
func wantNoAlert(tb testing.TB, owner *client) {
	tb.Helper()
	if as := alerts(tb, owner, ""); len(as) != 0 {
		tb.Fatalf("alerts = %+v, want none", as)
	}
}

// from returns a copy of c that speaks to srv as source.
func from(c *client, srv *web.Server, source string) *client {
	cc := *c
	cc.base = srv.URL()
	cc.hc = &http.Client{Transport: &sourceTransport{source: source}}
	return &cc
}

// sourceTransport sets X-Forwarded-For on every request.
type sourceTransport struct{ source string }

func (t *sourceTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", t.source)
	return http.DefaultTransport.RoundTrip(r)
}

// view reads a document's content and wants status.
func view(tb testing.TB, c *client, docID string, status int) {
	tb.Helper()
	resp, b := c.read(tb, "GET", "/api/v1/documents/"+docID+"/content", nil, nil)
	if resp.StatusCode != status {
		tb.Fatalf("view = %d %s, want %d", resp.StatusCode, b, status)
	}
}

// loginFail fails a sign-in as email through c.
func loginFail(tb testing.TB, c *client, email string) {
	tb.Helper()
	c.json(tb, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": "wrong password 123"}, http.StatusUnauthorized, nil)
}

// firmWithDoc makes a firm with a lawyer who has a document.
func firmWithDoc(tb testing.TB, e *env) (owner *client, lawyer *client, lu *vault.User, docID string) {
	tb.Helper()
	owner, ou := e.firm(tb, "us")
	lawyer, lu = e.user(tb, ou.TenantID, vault.RoleLawyer)
	m := lawyer.matter(tb, "Matter DETECTMARK")
	d := lawyer.upload(tb, m, "memo.txt", "text/plain", []byte("hello"))
	return owner, lawyer, lu, d.ID
}

func TestDetection_SessionVolume(t *testing.T) {
	e, _, _ := newDetectEnv(t)
	owner, lawyer, lu, doc := firmWithDoc(t, e)
	setDetection(t, owner, only(vault.RuleSessionVolume, vault.RuleSettings{Threshold: 3}))
	for range 3 {
		view(t, lawyer, doc, http.StatusOK)
	}
	wantNoAlert(t, owner) // just under: 3 is not above 3
	view(t, lawyer, doc, http.StatusOK)
	a := wantAlert(t, owner, vault.RuleSessionVolume, eventSeqs(t, owner, "action=document.view&actor_id="+lu.ID))
	if a.UserID != lu.ID || a.Threshold != 3 || a.Observed != 4 {
		t.Errorf("alert = %+v, want user %s, 4 against 3", a, lu.ID)
	}
}

func TestDetection_HourlyVolume(t *testing.T) {
	e, _, _ := newDetectEnv(t)
	owner, lawyer, lu, doc := firmWithDoc(t, e)
	setDetection(t, owner, only(vault.RuleHourlyVolume, vault.RuleSettings{Threshold: 3, WindowMinutes: 60}))
	for range 3 {
		view(t, lawyer, doc, http.StatusOK)
	}
	e.Clock.Advance(61 * time.Minute) // the first three leave the window
	for range 3 {
		view(t, lawyer, doc, http.StatusOK)
	}
	wantNoAlert(t, owner)
	view(t, lawyer, doc, http.StatusOK)
	all := eventSeqs(t, owner, "action=document.view&actor_id="+lu.ID)
	wantAlert(t, owner, vault.RuleHourlyVolume, all[3:])
}

func TestDetection_Baseline(t *testing.T) {
	e, _, _ := newDetectEnv(t)
	owner, ou := e.firm(t, "us")
	// Start at a whole hour, so that the views below fall in one.
	now := e.Clock.Now()
	e.Clock.Advance(now.Truncate(time.Hour).Add(time.Hour + time.Minute).Sub(now))
	setDetection(t, owner, only(vault.RuleBaseline, vault.RuleSettings{Threshold: 3, Multiple: 2}))
	lawyer, lu, pw := userPW(t, e, ou.TenantID, vault.RoleLawyer)
	doc := lawyer.upload(t, lawyer.matter(t, "M"), "a.txt", "text/plain", []byte("x")).ID
	// The floor: a user with no history reads 3 (not above 3) unflagged.
	for range 3 {
		view(t, lawyer, doc, http.StatusOK)
	}
	wantNoAlert(t, owner)
	// The next day: the mean of their one active hour is 3, so the limit
	// is 2 × 3 = 6.
	e.Clock.Advance(24 * time.Hour)
	lawyer = e.login(t, lu.Email, pw)
	owner, _, _ = userPW(t, e, ou.TenantID, vault.RoleAdmin)
	for range 6 {
		view(t, lawyer, doc, http.StatusOK)
	}
	wantNoAlert(t, owner)
	view(t, lawyer, doc, http.StatusOK)
	all := eventSeqs(t, owner, "action=document.view&actor_id="+lu.ID)
	a := wantAlert(t, owner, vault.RuleBaseline, all[3:])
	if a.Threshold != 6 || a.Observed != 7 {
		t.Errorf("alert = %+v, want 7 against 6", a)
	}
}

// userPW adds a user with role and returns a client signed in as it, and
// its password, to sign in again after the clock moved.
func userPW(tb testing.TB, e *env, tenantID string, role vault.Role) (*client, *vault.User, string) {
	tb.Helper()
	email := vault.NewID("u")[2:14] + "@example.com"
	u, password, err := e.Svc.AddUser(context.Background(), tenantID, vault.NewUser{Email: email, Role: role})
	if err != nil {
		tb.Fatalf("AddUser: %v", err)
	}
	return e.login(tb, email, password), u, password
}

func TestDetection_DeniedBurst(t *testing.T) {
	e, _, _ := newDetectEnv(t)
	owner, _, _, doc := firmWithDoc(t, e)
	setDetection(t, owner, only(vault.RuleDeniedBurst, vault.RuleSettings{Threshold: 3, WindowMinutes: 10}))
	other, otherU := e.user(t, tenantOf(t, e, owner), vault.RoleLawyer)
	for range 3 {
		view(t, other, doc, http.StatusForbidden)
	}
	wantNoAlert(t, owner)
	view(t, other, doc, http.StatusForbidden)
	wantAlert(t, owner, vault.RuleDeniedBurst, eventSeqs(t, owner, "action=access.denied&actor_id="+otherU.ID))
}

// tenantOf returns the firm of c's user.
func tenantOf(tb testing.TB, e *env, c *client) string {
	tb.Helper()
	u, _, err := e.Svc.Authenticate(context.Background(), c.token)
	if err != nil {
		tb.Fatal(err)
	}
	return u.TenantID
}

func TestDetection_SigninSpray(t *testing.T) {
	e, proxied, _ := newDetectEnv(t)
	owner, ou := e.firm(t, "us")
	setDetection(t, owner, only(vault.RuleSigninSpray, vault.RuleSettings{Threshold: 2, WindowMinutes: 15}))
	var users []*vault.User
	for range 3 {
		_, u := e.user(t, ou.TenantID, vault.RoleLawyer)
		users = append(users, u)
	}
	attacker := from(e.client(), proxied, "203.0.113.7")
	loginFail(t, attacker, users[0].Email)
	loginFail(t, attacker, users[1].Email)
	loginFail(t, attacker, users[1].Email) // the same account again is not another
	loginFail(t, from(e.client(), proxied, "198.51.100.9"), users[2].Email)
	wantNoAlert(t, owner)
	loginFail(t, attacker, users[2].Email)
	all := eventSeqs(t, owner, "action=login_failed")
	a := wantAlert(t, owner, vault.RuleSigninSpray, slices.Concat(all[:3], all[4:]))
	if a.UserID != "" || a.Observed != 3 {
		t.Errorf("alert = %+v, want no user, 3 accounts", a)
	}
}

func TestDetection_SigninSources(t *testing.T) {
	e, proxied, _ := newDetectEnv(t)
	owner, ou := e.firm(t, "us")
	setDetection(t, owner, only(vault.RuleSigninSources, vault.RuleSettings{Threshold: 2, WindowMinutes: 15}))
	_, u := e.user(t, ou.TenantID, vault.RoleLawyer)
	loginFail(t, from(e.client(), proxied, "203.0.113.1"), u.Email)
	loginFail(t, from(e.client(), proxied, "203.0.113.2"), u.Email)
	loginFail(t, from(e.client(), proxied, "203.0.113.2"), u.Email)
	wantNoAlert(t, owner)
	loginFail(t, from(e.client(), proxied, "203.0.113.3"), u.Email)
	a := wantAlert(t, owner, vault.RuleSigninSources, eventSeqs(t, owner, "action=login_failed&object_id="+u.ID))
	if a.UserID != u.ID || a.Observed != 3 {
		t.Errorf("alert = %+v, want user %s, 3 sources", a, u.ID)
	}
	// The victim is never contained: the rule refuses it.
	st := only(vault.RuleSigninSources, vault.RuleSettings{Threshold: 2, WindowMinutes: 15, Contain: true})
	body, _ := json.Marshal(st)
	resp, b := owner.read(t, "PUT", "/api/v1/detection/settings", bytes.NewReader(body), http.Header{"Content-Type": {"application/json"}})
	wantError(t, resp, b, http.StatusBadRequest, vault.EINVALID)
}

func TestDetection_SelfGrant(t *testing.T) {
	e, _, _ := newDetectEnv(t)
	owner, ou := e.firm(t, "us")
	setDetection(t, owner, only(vault.RuleSelfGrant, vault.RuleSettings{Threshold: 1, WindowMinutes: 60}))
	lawyer, _ := e.user(t, ou.TenantID, vault.RoleLawyer)
	m := lawyer.matter(t, "M")
	doc := lawyer.upload(t, m, "a.txt", "text/plain", []byte("x")).ID
	admin, au := e.user(t, ou.TenantID, vault.RoleAdmin)
	admin.json(t, "POST", "/api/v1/grants", map[string]any{"user_id": au.ID, "matter_id": m,
		"permissions": []string{"read", "download"}}, http.StatusCreated, nil)
	resp, b := admin.read(t, "GET", "/api/v1/documents/"+doc+"/download", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("download = %d %s", resp.StatusCode, b)
	}
	wantNoAlert(t, owner) // one read is not above 1
	view(t, admin, doc, http.StatusOK)
	grant := eventSeqs(t, owner, "action=grant.create&actor_id="+au.ID)
	// The view and download events, not the read_complete ones.
	views := eventSeqs(t, owner, "action=document.view&actor_id="+au.ID)
	downloads := eventSeqs(t, owner, "action=document.download&actor_id="+au.ID)
	wantAlert(t, owner, vault.RuleSelfGrant, slices.Concat(grant, downloads, views))
}

func TestDetection_OffHours(t *testing.T) {
	e, _, _ := newDetectEnv(t)
	// Move to the next Monday, 10:00 UTC.
	now := e.Clock.Now()
	monday := now.Truncate(24 * time.Hour).Add(10 * time.Hour)
	for monday.Weekday() != time.Monday || !monday.After(now) {
		monday = monday.Add(24 * time.Hour)
	}
	e.Clock.Advance(monday.Sub(now))
	owner, ou := e.firm(t, "us")
	st := only(vault.RuleOffHours, vault.RuleSettings{})
	setDetection(t, owner, st) // 07:00–20:00 Mon–Fri UTC
	lawyer, lu := e.user(t, ou.TenantID, vault.RoleLawyer)
	doc := lawyer.upload(t, lawyer.matter(t, "M"), "a.txt", "text/plain", []byte("x")).ID
	view(t, lawyer, doc, http.StatusOK)
	e.Clock.Advance(9*time.Hour + 59*time.Minute) // 19:59
	view(t, lawyer, doc, http.StatusOK)
	wantNoAlert(t, owner)
	e.Clock.Advance(time.Minute) // 20:00: closed
	view(t, lawyer, doc, http.StatusOK)
	all := eventSeqs(t, owner, "action=document.view&actor_id="+lu.ID)
	wantAlert(t, owner, vault.RuleOffHours, all[2:])
}

func TestDetection_TokenNewSource(t *testing.T) {
	e, proxied, engine := newDetectEnv(t)
	owner, lawyer, lu, doc := firmWithDoc(t, e)
	setDetection(t, owner, only(vault.RuleTokenNewSource, vault.RuleSettings{}))
	var tok struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	from(lawyer, proxied, "203.0.113.5").json(t, "POST", "/api/v1/tokens", map[string]string{"name": "script"}, http.StatusCreated, &tok)
	script := &client{token: tok.Token}
	view(t, from(script, proxied, "203.0.113.5"), doc, http.StatusOK) // where it was made
	view(t, from(script, proxied, "203.0.113.5"), doc, http.StatusOK)
	wantNoAlert(t, owner)
	view(t, from(script, proxied, "198.51.100.77"), doc, http.StatusOK)
	all := eventSeqs(t, owner, "action=document.view&actor_id="+lu.ID)
	a := wantAlert(t, owner, vault.RuleTokenNewSource, all[2:])
	if a.TokenID != tok.ID {
		t.Errorf("alert token = %q, want %q", a.TokenID, tok.ID)
	}
	view(t, from(script, proxied, "198.51.100.77"), doc, http.StatusOK) // known now
	if n := len(alerts(t, owner, "")); n != 1 {
		t.Errorf("alerts = %d, want 1", n)
	}
	// The sources are written (as keyed hashes), and no source is kept in
	// the clear.
	if err := engine.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, e, "token_sources"); n != 2 {
		t.Errorf("token_sources rows = %d, want 2", n)
	}
	if hits, _ := vaulttest.MarkersInDatabase(t, e.Dir+"/casevault.db", "198.51.100.77", "203.0.113.5"); len(hits) > 0 {
		t.Errorf("sources in the database: %v", hits)
	}
}

func TestDetection_Containment(t *testing.T) {
	e, _, _ := newDetectEnv(t)
	owner, ou := e.firm(t, "us")
	setDetection(t, owner, only(vault.RuleSessionVolume, vault.RuleSettings{Threshold: 1, Contain: true}))
	lawyer, lu, pw := userPW(t, e, ou.TenantID, vault.RoleLawyer)
	doc := lawyer.upload(t, lawyer.matter(t, "M"), "a.txt", "text/plain", []byte("x")).ID
	script := &client{base: lawyer.base, hc: lawyer.hc}
	lawyer.json(t, "POST", "/api/v1/tokens", map[string]string{}, http.StatusCreated, &struct {
		Token *string `json:"token"`
	}{&script.token})
	view(t, lawyer, doc, http.StatusOK)
	view(t, lawyer, doc, http.StatusOK) // trips the rule, and is served: it was allowed
	a := alerts(t, owner, vault.AlertOpen)
	if len(a) != 1 || !a[0].Contained || a[0].UserID != lu.ID {
		t.Fatalf("alerts = %+v, want one containing %s", a, lu.ID)
	}
	// The user's next request, by session or API token, and a new sign-in
	// are refused as suspended.
	for _, c := range []*client{lawyer, script} {
		resp, b := c.read(t, "GET", "/api/v1/me", nil, nil)
		wantError(t, resp, b, http.StatusForbidden, vault.ESUSPENDED)
	}
	resp, b := e.client().read(t, "POST", "/api/v1/auth/login", bytes.NewReader([]byte(`{"email":"`+lu.Email+`","password":"`+pw+`"}`)),
		http.Header{"Content-Type": {"application/json"}})
	wantError(t, resp, b, http.StatusForbidden, vault.ESUSPENDED)
	contain := eventSeqs(t, owner, "action=user.contain&object_id="+lu.ID)
	if len(contain) != 1 || contain[0] <= a[0].Seq {
		t.Errorf("user.contain events = %v, want one after alert %d", contain, a[0].Seq)
	}
	// A lawyer cannot release; an auditor cannot; the owner can, once.
	colleague, _ := e.user(t, ou.TenantID, vault.RoleLawyer)
	auditor, _ := e.user(t, ou.TenantID, vault.RoleAuditor)
	for _, c := range []*client{colleague, auditor} {
		resp, b := c.read(t, "POST", "/api/v1/users/"+lu.ID+"/release", nil, nil)
		wantError(t, resp, b, http.StatusForbidden, vault.EFORBIDDEN)
	}
	owner.json(t, "POST", "/api/v1/users/"+lu.ID+"/release", nil, http.StatusNoContent, nil)
	resp, b = owner.read(t, "POST", "/api/v1/users/"+lu.ID+"/release", nil, nil)
	wantError(t, resp, b, http.StatusNotFound, vault.ENOTFOUND)
	released := eventSeqs(t, owner, "action=user.release&object_id="+lu.ID)
	if len(released) != 1 {
		t.Errorf("user.release events = %v, want one", released)
	}
	lawyer.json(t, "GET", "/api/v1/me", nil, http.StatusOK, nil)
	script.json(t, "GET", "/api/v1/me", nil, http.StatusOK, nil)
}

func TestAlerts_API(t *testing.T) {
	e, _, _ := newDetectEnv(t)
	owner, lawyer, _, doc := firmWithDoc(t, e)
	tenant := tenantOf(t, e, owner)
	setDetection(t, owner, only(vault.RuleSessionVolume, vault.RuleSettings{Threshold: 1}))
	view(t, lawyer, doc, http.StatusOK)
	view(t, lawyer, doc, http.StatusOK)
	a := alerts(t, owner, "")[0]
	admin, _ := e.user(t, tenant, vault.RoleAdmin)
	auditor, _ := e.user(t, tenant, vault.RoleAuditor)
	stranger, _ := e.firm(t, "us")

	t.Run("Read", func(t *testing.T) {
		for _, c := range []*client{owner, admin, auditor} {
			var got alertJSON
			c.json(t, "GET", "/api/v1/alerts/"+a.ID, nil, http.StatusOK, &got)
			if got.ID != a.ID || len(got.Evidence) != 2 || got.Threshold != 1 || got.Observed != 2 {
				t.Errorf("alert = %+v", got)
			}
		}
		resp, b := lawyer.read(t, "GET", "/api/v1/alerts", nil, nil)
		wantError(t, resp, b, http.StatusForbidden, vault.EFORBIDDEN)
		resp, b = stranger.read(t, "GET", "/api/v1/alerts/"+a.ID, nil, nil)
		wantError(t, resp, b, http.StatusNotFound, vault.ENOTFOUND)
		if as := alerts(t, stranger, ""); len(as) != 0 {
			t.Errorf("another firm's alerts = %+v", as)
		}
		resp, b = owner.read(t, "GET", "/api/v1/alerts?status=bogus", nil, nil)
		wantError(t, resp, b, http.StatusBadRequest, vault.EINVALID)
	})
	t.Run("Settings", func(t *testing.T) {
		admin.json(t, "GET", "/api/v1/detection/settings", nil, http.StatusOK, nil)
		resp, b := auditor.read(t, "GET", "/api/v1/detection/settings", nil, nil)
		wantError(t, resp, b, http.StatusForbidden, vault.EFORBIDDEN)
		body, _ := json.Marshal(vault.DefaultDetectionSettings())
		resp, b = admin.read(t, "PUT", "/api/v1/detection/settings", bytes.NewReader(body), http.Header{"Content-Type": {"application/json"}})
		wantError(t, resp, b, http.StatusForbidden, vault.EFORBIDDEN)
		if n := len(eventSeqs(t, owner, "action=detection.settings")); n != 1 {
			t.Errorf("detection.settings events = %d, want 1", n)
		}
	})
	t.Run("AcknowledgeResolve", func(t *testing.T) {
		resp, b := auditor.read(t, "POST", "/api/v1/alerts/"+a.ID+"/acknowledge", nil, nil)
		wantError(t, resp, b, http.StatusForbidden, vault.EFORBIDDEN)
		resp, b = stranger.read(t, "POST", "/api/v1/alerts/"+a.ID+"/acknowledge", nil, nil)
		wantError(t, resp, b, http.StatusNotFound, vault.ENOTFOUND)
		var got alertJSON
		admin.json(t, "POST", "/api/v1/alerts/"+a.ID+"/acknowledge", nil, http.StatusOK, &got)
		if got.Status != vault.AlertAcknowledged {
			t.Errorf("status = %q, want acknowledged", got.Status)
		}
		if as := alerts(t, owner, vault.AlertOpen); len(as) != 0 {
			t.Errorf("open alerts = %+v, want none", as)
		}
		resp, b = admin.read(t, "POST", "/api/v1/alerts/"+a.ID+"/resolve", bytes.NewReader([]byte(`{"note":""}`)), http.Header{"Content-Type": {"application/json"}})
		wantError(t, resp, b, http.StatusBadRequest, vault.EINVALID)
		owner.json(t, "POST", "/api/v1/alerts/"+a.ID+"/resolve", map[string]string{"note": "Checked with NOTEMARKER, a real review"}, http.StatusOK, &got)
		if got.Status != vault.AlertResolved || got.Note == "" {
			t.Errorf("resolved = %+v", got)
		}
		if as := alerts(t, auditor, vault.AlertResolved); len(as) != 1 || as[0].Note != got.Note {
			t.Errorf("resolved alerts = %+v", as)
		}
		for _, action := range []string{"alert.acknowledge", "alert.resolve"} {
			if n := len(eventSeqs(t, owner, "action="+action+"&object_id="+a.ID)); n != 1 {
				t.Errorf("%s events = %d, want 1", action, n)
			}
		}
		if hits, _ := vaulttest.MarkersInDatabase(t, e.Dir+"/casevault.db", "NOTEMARKER"); len(hits) > 0 {
			t.Errorf("note in the clear: %v", hits)
		}
		if hits, _ := vaulttest.MarkersInDatabase(t, e.Dir+"/audit.db", "NOTEMARKER"); len(hits) > 0 {
			t.Errorf("note in the clear in the audit log: %v", hits)
		}
	})
}

// countRows counts the rows of a table of e's database.
func countRows(tb testing.TB, e *env, table string) int {
	tb.Helper()
	raw, err := sql.Open("sqlite", filepath.Join(e.Dir, "casevault.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}
