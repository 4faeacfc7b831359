package web_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	_ "modernc.org/sqlite"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/internal/refverify"
	"github.com/casevault/casevault/vault"
)

// auditEvents reads every event of the caller's firm matching query,
// following the cursor with small pages.
func auditEvents(t *testing.T, c *client, query string) []vault.AuditRecord {
	t.Helper()
	var all []vault.AuditRecord
	cursor := ""
	for range 1000 {
		var page struct {
			Events     []vault.AuditRecord `json:"events"`
			NextCursor *int64              `json:"next_cursor"`
		}
		c.json(t, "GET", "/api/v1/audit/events?limit=7&"+query+cursor, nil, http.StatusOK, &page)
		all = append(all, page.Events...)
		if page.NextCursor == nil {
			return all
		}
		cursor = fmt.Sprintf("&cursor=%d", *page.NextCursor)
	}
	t.Fatal("audit paging does not end")
	return nil
}

// TestAudit_EveryAction drives each kind of action through the API and
// finds its event in the firm's log, read back through the API.
func TestAudit_EveryAction(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	setupToken, err := e.Svc.IssueSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	anon := e.client()
	anon.json(t, "POST", "/api/v1/setup", map[string]string{
		"token": setupToken, "firm_name": "Harbour LLP", "region": "ca",
		"owner_email": "owner@harbour.example", "owner_password": "correct horse battery staple",
	}, http.StatusCreated, nil)
	owner := e.login(t, "owner@harbour.example", "correct horse battery staple")
	var me vault.User
	owner.json(t, "GET", "/api/v1/me", nil, http.StatusOK, &me)

	mkUser := func(email, role string) *vault.User {
		var u vault.User
		owner.json(t, "POST", "/api/v1/users", map[string]string{"email": email, "role": role, "password": "a long enough passphrase"}, http.StatusCreated, &u)
		if u.ID == "" {
			t.Fatal("user create answered no id")
		}
		return &u
	}
	lawyerU := mkUser("lawyer@harbour.example", "lawyer")
	otherU := mkUser("other@harbour.example", "lawyer")
	auditorU := mkUser("auditor@harbour.example", "auditor")
	temp := mkUser("temp@harbour.example", "lawyer")
	owner.json(t, "PATCH", "/api/v1/users/"+temp.ID, map[string]string{"role": "admin"}, http.StatusOK, nil)
	owner.json(t, "PATCH", "/api/v1/users/"+temp.ID, map[string]bool{"disabled": true}, http.StatusOK, nil)

	// A failed sign-in, then real ones.
	resp, b := anon.read(t, "POST", "/api/v1/auth/login", strings.NewReader(`{"email":"lawyer@harbour.example","password":"nope, wrong"}`), http.Header{"Content-Type": {"application/json"}})
	wantError(t, resp, b, http.StatusUnauthorized, "unauthorized")
	lawyer := e.login(t, "lawyer@harbour.example", "a long enough passphrase")
	other := e.login(t, "other@harbour.example", "a long enough passphrase")
	auditor := e.login(t, "auditor@harbour.example", "a long enough passphrase")

	var tok struct {
		ID string `json:"id"`
	}
	lawyer.json(t, "POST", "/api/v1/tokens", map[string]string{"name": "scanner"}, http.StatusCreated, &tok)
	lawyer.json(t, "DELETE", "/api/v1/tokens/"+tok.ID, nil, http.StatusNoContent, nil)

	mid := lawyer.matter(t, "Marker-Matter")
	mid2 := lawyer.matter(t, "Other Matter")
	lawyer.json(t, "PATCH", "/api/v1/matters/"+mid2, map[string]any{"name": "Other Matter 2", "closed": true}, http.StatusOK, nil)
	owner.json(t, "PATCH", "/api/v1/matters/"+mid2, map[string]any{"closed": false}, http.StatusOK, nil)
	d := lawyer.upload(t, mid, "Marker-Doc.pdf", "application/pdf", []byte("the contents"))
	resp, b = lawyer.read(t, "PUT", "/api/v1/documents/"+d.ID+"/content", strings.NewReader("new contents"), http.Header{"Content-Type": {"application/pdf"}})
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		t.Fatalf("new version = %d %s", resp.StatusCode, b)
	}
	for _, p := range []string{"/content", "/download"} {
		if resp, b := lawyer.read(t, "GET", "/api/v1/documents/"+d.ID+p, nil, nil); resp.StatusCode != http.StatusOK || string(b) != "new contents" {
			t.Fatalf("GET %s = %d %q", p, resp.StatusCode, b)
		}
	}
	lawyer.json(t, "PATCH", "/api/v1/documents/"+d.ID, map[string]string{"name": "Marker-Renamed.pdf"}, http.StatusOK, nil)
	lawyer.json(t, "PATCH", "/api/v1/documents/"+d.ID, map[string]string{"matter_id": mid2}, http.StatusOK, nil)
	lawyer.json(t, "DELETE", "/api/v1/documents/"+d.ID, nil, http.StatusOK, nil)
	lawyer.json(t, "POST", "/api/v1/documents/"+d.ID+"/restore", nil, http.StatusOK, nil)

	var g struct {
		ID string `json:"id"`
	}
	lawyer.json(t, "POST", "/api/v1/grants", map[string]any{"user_id": otherU.ID, "document_id": d.ID, "permissions": []string{"read"}}, http.StatusCreated, &g)
	lawyer.json(t, "DELETE", "/api/v1/grants/"+g.ID, nil, http.StatusOK, nil)
	resp, b = other.read(t, "GET", "/api/v1/documents/"+d.ID+"/download", nil, nil)
	wantError(t, resp, b, http.StatusForbidden, "forbidden")
	owner.json(t, "POST", "/api/v1/matters/"+mid+"/walls", map[string]string{"user_id": otherU.ID}, http.StatusCreated, nil)
	owner.json(t, "DELETE", "/api/v1/matters/"+mid+"/walls/"+otherU.ID, nil, http.StatusNoContent, nil)
	other.json(t, "POST", "/api/v1/auth/logout", nil, http.StatusNoContent, nil)

	if resp, b := auditor.read(t, "GET", "/api/v1/audit/export?format=csv", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("export = %d %s", resp.StatusCode, b)
	}
	// A lawyer may not read the audit.
	resp, b = lawyer.read(t, "GET", "/api/v1/audit/events", nil, nil)
	wantError(t, resp, b, http.StatusForbidden, "forbidden")

	evs := auditEvents(t, auditor, "")
	var actions []string
	var last int64
	for _, ev := range evs {
		actions = append(actions, ev.Action)
		if ev.Seq != last+1 {
			t.Errorf("seq %d after %d", ev.Seq, last)
		}
		last = ev.Seq
	}
	for _, want := range []string{
		vault.ActSetup, vault.ActLogin, vault.ActLoginFailed, vault.ActLogout, vault.ActTokenCreate, vault.ActTokenRevoke,
		vault.ActUserCreate, vault.ActUserRoleChange, vault.ActUserDisable, vault.ActMatterCreate,
		vault.ActMatterRename, vault.ActMatterClose, vault.ActMatterReopen,
		vault.ActDocumentUpload, vault.ActDocumentVersion, vault.ActDocumentView, vault.ActDocumentDownload, vault.ActReadComplete,
		vault.ActDocumentRename, vault.ActDocumentMove, vault.ActDocumentTrash, vault.ActDocumentRestore,
		vault.ActGrantCreate, vault.ActGrantRevoke, vault.ActAccessDenied, vault.ActWallAdd, vault.ActWallRemove,
		vault.ActAuditExport, vault.ActAuditRead,
	} {
		if !slices.Contains(actions, want) {
			t.Errorf("no %s event in %v", want, actions)
		}
	}
	// Events carry the request's origin, and names only in the private
	// part, which the API opens for the firm's readers.
	for _, ev := range evs {
		if ev.Action == vault.ActDocumentUpload {
			if ev.Source != "127.0.0.1" || ev.UserAgent == "" || ev.ActorID != lawyerU.ID || ev.ActorEmail != "lawyer@harbour.example" {
				t.Errorf("upload event origin: %+v", ev)
			}
			if ev.Private["name"] != "Marker-Doc.pdf" || ev.Sealed {
				t.Errorf("upload event private part: %+v", ev.Private)
			}
		}
		if ev.Action == vault.ActAccessDenied && ev.Details["permission"] != "download" {
			t.Errorf("denial without the permission asked: %+v", ev)
		}
	}
	// The document's history and the user's activity.
	docHist := func(c *client, path string) []vault.AuditRecord {
		var page struct {
			Events []vault.AuditRecord `json:"events"`
		}
		c.json(t, "GET", path, nil, http.StatusOK, &page)
		return page.Events
	}
	for _, ev := range docHist(auditor, "/api/v1/audit/documents/"+d.ID) {
		if ev.ObjectID != d.ID {
			t.Errorf("document history has %+v", ev)
		}
	}
	activity := docHist(auditor, "/api/v1/audit/users/"+otherU.ID)
	if len(activity) == 0 {
		t.Error("no activity for the other lawyer")
	}
	for _, ev := range activity {
		if ev.ActorID != otherU.ID {
			t.Errorf("activity has %+v", ev)
		}
	}
	_ = me
	_ = auditorU

	// Names never reach the audit database in the clear.
	for _, f := range []string{"audit.db", "audit.db-wal"} {
		raw, err := os.ReadFile(filepath.Join(e.Dir, f))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, marker := range []string{"Marker-Matter", "Marker-Doc", "Marker-Renamed"} {
			if bytes.Contains(raw, []byte(marker)) {
				t.Errorf("%s holds %q in the clear", f, marker)
			}
		}
	}
}

// TestAudit_ProofAndBundle checks an inclusion proof from the API against
// the signed checkpoint, and that an exported bundle verifies offline and
// fails when cut short.
func TestAudit_ProofAndBundle(t *testing.T) {
	e := newEnv(t)
	owner, _ := e.firm(t, "us")
	mid := owner.matter(t, "Estate")
	for i := range 5 {
		owner.upload(t, mid, fmt.Sprintf("doc-%d.pdf", i), "application/pdf", []byte("x"))
	}
	var cp vault.AuditCheckpoint
	owner.json(t, "GET", "/api/v1/audit/checkpoint", nil, http.StatusOK, &cp)
	for _, seq := range []int64{1, 3, cp.Size} {
		var p vault.AuditProof
		owner.json(t, "GET", fmt.Sprintf("/api/v1/audit/proof?seq=%d", seq), nil, http.StatusOK, &p)
		v, err := note.NewVerifier(p.Checkpoint.VerifierKey)
		if err != nil {
			t.Fatal(err)
		}
		n, err := note.Open([]byte(p.Checkpoint.Note), note.VerifierList(v))
		if err != nil {
			t.Fatalf("checkpoint signature: %v", err)
		}
		_, size, root, err := audit.ParseCheckpointText(n.Text)
		if err != nil || size != p.Checkpoint.Size || base64.StdEncoding.EncodeToString(root[:]) != p.Checkpoint.Root {
			t.Fatalf("checkpoint text %q: %v", n.Text, err)
		}
		leaf, err := base64.StdEncoding.DecodeString(p.Leaf)
		if err != nil {
			t.Fatal(err)
		}
		var proof tlog.RecordProof
		for _, h := range p.Proof {
			raw, _ := base64.StdEncoding.DecodeString(h)
			var x tlog.Hash
			copy(x[:], raw)
			proof = append(proof, x)
		}
		if err := tlog.CheckRecord(proof, size, root, seq-1, tlog.RecordHash(leaf)); err != nil {
			t.Errorf("proof of %d does not verify: %v", seq, err)
		}
		leaf[len(leaf)/2] ^= 1
		if tlog.CheckRecord(proof, size, root, seq-1, tlog.RecordHash(leaf)) == nil {
			t.Errorf("proof of %d verifies an altered event", seq)
		}
	}
	resp, b := owner.read(t, "GET", fmt.Sprintf("/api/v1/audit/proof?seq=%d", cp.Size+1000), nil, nil)
	wantError(t, resp, b, http.StatusNotFound, "not_found")

	resp, bundle := owner.read(t, "GET", "/api/v1/audit/export?format=jsonl", nil, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("export = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	res, err := audit.Verify(bytes.NewReader(bundle), audit.VerifyOptions{TrustedKey: cp.VerifierKey})
	if err != nil {
		t.Fatalf("bundle does not verify: %v", err)
	}
	if res.TreeSize < cp.Size {
		t.Fatalf("bundle tree size %d < %d", res.TreeSize, cp.Size)
	}
	lines := bytes.SplitAfter(bundle, []byte("\n"))
	cut := bytes.Join(lines[:len(lines)/2], nil)
	if _, err := audit.Verify(bytes.NewReader(cut), audit.VerifyOptions{}); err == nil {
		t.Fatal("a bundle cut short verifies")
	}

	resp, body := owner.read(t, "GET", "/api/v1/audit/export?format=csv&action=document.upload", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("csv export = %d", resp.StatusCode)
	}
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 6 {
		t.Fatalf("csv: %d rows, %v", len(rows), err)
	}
	resp, b = owner.read(t, "GET", "/api/v1/audit/export?format=xml", nil, nil)
	wantError(t, resp, b, http.StatusBadRequest, "invalid")

	// cursor and limit apply to exports too, and the bundle's header says
	// so: the uploads after event 3, at most 2 of them.
	resp, page := owner.read(t, "GET", "/api/v1/audit/export?format=jsonl&action=document.upload&cursor=3&limit=2", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("paged export = %d %s", resp.StatusCode, page)
	}
	pres, err := audit.Verify(bytes.NewReader(page), audit.VerifyOptions{TrustedKey: cp.VerifierKey})
	if err != nil {
		t.Fatalf("paged bundle does not verify: %v", err)
	}
	if _, err := refverify.Verify(bytes.NewReader(page), cp.VerifierKey); err != nil {
		t.Fatalf("refverify: paged bundle: %v", err)
	}
	var header struct {
		Filter map[string]any `json:"filter"`
	}
	if err := json.Unmarshal(page[:bytes.IndexByte(page, '\n')], &header); err != nil {
		t.Fatal(err)
	}
	// The two uploads, then the export's own event, which ends every bundle.
	if header.Filter["after_seq"] != float64(3) || header.Filter["limit"] != float64(2) || pres.Events != 3 {
		t.Fatalf("paged bundle: filter %v and %d events, want after_seq 3, limit 2 and 2 events and the export's", header.Filter, pres.Events)
	}
	var seqs []int64
	for _, l := range bytes.Split(bytes.TrimSpace(page), []byte("\n")) {
		var ev struct {
			Type string `json:"type"`
			Seq  int64  `json:"seq"`
		}
		if json.Unmarshal(l, &ev) == nil && ev.Type == "event" {
			seqs = append(seqs, ev.Seq)
		}
	}
	if len(seqs) != 3 || seqs[0] <= 3 {
		t.Fatalf("paged bundle events %v, want two after seq 3 and the export's", seqs)
	}
}

// TestAudit_FailClosed fills the audit database's disk and checks that
// uploads, downloads and grants fail with 503 and leave no trace, then that
// the log continues without a gap once space is freed.
func TestAudit_FailClosed(t *testing.T) {
	const maxSize = 4 << 20
	e := newEnvAudit(t, func(o *audit.Options) { o.MaxSize = maxSize })
	owner, ou := e.firm(t, "us")
	lawyer, lu := e.user(t, ou.TenantID, vault.RoleLawyer)
	mid := owner.matter(t, "Estate")
	d := owner.upload(t, mid, "will.pdf", "application/pdf", []byte("last will"))
	blobs := e.blobCount(t)

	// Another process fills the volume: here, a table in the same file
	// that takes every page the log may use.
	raw, err := sql.Open("sqlite", filepath.Join(e.Dir, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`CREATE TABLE pad (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	for {
		var pages, size int64
		raw.QueryRow(`PRAGMA page_count`).Scan(&pages)
		raw.QueryRow(`PRAGMA page_size`).Scan(&size)
		if pages*size >= maxSize {
			break
		}
		if _, err := raw.Exec(`INSERT INTO pad VALUES (zeroblob(65536))`); err != nil {
			t.Fatal(err)
		}
	}

	// Not ready any more: the audit log is (nearly) full.
	var ready struct {
		Checks map[string]string `json:"checks"`
	}
	resp, b := e.client().read(t, "GET", "/readyz", nil, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || json.Unmarshal(b, &ready) != nil || ready.Checks["audit"] != "unavailable" {
		t.Fatalf("/readyz with the audit disk full = %d %s", resp.StatusCode, b)
	}

	// The log's last pages may still have room: use it up with filler
	// events of the firm until an append fails for want of space.
	for i := 0; ; i++ {
		_, err := e.Audit.Append(context.Background(), &vault.AuditEvent{
			TenantID: ou.TenantID, ActorID: vault.ActorOperator, Action: "test.fill", Outcome: vault.OutcomeOK,
			Details: map[string]string{"pad": strings.Repeat("x", 512)},
		})
		if err != nil {
			if vault.ErrorCode(err) != vault.EUNAVAILABLE {
				t.Fatalf("filler append: %v", err)
			}
			break
		}
		if i > 10000 {
			t.Fatal("the audit log never filled up")
		}
	}

	steps := []struct {
		name string
		do   func() (*http.Response, []byte)
	}{
		{"upload", func() (*http.Response, []byte) {
			return owner.read(t, "POST", "/api/v1/matters/"+mid+"/documents?name=new.pdf", strings.NewReader("new"), http.Header{"Content-Type": {"application/pdf"}})
		}},
		{"version", func() (*http.Response, []byte) {
			return owner.read(t, "PUT", "/api/v1/documents/"+d.ID+"/content", strings.NewReader("v2"), http.Header{"Content-Type": {"application/pdf"}})
		}},
		{"download", func() (*http.Response, []byte) {
			return owner.read(t, "GET", "/api/v1/documents/"+d.ID+"/download", nil, nil)
		}},
		{"grant", func() (*http.Response, []byte) {
			return owner.read(t, "POST", "/api/v1/grants", strings.NewReader(`{"user_id":"`+lu.ID+`","document_id":"`+d.ID+`","permissions":["read"]}`), http.Header{"Content-Type": {"application/json"}})
		}},
		{"denied", func() (*http.Response, []byte) {
			return lawyer.read(t, "GET", "/api/v1/documents/"+d.ID+"/content", nil, nil)
		}},
	}
	for _, s := range steps {
		resp, b := s.do()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%s with the audit disk full = %d %s, want 503", s.name, resp.StatusCode, b)
		}
		wantError(t, resp, b, http.StatusServiceUnavailable, "unavailable")
	}

	// Space comes back; nothing of the refused actions exists.
	var last int64
	if err := raw.QueryRow(`SELECT MAX(seq) FROM audit_events WHERE tenant_id = ?`, ou.TenantID).Scan(&last); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`DROP TABLE pad`); err != nil {
		t.Fatal(err)
	}
	if resp, b := e.client().read(t, "GET", "/readyz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz after space came back = %d %s", resp.StatusCode, b)
	}
	wantNothingNew := func() {
		var docs []docJSON
		owner.json(t, "GET", "/api/v1/matters/"+mid+"/documents?trashed=true", nil, http.StatusOK, &docs)
		if len(docs) != 1 || docs[0].Version != 1 {
			t.Fatalf("documents after refused actions: %+v", docs)
		}
		var gs []any
		owner.json(t, "GET", "/api/v1/grants", nil, http.StatusOK, &gs)
		if len(gs) != 0 {
			t.Fatalf("grants after refused grant: %v", gs)
		}
		if n := e.blobCount(t); n != blobs {
			t.Fatalf("blobs %d, want %d", n, blobs)
		}
	}
	wantNothingNew()
	// The log goes on from where it stopped: no event of the refused
	// actions, no gap.
	evs := auditEvents(t, owner, fmt.Sprintf("cursor=%d", last))
	if len(evs) == 0 || evs[0].Seq != last+1 {
		t.Fatalf("events after the outage: %+v", evs)
	}
	for i, ev := range evs {
		if ev.Seq != last+1+int64(i) {
			t.Fatalf("gap: event %d has seq %d", i, ev.Seq)
		}
		switch ev.Action {
		case vault.ActDocumentUpload, vault.ActDocumentVersion, vault.ActDocumentDownload, vault.ActGrantCreate, vault.ActAccessDenied:
			t.Errorf("refused action %s is in the log", ev.Action)
		}
	}
	if resp, b := owner.read(t, "GET", "/api/v1/documents/"+d.ID+"/download", nil, nil); resp.StatusCode != http.StatusOK || string(b) != "last will" {
		t.Fatalf("download after recovery = %d %q", resp.StatusCode, b)
	}
	_ = time.Second
}

// TestAudit_WalledReader checks that names of a matter a reader is walled
// off never reach them through the audit: withheld in listings, left out of
// exports.
func TestAudit_WalledReader(t *testing.T) {
	e := newEnv(t)
	owner, ou := e.firm(t, "us")
	admin, au := e.user(t, ou.TenantID, vault.RoleAdmin)
	secret := owner.matter(t, "Walled-Matter-Name")
	open := owner.matter(t, "Open-Matter-Name")
	owner.upload(t, secret, "Walled-Doc-Name.pdf", "application/pdf", []byte("x"))
	owner.upload(t, open, "Open-Doc-Name.pdf", "application/pdf", []byte("x"))
	owner.json(t, "POST", "/api/v1/matters/"+secret+"/walls", map[string]string{"user_id": au.ID}, http.StatusCreated, nil)

	for _, ev := range auditEvents(t, admin, "action=document.upload") {
		switch ev.Details["matter_id"] {
		case secret:
			if ev.Private != nil || !ev.Withheld {
				t.Errorf("walled matter's upload shown to the walled admin: %+v", ev)
			}
		case open:
			if ev.Private["name"] != "Open-Doc-Name.pdf" || ev.Withheld {
				t.Errorf("open matter's upload: %+v", ev)
			}
		}
	}
	for _, format := range []string{"csv", "jsonl", "pdf"} {
		resp, b := admin.read(t, "GET", "/api/v1/audit/export?format="+format, nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s export = %d", format, resp.StatusCode)
		}
		if bytes.Contains(b, []byte("Walled-")) {
			t.Errorf("%s export shows a walled name to the walled admin", format)
		}
		// Who acted in the other matters is still shown (opened from the
		// private parts), outside the bundle, which carries none.
		if format == "csv" && !bytes.Contains(b, []byte(ou.Email)) {
			t.Errorf("csv export to the walled admin shows no actor email:\n%s", b)
		}
		if format == "jsonl" {
			if _, err := audit.Verify(bytes.NewReader(b), audit.VerifyOptions{}); err != nil {
				t.Errorf("a bundle without names does not verify: %v", err)
			}
		}
	}
	// The owner, not walled, sees the names.
	resp, b := owner.read(t, "GET", "/api/v1/audit/export?format=csv", nil, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte("Walled-Doc-Name.pdf")) {
		t.Errorf("owner's export lacks the name: %d", resp.StatusCode)
	}
}
