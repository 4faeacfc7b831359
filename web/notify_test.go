package web_test

import (
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casevault/casevault/notify"
	"github.com/casevault/casevault/vault"
)

// hookReceiver is an HTTPS webhook receiver that checks signatures with
// the secret it is given; while down it answers 503.
type hookReceiver struct {
	mu     sync.Mutex
	secret string
	down   bool
	got    []string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	b, _ := io.ReadAll(r.Body)
	if err := notify.Verify(h.secret, r.Header.Get(notify.HeaderSignature), b, time.Now(), 5*time.Minute); err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	h.got = append(h.got, string(b))
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) set(secret string, down bool) {
	h.mu.Lock()
	h.secret, h.down = secret, down
	h.mu.Unlock()
}

func (h *hookReceiver) count() int { h.mu.Lock(); defer h.mu.Unlock(); return len(h.got) }

// withNotify gives e's service a notify worker with fast retries that
// trusts roots and reaches loopback, and returns it.
func withNotify(t *testing.T, e *env, roots *x509.CertPool) *notify.Worker {
	t.Helper()
	w := notify.New(notify.Options{Store: e.DB, Recorder: e.Svc, RootCAs: roots, AllowPrivate: true, Attempts: 2,
		FirstRetry: 10 * time.Millisecond, MaxRetry: 20 * time.Millisecond, Interval: 20 * time.Millisecond,
		PublicURL: "https://vault.example", Now: e.Clock.Now})
	e.Svc.Notifier = w
	w.Start()
	t.Cleanup(w.Close)
	return w
}

type deliveryAnswer struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	Attempts []struct {
		N      int    `json:"n"`
		Status int    `json:"status"`
		Error  string `json:"error"`
	} `json:"attempts"`
	Notice struct {
		Kind string `json:"kind"`
	} `json:"notice"`
}

// waitDelivery polls the deliveries as c until id is in state.
func waitDelivery(t *testing.T, c *client, path, id, state string) deliveryAnswer {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var list []deliveryAnswer
		c.json(t, "GET", path, nil, http.StatusOK, &list)
		for _, d := range list {
			if d.ID == id && d.State == state {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s never %s in %s: %+v", id, state, path, list)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNotificationsAPI: over real HTTP, an owner adds a webhook (its
// secret shown once), an auditor lists it without the secret, a lawyer is
// forbidden, another firm gets not_found; a test send arrives signed; a
// receiver that is down leaves a dead letter that a redrive delivers.
func TestNotificationsAPI(t *testing.T) {
	e := newEnv(t)
	rc := &hookReceiver{}
	ts := httptest.NewTLSServer(rc)
	defer ts.Close()
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())
	withNotify(t, e, roots)

	owner, o := e.firm(t, "us")
	auditor, _ := e.user(t, o.TenantID, vault.RoleAuditor)
	lawyer, _ := e.user(t, o.TenantID, vault.RoleLawyer)
	other, _ := e.firm(t, "us")

	var ch struct {
		ID, Kind, URL, Secret string
	}
	owner.json(t, "POST", "/api/v1/notifications/channels", map[string]any{"kind": "webhook", "url": ts.URL + "/in"}, http.StatusCreated, &ch)
	if !strings.HasPrefix(ch.Secret, vault.WebhookSecretPrefix) || ch.Kind != "webhook" {
		t.Fatalf("created: got %+v, want a webhook with its secret", ch)
	}
	rc.set(ch.Secret, false)
	body := string(auditor.json(t, "GET", "/api/v1/notifications/channels", nil, http.StatusOK, nil))
	if strings.Contains(body, ch.Secret) || !strings.Contains(body, ch.ID) {
		t.Errorf("auditor's list: got %s, want the channel without its secret", body)
	}
	resp, b := lawyer.read(t, "GET", "/api/v1/notifications/channels", nil, nil)
	wantError(t, resp, b, http.StatusForbidden, vault.EFORBIDDEN)
	resp, b = auditor.read(t, "POST", "/api/v1/notifications/channels", strings.NewReader(`{"kind":"webhook","url":"https://x.example"}`), http.Header{"Content-Type": {"application/json"}})
	wantError(t, resp, b, http.StatusForbidden, vault.EFORBIDDEN)
	resp, b = other.read(t, "DELETE", "/api/v1/notifications/channels/"+ch.ID, nil, nil)
	wantError(t, resp, b, http.StatusNotFound, vault.ENOTFOUND)
	resp, b = other.read(t, "POST", "/api/v1/notifications/channels/"+ch.ID+"/test", nil, nil)
	wantError(t, resp, b, http.StatusNotFound, vault.ENOTFOUND)
	resp, b = owner.read(t, "POST", "/api/v1/notifications/channels", strings.NewReader(`{"kind":"email","recipients":["a@firm.example"]}`), http.Header{"Content-Type": {"application/json"}})
	wantError(t, resp, b, http.StatusBadRequest, vault.EINVALID)

	var test deliveryAnswer
	owner.json(t, "POST", "/api/v1/notifications/channels/"+ch.ID+"/test", nil, http.StatusAccepted, &test)
	d := waitDelivery(t, auditor, "/api/v1/notifications/deliveries", test.ID, vault.DeliveryDelivered)
	if d.Notice.Kind != vault.NoticeTest || len(d.Attempts) != 1 || d.Attempts[0].Status != http.StatusNoContent {
		t.Errorf("test delivery: got %+v", d)
	}
	if got := rc.count(); got != 1 {
		t.Errorf("received: got %d, want 1", got)
	}

	rc.set(ch.Secret, true)
	owner.json(t, "POST", "/api/v1/notifications/channels/"+ch.ID+"/test", nil, http.StatusAccepted, &test)
	d = waitDelivery(t, auditor, "/api/v1/notifications/dead-letters", test.ID, vault.DeliveryDead)
	if len(d.Attempts) != 2 || d.Attempts[1].Status != http.StatusServiceUnavailable || d.Attempts[1].Error != "http_status" {
		t.Errorf("dead letter: got %+v, want 2 attempts ending in 503", d)
	}
	resp, b = lawyer.read(t, "POST", "/api/v1/notifications/dead-letters/"+test.ID+"/redrive", nil, nil)
	wantError(t, resp, b, http.StatusForbidden, vault.EFORBIDDEN)
	resp, b = other.read(t, "POST", "/api/v1/notifications/dead-letters/"+test.ID+"/redrive", nil, nil)
	wantError(t, resp, b, http.StatusNotFound, vault.ENOTFOUND)
	rc.set(ch.Secret, false)
	owner.json(t, "POST", "/api/v1/notifications/dead-letters/"+test.ID+"/redrive", nil, http.StatusAccepted, nil)
	waitDelivery(t, owner, "/api/v1/notifications/deliveries?state=delivered", test.ID, vault.DeliveryDelivered)
	if got := rc.count(); got != 2 {
		t.Errorf("received: got %d, want 2", got)
	}
	resp, b = owner.read(t, "GET", "/api/v1/notifications/deliveries?state=lost", nil, nil)
	wantError(t, resp, b, http.StatusBadRequest, vault.EINVALID)

	owner.json(t, "DELETE", "/api/v1/notifications/channels/"+ch.ID, nil, http.StatusNoContent, nil)
	var list []any
	owner.json(t, "GET", "/api/v1/notifications/channels", nil, http.StatusOK, &list)
	if list == nil || len(list) != 0 {
		t.Errorf("after delete: got %v, want []", list)
	}
}

// TestNotificationsPage: the UI page lists channels, adds a webhook
// (showing its secret once), sends a test and redrives a dead letter, for
// owners and admins; auditors read it without forms; lawyers are refused.
func TestNotificationsPage(t *testing.T) {
	e := newEnv(t)
	rc := &hookReceiver{}
	ts := httptest.NewTLSServer(rc)
	defer ts.Close()
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())
	withNotify(t, e, roots)
	base := e.Server.URL()
	page := base + "/settings/security/notifications"

	owner, email, password := e.uiUser(t, "", "")
	c := uiClient(t)
	uiClientSignIn(t, c, base, email, password)
	get := func(c *http.Client) (int, string) {
		t.Helper()
		resp, err := c.Get(page)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, html := get(c)
	if status != http.StatusOK || !strings.Contains(html, `id="no-channels"`) || !strings.Contains(html, `id="email-not-configured"`) {
		t.Fatalf("owner's page: %d\n%s", status, html)
	}
	post := func(c *http.Client, path string, form url.Values) *http.Response {
		t.Helper()
		form.Set("csrf", uiClientCSRF(t, c, page))
		resp, err := c.PostForm(base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := post(c, "/settings/security/notifications/channels", url.Values{"kind": {"webhook"}, "url": {ts.URL + "/hook"}})
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`<code id="secret">(cvwh_[0-9a-f]+)</code>`).FindStringSubmatch(string(b))
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("add webhook: %d, no secret shown\n%s", resp.StatusCode, b)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("the secret's page: Cache-Control %q, want no-store", cc)
	}
	rc.set(m[1], true)
	_, html = get(c)
	if strings.Contains(html, m[1]) {
		t.Error("the secret is shown again")
	}
	chID := regexp.MustCompile(`data-channel="(nch_[a-z2-7]+)"`).FindStringSubmatch(html)
	if chID == nil {
		t.Fatalf("no channel listed:\n%s", html)
	}
	resp = post(c, "/settings/security/notifications/channels/"+chID[1]+"/test", url.Values{})
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("test: got %d, want 303", resp.StatusCode)
	}
	var dead []string
	deadline := time.Now().Add(10 * time.Second)
	for len(dead) < 2 {
		_, html = get(c)
		dead = regexp.MustCompile(`/dead-letters/(ndl_[a-z2-7]+)/redrive`).FindStringSubmatch(html)
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter shown:\n%s", html)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(html, "http_status (503)") {
		t.Errorf("dead letter without its last error:\n%s", html)
	}

	// An auditor reads, without forms; a lawyer is refused.
	_, aEmail, aPassword := e.uiUser(t, owner.TenantID, vault.RoleAuditor)
	ac := uiClient(t)
	uiClientSignIn(t, ac, base, aEmail, aPassword)
	status, html = get(ac)
	if status != http.StatusOK || !strings.Contains(html, chID[1]) || strings.Contains(html, "/redrive") || strings.Contains(html, `id="add-webhook"`) {
		t.Errorf("auditor's page: %d\n%s", status, html)
	}
	resp = post(ac, "/settings/security/notifications/dead-letters/"+dead[1]+"/redrive", url.Values{})
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("auditor's redrive: got %d, want 403", resp.StatusCode)
	}
	_, lEmail, lPassword := e.uiUser(t, owner.TenantID, vault.RoleLawyer)
	lc := uiClient(t)
	uiClientSignIn(t, lc, base, lEmail, lPassword)
	if status, _ := get(lc); status != http.StatusForbidden {
		t.Errorf("lawyer's page: got %d, want 403", status)
	}

	rc.set(m[1], false)
	resp = post(c, "/settings/security/notifications/dead-letters/"+dead[1]+"/redrive", url.Values{})
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("redrive: got %d, want 303", resp.StatusCode)
	}
	deadline = time.Now().Add(10 * time.Second)
	for rc.count() < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the redriven letter never arrived")
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp = post(c, "/settings/security/notifications/channels/"+chID[1]+"/delete", url.Values{})
	resp.Body.Close()
	if _, html = get(c); !strings.Contains(html, `id="no-channels"`) {
		t.Errorf("after delete: the channel is still listed")
	}
}
