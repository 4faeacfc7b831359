package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
)

// TestUI_Visibility fetches every GET page of the UI in the router, with
// its parameters filled with every fixture object of their kind, as every
// actor of both firms and as a signed-out visitor, over real HTTP with each
// actor's own session. Each answer must have the status the API gives the
// same actor for the same object (signed out: 303 to /signin), carry the
// UI's headers, and name (in its body, title, breadcrumbs, error message
// or headers) no matter, document, user or firm that the API does not show
// that actor. Query variants (search for a forbidden name, sorting,
// paging, filters naming forbidden objects) must not reveal more.
func TestUI_Visibility(t *testing.T) {
	m := newMatrix(t)
	m.learn(t)
	for _, a := range m.actors[:7] {
		t.Logf("%s may see %d markers outside the audit pages, %d on them", a.Label, len(a.content), len(a.audit))
	}
	// The fixture works as designed: L2 sees D1 and not D2, L3 not M2,
	// B's owner none of A.
	mk := func(what string) string {
		for k, v := range m.markers {
			if v == what {
				return k
			}
		}
		t.Fatalf("no marker for %s", what)
		return ""
	}
	for _, c := range []struct {
		actor, what string
		want        bool
	}{
		{"L2", "name of document D1", true}, {"L2", "name of document D2", false},
		{"L3", "name of matter M2", false}, {"L3", "name of matter M1", true},
		{"L1", "name of document D3", true}, {"owner", "name of document D1", false},
		{"B-owner", "name of matter M1", false}, {"B-owner", "name of document DB", true},
	} {
		if got := m.by[c.actor].content[mk(c.what)]; got != c.want {
			t.Errorf("fixture: %s may see %s = %v, want %v", c.actor, c.what, got, c.want)
		}
	}

	var pages []mxPage
	for _, r := range m.uiRoutes(http.MethodGet) {
		if _, ok := mxAPIFor(r.Path); !ok {
			t.Errorf("add %s %s to the visibility table: no API equivalent (mxPageAPIs in web/ui_matrix_routes_test.go)", r.Method, r.Path)
			continue
		}
		pages = append(pages, m.expand(t, r, nil)...)
	}
	if len(pages) == 0 {
		t.Fatal("no UI GET routes")
	}
	type job struct {
		p mxPage
		a *mxActor
	}
	var jobs []job
	for _, p := range pages {
		for _, a := range m.actors {
			jobs = append(jobs, job{p, a})
		}
	}
	mxParallel(len(jobs), func(i int) { m.checkPage(t, jobs[i].p, jobs[i].a) })
	t.Logf("%d routes, %d pages, %d actors", len(m.uiRoutes(http.MethodGet)), len(pages), len(m.actors))
}

// checkPage fetches p as a, with its variants, and checks each answer.
func (m *matrix) checkPage(t *testing.T, p mxPage, a *mxActor) {
	e, _ := mxAPIFor(p.Route.Path)
	what := p.String() + " as " + a.Label
	u := m.base + p.Path + m.query(e)
	got := mxGet(t, a.UI, u)
	mxCheckHeaders(t, what, got)
	if a.User == nil {
		switch {
		case e.Status != 0 && got.Status == e.Status:
		case e.Public && (got.Status == http.StatusOK || got.Status == http.StatusSeeOther):
		case got.Status != http.StatusSeeOther || !strings.HasPrefix(got.Location, "/signin"):
			t.Errorf("%s: %d to %q, want 303 to /signin", what, got.Status, got.Location)
		}
		m.reportLeaks(t, what, got, a, nil, nil)
		return
	}
	api := 0
	if e.API != "" {
		api, _ = mxAPIGet(t, a, p.apiPath(e))
	}
	if ok, want := mxWantStatus(e, p, a, api, got.Status); !ok {
		t.Errorf("%s: status %d, want %s; page title %q", what, got.Status, want, mxTitle(got.Body))
	}
	if got.Status >= 500 {
		t.Errorf("%s: status %d: %s", what, got.Status, mxSnippet(got.Body, 0, 0))
	}
	allowed := a.content
	if e.Audit {
		allowed = a.audit
	}
	leaked := m.reportLeaks(t, what, got, a, allowed, nil)
	if e.Heavy {
		return
	}
	for _, q := range m.variants(p, a, allowed) {
		vwhat := what + " with ?" + q
		v := mxGet(t, a.UI, u+mxSep(u)+q)
		mxCheckHeaders(t, vwhat, v)
		if got.Status != http.StatusOK && got.Status != http.StatusSeeOther && v.Status != got.Status {
			t.Errorf("%s: status %d, want %d like the page without the query", vwhat, v.Status, got.Status)
		}
		if v.Status >= 500 {
			t.Errorf("%s: status %d", vwhat, v.Status)
		}
		// What the page leaks without the query is reported once.
		m.reportLeaks(t, vwhat, v, a, allowed, leaked)
	}
	if len(p.Params) == 0 && got.Status == http.StatusOK {
		m.checkSearch(t, what, u, a, allowed)
	}
}

// reportLeaks fails for each forbidden marker in answer p but those of
// skip (already reported), and returns them.
func (m *matrix) reportLeaks(t *testing.T, what string, p mxAnswer, a *mxActor, allowed, skip map[string]bool) map[string]bool {
	out := map[string]bool{}
	for mk, l := range m.leaks(p, a, allowed) {
		out[mk] = true
		if !skip[mk] {
			t.Errorf("%s (status %d, title %q): shows %s", what, p.Status, mxTitle(p.Body), l)
		}
	}
	return out
}

// mxSep returns the separator before a query added to u.
func mxSep(u string) string {
	if strings.Contains(u, "?") {
		return "&"
	}
	return "?"
}

// variants are the query strings tried on a page: sorting and paging, and
// filters naming every fixture object (among them those the actor must not
// see, and another firm's).
func (m *matrix) variants(p mxPage, a *mxActor, allowed map[string]bool) []string {
	out := []string{"sort=name&order=desc", "sort=updated&dir=asc&page=2&per_page=1", "page=99999&limit=1", "after_seq=1&limit=1"}
	if a.Label == "signed-out" || len(p.Params) > 0 {
		return out[:2]
	}
	// The objects someone may not see: behind a wall, without a grant,
	// of the other firm, or nowhere.
	for _, id := range []string{m.M2, m.MB, m.objects["matter"][len(m.objects["matter"])-1].ID} {
		out = append(out, "matter_id="+id+"&matter="+id)
	}
	for _, id := range []string{m.D2, m.D3, m.DB} {
		out = append(out, "document_id="+id+"&document="+id+"&object_type=document&object_id="+id)
	}
	for _, l := range []string{"L1", "L3", "B-owner"} {
		id := m.by[l].User.ID
		out = append(out, "actor_id="+id+"&user_id="+id+"&user="+id)
	}
	return out
}

// checkSearch searches a list page for each marker the actor must not
// see: the answer must be that of a search for a name that exists nowhere
// (the query itself may be shown back, no more often), so that no count,
// row or message reveals that such a name exists.
func (m *matrix) checkSearch(t *testing.T, what, u string, a *mxActor, allowed map[string]bool) {
	ghost := "zqnonex" + strings.ToLower(vault.NewID("g")[2:12])
	search := func(q string) mxAnswer {
		return mxGet(t, a.UI, u+mxSep(u)+"q="+url.QueryEscape(q)+"&search="+url.QueryEscape(q))
	}
	norm := func(p mxAnswer, q string) string {
		return fmt.Sprint(p.Status) + strings.ReplaceAll(p.Body, q, "QUERY")
	}
	base := search(ghost)
	stable := norm(base, ghost) == norm(search(ghost), ghost)
	for mk, desc := range m.markers {
		if allowed[mk] && m.firmOf[mk] == a.Firm {
			continue
		}
		got := search(mk)
		if n, want := strings.Count(got.Body, mk), strings.Count(base.Body, ghost); n > want {
			t.Errorf("%s with ?q=%s: the %s appears %d times, a search for nothing shows its query %d times: …%s…",
				what, mk, desc, n, want, mxSnippet(got.Body, strings.LastIndex(got.Body, mk), len(mk)))
		}
		if stable && norm(got, mk) != norm(base, ghost) {
			t.Errorf("%s with ?q=%s (%s): the answer (status %d, %d bytes) differs from a search for nothing (status %d, %d bytes): it reveals that the name exists",
				what, mk, desc, got.Status, len(got.Body), base.Status, len(base.Body))
		}
	}
}
