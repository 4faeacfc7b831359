package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
)

// mattersUser is a signed-in HTTP client of the UI for one user.
type mattersUser struct {
	c    *http.Client
	base string
	csrf string
}

// mattersSession signs email in through the sign-in form and reads the CSRF
// token of its pages.
func mattersSession(tb testing.TB, base, email, password string) *mattersUser {
	tb.Helper()
	c := uiClient(tb)
	uiClientSignIn(tb, c, base, email, password)
	return &mattersUser{c: c, base: base, csrf: uiClientCSRF(tb, c, base+"/matters")}
}

// get returns the status and body of GET path.
func (m *mattersUser) get(tb testing.TB, path string) (int, string) {
	tb.Helper()
	resp, err := m.c.Get(m.base + path)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// post sends a form with the page's CSRF token and returns the answer.
func (m *mattersUser) post(tb testing.TB, path string, form url.Values) (*http.Response, string) {
	tb.Helper()
	form.Set("csrf", m.csrf)
	resp, err := m.c.PostForm(m.base+path, form)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// seedDocuments puts n small documents into the matter as u, named
// doc-0000.txt… with sizes growing with their number.
func seedDocuments(tb testing.TB, svc *vault.Service, u *vault.User, matterID string, n int) {
	tb.Helper()
	ctx := context.Background()
	for i := range n {
		body := bytes.Repeat([]byte("x"), i+1)
		if _, err := svc.PutDocument(ctx, u, vault.NewDocument{MatterID: matterID, Name: fmt.Sprintf("doc-%04d.txt", i), ContentType: "text/plain"},
			bytes.NewReader(body), int64(len(body))); err != nil {
			tb.Fatalf("PutDocument %d: %v", i, err)
		}
	}
}

// rowNames returns the document names of a matter page's table, in order.
var rowName = regexp.MustCompile(`<tr><td><a href="/documents/[^"]+">([^<]*)</a>`)

func rowNames(page string) []string {
	var out []string
	for _, m := range rowName.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestUIMatters_Home answers / with the first page of each role.
func TestUIMatters_Home(t *testing.T) {
	e := newEnv(t)
	owner, email, password := e.uiUser(t, "", "")
	_, lemail, lpassword := e.uiUser(t, owner.TenantID, vault.RoleLawyer)
	_, aemail, apassword := e.uiUser(t, owner.TenantID, vault.RoleAuditor)
	base := e.Server.URL()
	for _, tc := range []struct{ email, password, want string }{
		{email, password, "/matters"}, {lemail, lpassword, "/matters"}, {aemail, apassword, "/audit"},
	} {
		c := uiClient(t)
		uiClientSignIn(t, c, base, tc.email, tc.password)
		resp, err := c.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || got != tc.want {
			t.Errorf("GET / : %d to %q, want 303 to %q", resp.StatusCode, got, tc.want)
		}
	}
}

// TestUIMatters_Search lists, searches and filters the matters page.
func TestUIMatters_Search(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	owner, email, password := e.uiUser(t, "", "")
	u := mattersSession(t, e.Server.URL(), email, password)

	if status, page := u.get(t, "/matters"); status != http.StatusOK || !strings.Contains(page, `id="no-matters"`) {
		t.Fatalf("empty firm: %d, want 200 with the no-matters state", status)
	}
	for _, m := range [][2]string{{"Estate of Doe", "J. Doe"}, {"Harbour lease renewal", "Harbour Foods Ltd"}, {"Smith v. Jones", "Acme Corp"}} {
		if _, err := e.Svc.CreateMatter(ctx, owner, m[0], m[1]); err != nil {
			t.Fatal(err)
		}
	}
	closed, err := e.Svc.CreateMatter(ctx, owner, "Closed probate", "Old Client")
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, err := e.Svc.UpdateMatter(ctx, owner, closed.ID, vault.MatterUpdate{Closed: &yes}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		query      string
		want, not  []string
		emptyState string
	}{
		{"", []string{"Estate of Doe", "Harbour lease renewal", "Smith v. Jones"}, []string{"Closed probate"}, ""},
		{"?q=doe", []string{"Estate of Doe"}, []string{"Harbour", "Smith"}, ""},
		{"?q=HARBOUR+foods", []string{"Harbour lease renewal"}, []string{"Estate of Doe"}, ""},
		{"?q=acme", []string{"Smith v. Jones"}, []string{"Estate of Doe"}, ""},
		{"?q=probate", nil, []string{"Closed probate"}, `id="no-match"`},
		{"?q=probate&closed=1", []string{"Closed probate", "Closed"}, []string{"Estate of Doe"}, ""},
		{"?closed=1", []string{"Estate of Doe", "Closed probate"}, nil, ""},
		{"?q=nothing+like+it", nil, []string{"Estate of Doe"}, `id="no-match"`},
	} {
		status, page := u.get(t, "/matters"+tc.query)
		if status != http.StatusOK {
			t.Fatalf("GET /matters%s: %d, want 200", tc.query, status)
		}
		table := page
		if i := strings.Index(page, `<section aria-labelledby="new-matter">`); i >= 0 {
			table = page[:i]
		}
		for _, w := range tc.want {
			if !strings.Contains(table, w) {
				t.Errorf("GET /matters%s: no %q, want it", tc.query, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(table, n) {
				t.Errorf("GET /matters%s: %q listed, want it left out", tc.query, n)
			}
		}
		if tc.emptyState != "" && !strings.Contains(table, tc.emptyState) {
			t.Errorf("GET /matters%s: no %s, want the nothing-matches state", tc.query, tc.emptyState)
		}
	}
}

// TestUIMatters_Create opens a matter through the form, and sends refused
// input back with the API's message and code and everything typed.
func TestUIMatters_Create(t *testing.T) {
	e := newEnv(t)
	owner, _, _ := e.uiUser(t, "", "")
	_, lemail, lpassword := e.uiUser(t, owner.TenantID, vault.RoleLawyer)
	u := mattersSession(t, e.Server.URL(), lemail, lpassword)

	resp, _ := u.post(t, "/matters", url.Values{"name": {"Estate of Roe"}, "client": {"R. Roe"}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/matters/mat_") {
		t.Fatalf("create: %d to %q, want 303 to /matters/ID", resp.StatusCode, loc)
	}
	status, page := u.get(t, loc)
	if status != http.StatusOK || !strings.Contains(page, "<h1>Estate of Roe</h1>") || !strings.Contains(page, "R. Roe") {
		t.Fatalf("new matter's page: %d, want its name and client", status)
	}

	if !strings.Contains(page, "data-upload") {
		t.Error("open matter's page: no upload form")
	}
	yes := true
	if _, err := e.Svc.UpdateMatter(context.Background(), owner, strings.TrimPrefix(loc, "/matters/"), vault.MatterUpdate{Closed: &yes}); err != nil {
		t.Fatal(err)
	}
	if _, page := u.get(t, loc); strings.Contains(page, "data-upload") || !strings.Contains(page, `id="matter-closed"`) {
		t.Error("closed matter's page: want no upload form (the service refuses), and the closed note")
	}

	// Refused: a name with a right-to-left override; the client typed is
	// kept, and so is the name, escaped.
	resp, page = u.post(t, "/matters", url.Values{"name": {"Invoice\u202egpj.exe <b>"}, "client": {"Kept & Co"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("refused name: %d, want 400", resp.StatusCode)
	}
	for _, want := range []string{`id="form-error"`, "(invalid)", `value="Kept &amp; Co"`, "&lt;b&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("refused form: no %q in the page", want)
		}
	}
	ms, err := e.Svc.Matters(context.Background(), owner, true)
	if err != nil || len(ms) != 1 {
		t.Fatalf("matters after one refusal: %d (%v), want 1", len(ms), err)
	}

	// An auditor is offered no form, and is refused by the service.
	_, aemail, apassword := e.uiUser(t, owner.TenantID, vault.RoleAuditor)
	a := mattersSession(t, e.Server.URL(), aemail, apassword)
	if _, page := a.get(t, "/matters"); strings.Contains(page, "create-matter") {
		t.Error("auditor's matters page offers the create form")
	}
	if resp, _ := a.post(t, "/matters", url.Values{"name": {"Nope"}, "client": {"Nobody"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("auditor creating a matter: %d, want 403", resp.StatusCode)
	}
}

// TestUIMatters_Page sorts and pages a matter of 1,005 documents.
func TestUIMatters_Page(t *testing.T) {
	e := newEnv(t)
	owner, email, password := e.uiUser(t, "", "")
	m, err := e.Svc.CreateMatter(context.Background(), owner, "Big matter", "Big Client")
	if err != nil {
		t.Fatal(err)
	}
	const n = 1005
	seedDocuments(t, e.Svc, owner, m.ID, n)
	u := mattersSession(t, e.Server.URL(), email, password)
	base := "/matters/" + m.ID

	status, page := u.get(t, base)
	if status != http.StatusOK {
		t.Fatalf("matter page: %d", status)
	}
	names := rowNames(page)
	if len(names) != 50 || names[0] != "doc-0000.txt" || names[49] != "doc-0049.txt" {
		t.Fatalf("page 1 by name: %d rows %q…, want 50 from doc-0000.txt", len(names), names[:min(3, len(names))])
	}
	if !strings.Contains(page, "1–50 of 1005") {
		t.Error(`page 1: no "1–50 of 1005"`)
	}
	if !strings.Contains(page, `aria-current="page">1</a>`) || !strings.Contains(page, ">21</a>") || !strings.Contains(page, `rel="next"`) {
		t.Error("page 1: want the pager with page 1 current, a link to 21 and Next")
	}
	if !strings.Contains(page, "<td>You</td>") || !strings.Contains(page, "text/plain") || !strings.Contains(page, "<td>1</td>") {
		t.Error("rows: want who added them, their type and version")
	}

	_, page = u.get(t, base+"?sort=size&dir=desc&page=2")
	if names := rowNames(page); len(names) != 50 || names[0] != "doc-0954.txt" {
		t.Fatalf("page 2 by size, largest first: %q…, want doc-0954.txt first", names[:min(3, len(names))])
	}
	if !strings.Contains(page, "51–100 of 1005") || !strings.Contains(page, `aria-sort="descending"`) {
		t.Error(`page 2 by size: want "51–100 of 1005" and the size column marked descending`)
	}
	_, page = u.get(t, base+"?sort=name&dir=desc&page=999")
	if names := rowNames(page); len(names) != 5 || names[4] != "doc-0000.txt" {
		t.Fatalf("past the last page: %q, want the last page's 5 rows ending with doc-0000.txt", names)
	}
	if !strings.Contains(page, "1001–1005 of 1005") {
		t.Error(`last page: want "1001–1005 of 1005"`)
	}
	_, page = u.get(t, base+"?sort=updated&dir=asc")
	if names := rowNames(page); len(names) != 50 || names[0] != "doc-0000.txt" {
		t.Fatalf("by updated time: %q…, want the oldest first", names[:min(3, len(names))])
	}
	_, page = u.get(t, base+"?sort=%3Cscript%3E&dir=sideways")
	if names := rowNames(page); len(names) != 50 || names[0] != "doc-0000.txt" || strings.Contains(page, "<script>") {
		t.Fatal("an unknown sort: want the default order, and the parameter not echoed")
	}
}

// TestUIMatters_Visibility opens matters the user may not see, and checks
// that hostile names are escaped and others' documents left out.
func TestUIMatters_Visibility(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	owner, email, password := e.uiUser(t, "", "")
	lawyer, lemail, lpassword := e.uiUser(t, owner.TenantID, vault.RoleLawyer)
	other, _, _ := e.uiUser(t, "", "")
	hostile := `<img src=x onerror=alert(1)>`
	mine, err := e.Svc.CreateMatter(ctx, owner, "Matter "+hostile, "Client <script>alert(2)</script>")
	if err != nil {
		t.Fatal(err)
	}
	body := "hello"
	if _, err := e.Svc.PutDocument(ctx, owner, vault.NewDocument{MatterID: mine.ID, Name: `"><svg onload=alert(3)>.pdf`, ContentType: `text/plain; name="<b>x"`},
		strings.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Svc.PutDocument(ctx, lawyer, vault.NewDocument{MatterID: mine.ID, Name: "lawyers-private-notes.txt"},
		strings.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
	theirs, err := e.Svc.CreateMatter(ctx, other, "Other firm secret matter", "Other firm secret client")
	if err != nil {
		t.Fatal(err)
	}
	walledOff, err := e.Svc.CreateMatter(ctx, owner, "Walled merger talks", "Walled Client")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Svc.AddWall(ctx, owner, walledOff.ID, lawyer.ID); err != nil {
		t.Fatal(err)
	}

	o := mattersSession(t, e.Server.URL(), email, password)
	_, page := o.get(t, "/matters/"+mine.ID)
	for _, raw := range []string{hostile, "<script>", "<svg", "<b>"} {
		if strings.Contains(page, raw) {
			t.Errorf("matter page: %q unescaped", raw)
		}
	}
	if !strings.Contains(page, "&lt;img src=x onerror=alert(1)&gt;") || !strings.Contains(page, "&lt;svg onload=alert(3)&gt;.pdf") {
		t.Error("matter page: want the hostile names shown, escaped")
	}
	if strings.Contains(page, "lawyers-private-notes") {
		t.Error("owner's page lists a lawyer's document the service does not show the owner")
	}
	_, page = o.get(t, "/matters")
	if strings.Contains(page, hostile) || !strings.Contains(page, "Matter &lt;img") {
		t.Error("matters list: want the hostile name escaped")
	}

	l := mattersSession(t, e.Server.URL(), lemail, lpassword)
	for _, tc := range []struct {
		id     string
		status int
		names  []string
	}{
		{theirs.ID, http.StatusNotFound, []string{"Other firm secret"}},
		{"mat_doesnotexist0000000000", http.StatusNotFound, nil},
		{walledOff.ID, http.StatusForbidden, []string{"Walled merger", "Walled Client"}},
	} {
		status, page := l.get(t, "/matters/"+tc.id)
		if status != tc.status {
			t.Errorf("GET /matters/%s: %d, want %d (as the API)", tc.id, status, tc.status)
		}
		for _, name := range tc.names {
			if strings.Contains(page, name) {
				t.Errorf("GET /matters/%s: the page names %q", tc.id, name)
			}
		}
		// The upload into it is refused as the API would, in JSON.
		resp := l.upload(t, tc.id, "x.txt", "x", true)
		if resp.status != tc.status || !strings.Contains(resp.body, `"error"`) {
			t.Errorf("upload into %s: %d %s, want %d JSON", tc.id, resp.status, resp.body, tc.status)
		}
	}
	if _, page := l.get(t, "/matters"); strings.Contains(page, "Walled merger") || strings.Contains(page, "Other firm") {
		t.Error("lawyer's matters list names a walled or another firm's matter")
	}
	if _, page := l.get(t, "/matters/"+mine.ID); !strings.Contains(page, "lawyers-private-notes.txt") || strings.Contains(page, "alert(3)") {
		t.Error("lawyer's matter page: want their own document and not the owner's")
	}
}
