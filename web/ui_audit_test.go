package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"html"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
)

// auditFixture is a firm with audit events to read: a lawyer uploads a
// document with a hostile name and downloads it twice, a colleague is
// refused, and an auditor can sign in to the UI.
type auditFixture struct {
	e                    *env
	owner, lawyer, other *vault.User
	docID, matterID      string
	auditor              *http.Client // signed in to the UI
	email, password      string       // the auditor's
	ownerAPI             *client
}

const hostileName = `<img src=x onerror=alert(1)> & "q".txt`

func newAuditFixture(t *testing.T) *auditFixture {
	t.Helper()
	e := newEnv(t)
	ownerC, owner := e.firm(t, "us")
	lawyerC, lawyer := e.user(t, owner.TenantID, vault.RoleLawyer)
	otherC, other := e.user(t, owner.TenantID, vault.RoleLawyer)
	m := lawyerC.matter(t, "Harbour lease")
	doc := lawyerC.upload(t, m, hostileName, "text/plain", []byte("lease terms"))
	for range 2 {
		lawyerC.read(t, "GET", "/api/v1/documents/"+doc.ID+"/download", nil, nil)
	}
	if resp, _ := otherC.read(t, "GET", "/api/v1/documents/"+doc.ID+"/download", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("colleague's download: %d, want 403", resp.StatusCode)
	}
	_, email, password := e.uiUser(t, owner.TenantID, vault.RoleAuditor)
	hc := uiClient(t)
	uiClientSignIn(t, hc, e.Server.URL(), email, password)
	return &auditFixture{e: e, owner: owner, lawyer: lawyer, other: other, docID: doc.ID, matterID: m, auditor: hc, ownerAPI: ownerC, email: email, password: password}
}

// get fetches path with c and returns the status and the body.
func getPage(t *testing.T, c *http.Client, u string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

var (
	rowSeq  = regexp.MustCompile(`<tr data-seq="(\d+)">`)
	sumText = func(id string) *regexp.Regexp { return regexp.MustCompile(`id="` + id + `">(\d+)<`) }
	hrefOf  = func(id string) *regexp.Regexp { return regexp.MustCompile(`<a href="([^"]+)" id="` + id + `">`) }
)

// seqs returns the sequence numbers of a page's event rows.
func seqs(body string) []string {
	var out []string
	for _, m := range rowSeq.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// summaryCount returns the number in the summary element id.
func summaryCount(t *testing.T, body, id string) int {
	t.Helper()
	m := sumText(id).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("page has no summary %s", id)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// apiSeqs returns the sequence numbers of the events the API lists for f.
func (fx *auditFixture) apiSeqs(t *testing.T, f vault.AuditFilter) []string {
	t.Helper()
	evs, _, err := fx.e.Svc.AuditEvents(context.Background(), fx.owner, f)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		out = append(out, strconv.FormatInt(ev.Seq, 10))
	}
	return out
}

func TestUIAudit_Trail(t *testing.T) {
	fx := newAuditFixture(t)
	base := fx.e.Server.URL()

	t.Run("Filter", func(t *testing.T) {
		status, body, _ := getPage(t, fx.auditor, base+"/audit?action=document.download&actor_id="+fx.lawyer.ID)
		if status != http.StatusOK {
			t.Fatalf("GET /audit: %d, want 200", status)
		}
		got, want := seqs(body), fx.apiSeqs(t, vault.AuditFilter{Action: vault.ActDocumentDownload, ActorID: fx.lawyer.ID})
		if len(want) != 2 || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("rows %v, want the API's %v (two downloads)", got, want)
		}
		if n := summaryCount(t, body, "sum-events"); n != len(got) {
			t.Errorf("summary counts %d events, want %d (the rows)", n, len(got))
		}
		if !strings.Contains(body, "Downloaded a document") {
			t.Error("rows lack the action in words")
		}
		if strings.Contains(body, hostileName) || !strings.Contains(body, html.EscapeString("<img src=x onerror=alert(1)>")) {
			t.Error("the hostile document name is not escaped")
		}
	})

	t.Run("SummaryDenials", func(t *testing.T) {
		_, body, _ := getPage(t, fx.auditor, base+"/audit?outcome=denied")
		got := seqs(body)
		if len(got) == 0 {
			t.Fatal("no denial listed")
		}
		for _, id := range []string{"sum-events", "sum-denied", "sum-denials"} {
			if n := summaryCount(t, body, id); n != len(got) {
				t.Errorf("summary %s = %d, want %d (the denied rows)", id, n, len(got))
			}
		}
		if n := summaryCount(t, body, "sum-ok"); n != 0 {
			t.Errorf("summary sum-ok = %d among denials, want 0", n)
		}
	})

	t.Run("Paging", func(t *testing.T) {
		all := fx.apiSeqs(t, vault.AuditFilter{ActorID: fx.lawyer.ID})
		if len(all) < 4 {
			t.Fatalf("lawyer has %d events, want at least 4", len(all))
		}
		_, p1, _ := getPage(t, fx.auditor, base+"/audit?limit=2&actor_id="+fx.lawyer.ID)
		m := hrefOf("page-next").FindStringSubmatch(p1)
		if m == nil {
			t.Fatal("first page has no Next link")
		}
		if strings.Contains(p1, `id="page-prev"`) {
			t.Error("first page has a Previous link")
		}
		_, p2, _ := getPage(t, fx.auditor, base+html.UnescapeString(m[1]))
		if got := append(seqs(p1), seqs(p2)...); strings.Join(got, ",") != strings.Join(all[:4], ",") {
			t.Errorf("pages 1 and 2 list %v, want %v", got, all[:4])
		}
		if n := summaryCount(t, p2, "sum-events"); n != len(all) {
			t.Errorf("summary of page 2 counts %d, want %d (the whole filtered range)", n, len(all))
		}
		m = hrefOf("page-prev").FindStringSubmatch(p2)
		if m == nil {
			t.Fatal("second page has no Previous link")
		}
		_, back, _ := getPage(t, fx.auditor, base+html.UnescapeString(m[1]))
		if got, want := seqs(back), seqs(p1); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("Previous lists %v, want the first page %v", got, want)
		}
	})

	t.Run("BadFilter", func(t *testing.T) {
		for _, tt := range []struct {
			query  string
			status int
			code   string
		}{
			{"outcome=maybe", 400, "invalid"},
			{"from=yesterday", 400, "invalid"},
			{"limit=0", 400, "invalid"},
			{"cursor=-1", 400, "invalid"},
			{"actor_id=usr_nobody", 404, "not_found"},
		} {
			status, body, _ := getPage(t, fx.auditor, base+"/audit?"+tt.query)
			if status != tt.status || !strings.Contains(body, `<code id="error-code">`+tt.code+`</code>`) {
				t.Errorf("GET /audit?%s: %d, want %d with code %s", tt.query, status, tt.status, tt.code)
			}
			if !strings.Contains(body, `id="audit-filter"`) || strings.Contains(body, `data-seq=`) {
				t.Errorf("GET /audit?%s: want the form again and no events", tt.query)
			}
		}
	})

	t.Run("DocumentAndUser", func(t *testing.T) {
		status, body, _ := getPage(t, fx.auditor, base+"/audit/documents/"+fx.docID)
		want := fx.apiSeqs(t, vault.AuditFilter{ObjectType: "document", ObjectID: fx.docID})
		if status != 200 || strings.Join(seqs(body), ",") != strings.Join(want, ",") {
			t.Errorf("document history: %d, rows %v, want 200 and %v", status, seqs(body), want)
		}
		if !strings.Contains(body, "Access history of \u201c"+html.EscapeString(hostileName)) {
			t.Error("document history does not name the document (escaped)")
		}
		status, body, _ = getPage(t, fx.auditor, base+"/audit/users/"+fx.other.ID)
		want = fx.apiSeqs(t, vault.AuditFilter{ActorID: fx.other.ID})
		if status != 200 || strings.Join(seqs(body), ",") != strings.Join(want, ",") || !strings.Contains(body, fx.other.Email) {
			t.Errorf("user activity: %d, rows %v, want 200, %v and the email", status, seqs(body), want)
		}
		if n := summaryCount(t, body, "sum-denied"); n != 1 {
			t.Errorf("colleague's denials: %d, want 1", n)
		}
	})

	t.Run("OtherFirm", func(t *testing.T) {
		otherC, otherOwner := fx.e.firm(t, "us")
		m := otherC.matter(t, "Secret merger")
		doc := otherC.upload(t, m, "Project Falcon.pdf", "application/pdf", []byte("%PDF-1.4"))
		for _, p := range []string{"/audit/documents/" + doc.ID, "/audit/users/" + otherOwner.ID, "/audit/users/operator",
			"/audit/documents/doc_nothing", "/audit?document_id=" + doc.ID, "/audit?matter_id=" + m} {
			status, body, _ := getPage(t, fx.auditor, base+p)
			if status != http.StatusNotFound || !strings.Contains(body, "not_found") {
				t.Errorf("GET %s: %d, want 404 not_found", p, status)
			}
			for _, secret := range []string{"Project Falcon", "Secret merger", otherOwner.Email} {
				if strings.Contains(body, secret) {
					t.Errorf("GET %s shows %q of another firm", p, secret)
				}
			}
		}
	})

	t.Run("Lawyer", func(t *testing.T) {
		_, email, password := fx.e.uiUser(t, fx.owner.TenantID, vault.RoleLawyer)
		hc := uiClient(t)
		uiClientSignIn(t, hc, base, email, password)
		for _, p := range []string{"/audit", "/audit/documents/" + fx.docID, "/audit/users/" + fx.lawyer.ID, "/audit/export?format=csv", "/audit/checkpoint"} {
			if status, body, _ := getPage(t, hc, base+p); status != http.StatusForbidden || !strings.Contains(body, "forbidden") {
				t.Errorf("lawyer GET %s: %d, want 403 forbidden", p, status)
			}
		}
	})

	t.Run("Export", func(t *testing.T) {
		q := "&action=document.download&actor_id=" + fx.lawyer.ID
		_, page, _ := getPage(t, fx.auditor, base+"/audit?"+q[1:])
		for _, f := range []string{"csv", "jsonl", "pdf"} {
			if !strings.Contains(page, html.EscapeString("/audit/export?action=document.download&actor_id="+fx.lawyer.ID+"&format="+f)) {
				t.Errorf("page lacks the %s export of its filter", f)
			}
		}
		want := fx.apiSeqs(t, vault.AuditFilter{Action: vault.ActDocumentDownload, ActorID: fx.lawyer.ID})
		status, body, h := getPage(t, fx.auditor, base+"/audit/export?format=csv"+q)
		if status != 200 || h.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment;") {
			t.Fatalf("csv export: %d %q %q", status, h.Get("Content-Type"), h.Get("Content-Disposition"))
		}
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil || len(rows) != len(want)+1 {
			t.Errorf("csv has %d rows (%v), want a header and %d", len(rows), err, len(want))
		}
		status, body, h = getPage(t, fx.auditor, base+"/audit/export?format=jsonl"+q)
		if status != 200 || h.Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("jsonl export: %d %q", status, h.Get("Content-Type"))
		}
		var events int
		sc := bufio.NewScanner(strings.NewReader(body))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if bytes.HasPrefix(sc.Bytes(), []byte(`{"type":"event"`)) {
				events++
			}
		}
		if events != len(want)+1 { // and the export's own event
			t.Errorf("bundle has %d events, want %d and its export event", events, len(want))
		}
		status, body, h = getPage(t, fx.auditor, base+"/audit/export?format=pdf"+q)
		if status != 200 || h.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(body, "%PDF-1.4") {
			t.Errorf("pdf export: %d %q", status, h.Get("Content-Type"))
		}
		if status, body, _ := getPage(t, fx.auditor, base+"/audit/export?format=docx"); status != 400 || !strings.Contains(body, "invalid") {
			t.Errorf("docx export: %d, want 400 invalid", status)
		}
	})

	t.Run("Checkpoint", func(t *testing.T) {
		keys, err := fx.e.Svc.AuditKeys(context.Background(), fx.owner)
		if err != nil {
			t.Fatal(err)
		}
		status, body, _ := getPage(t, fx.auditor, base+"/audit/checkpoint")
		if status != 200 {
			t.Fatalf("checkpoint page: %d", status)
		}
		body = html.UnescapeString(body)
		for _, want := range []string{keys[0].VerifierKey, "casevault audit verify --key '" + keys[0].VerifierKey + "'", `href="/audit/verify"`, `id="cp-root"`, "casevault/audit/" + fx.owner.TenantID} {
			if !strings.Contains(body, want) {
				t.Errorf("checkpoint page lacks %q", want)
			}
		}
	})
}

// TestUIAudit_Residency: the checkpoint page offers the firm's residency
// report to its auditor, /audit/residency downloads what the service
// builds (recorded first), and a lawyer gets the API's 403 as a page.
func TestUIAudit_Residency(t *testing.T) {
	fx := newAuditFixture(t)
	var asked []string
	fx.e.Svc.Residency = func(_ context.Context, tenantID string) ([]byte, error) {
		asked = append(asked, tenantID)
		return []byte("casevault-residency/1\n{}\n\n— casevault-audit-us sig\n"), nil
	}
	base := fx.e.Server.URL()
	status, body, _ := getPage(t, fx.auditor, base+"/audit/checkpoint")
	if status != http.StatusOK || !strings.Contains(body, `href="/audit/residency" id="residency-link"`) || !strings.Contains(body, "casevault residency verify --key") {
		t.Fatalf("checkpoint page: %d, no residency link or command", status)
	}
	status, body, h := getPage(t, fx.auditor, base+"/audit/residency")
	if status != http.StatusOK || !strings.HasPrefix(body, "casevault-residency/1") || !strings.Contains(h.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download: %d %q %v, want the report as an attachment", status, body, h)
	}
	if len(asked) != 1 || asked[0] != fx.owner.TenantID {
		t.Errorf("reports built for %v, want one for the auditor's firm %s", asked, fx.owner.TenantID)
	}
	evs, _, err := fx.e.Svc.AuditEvents(context.Background(), fx.owner, vault.AuditFilter{Action: vault.ActAuditRead})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range evs {
		found = found || ev.Details["read"] == "residency"
	}
	if !found {
		t.Errorf("no audit.read event with read residency among %d reads", len(evs))
	}
	_, email, password := fx.e.uiUser(t, fx.owner.TenantID, vault.RoleLawyer)
	lc := uiClient(t)
	uiClientSignIn(t, lc, base, email, password)
	if status, body, _ := getPage(t, lc, base+"/audit/residency"); status != http.StatusForbidden || !strings.Contains(body, "forbidden") {
		t.Errorf("lawyer: %d, want the 403 page", status)
	}
	if len(asked) != 1 {
		t.Errorf("a lawyer's request built a report")
	}
}
