package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
)

// TestUI_Alerts: the alerts pages over real HTTP with a browser's cookie
// session: the list with its status filter, the detail with the evidence,
// acknowledge, resolve and release forms; a lawyer gets the 403 page.
func TestUI_Alerts(t *testing.T) {
	e, _, _ := newDetectEnv(t)
	ou, oEmail, oPassword := e.uiUser(t, "", "")
	owner := e.login(t, oEmail, oPassword)
	setDetection(t, owner, only(vault.RuleSessionVolume, vault.RuleSettings{Threshold: 1, Contain: true}))
	lawyer, lu, _ := userPW(t, e, ou.TenantID, vault.RoleLawyer)
	doc := lawyer.upload(t, lawyer.matter(t, "M"), "a.txt", "text/plain", []byte("x")).ID
	view(t, lawyer, doc, http.StatusOK)
	view(t, lawyer, doc, http.StatusOK)
	a := alerts(t, owner, "")[0]

	base := e.Server.URL()
	c := uiClient(t)
	uiClientSignIn(t, c, base, oEmail, oPassword)
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := func(path string, form url.Values) {
		t.Helper()
		form.Set("csrf", uiClientCSRF(t, c, base+"/settings/security/alerts/"+a.ID))
		resp, err := c.PostForm(base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST %s = %d, want 303", path, resp.StatusCode)
		}
	}
	if code, body := get("/settings/security/alerts"); code != http.StatusOK || !strings.Contains(body, a.ID) || !strings.Contains(body, "contained") {
		t.Fatalf("list = %d, want the alert, contained:\n%s", code, body)
	}
	if code, body := get("/settings/security/alerts?status=resolved"); code != http.StatusOK || strings.Contains(body, a.ID) {
		t.Fatalf("resolved list = %d, want no alert", code)
	}
	code, body := get("/settings/security/alerts/" + a.ID)
	if code != http.StatusOK || !strings.Contains(body, "session_volume") || !strings.Contains(body, lu.ID) {
		t.Fatalf("detail = %d:\n%s", code, body)
	}
	for _, q := range a.Evidence {
		if !strings.Contains(body, "event "+itoa(q)) {
			t.Errorf("detail lacks evidence event %d", q)
		}
	}
	post("/settings/security/alerts/"+a.ID+"/acknowledge", url.Values{})
	post("/settings/security/alerts/"+a.ID+"/release", url.Values{})
	lawyer.json(t, "GET", "/api/v1/me", nil, http.StatusOK, nil)
	post("/settings/security/alerts/"+a.ID+"/resolve", url.Values{"note": {"Reviewed with the partner"}})
	if code, body := get("/settings/security/alerts?status=resolved"); code != http.StatusOK || !strings.Contains(body, a.ID) {
		t.Fatalf("resolved list = %d, want the alert", code)
	}
	for _, action := range []string{"alert.acknowledge", "user.release", "alert.resolve"} {
		if n := len(eventSeqs(t, owner, "action="+action)); n != 1 {
			t.Errorf("%s events = %d, want 1", action, n)
		}
	}
	// A lawyer sees the 403 page, not the alerts.
	lc := uiClient(t)
	_, lEmail, lPassword := e.uiUser(t, ou.TenantID, vault.RoleLawyer)
	uiClientSignIn(t, lc, base, lEmail, lPassword)
	resp, err := lc.Get(base + "/settings/security/alerts/" + a.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || strings.Contains(string(b), "session_volume") {
		t.Errorf("lawyer: %d, want the 403 page", resp.StatusCode)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
