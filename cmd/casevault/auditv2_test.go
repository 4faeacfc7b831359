package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/internal/refverify"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

// Markers of who and where: none may appear in the audit log's files.
const (
	mkOwner     = "owner-7f3a@marker.example"
	mkLawyer    = "lawyer-7f3a@marker.example"
	mkUnknown   = "Unknown-7f3a@Marker.example"
	mkSource    = "198.51.100.201"
	mkSvcSource = "203.0.113.201"
	mkAgent     = "MarkerAgent-7f3a/1.0"
	mkSvcAgent  = "MarkerBot-7f3a/2.0"
	mkType      = "application/x-marker-7f3a"
)

var auditMarkers = []string{mkOwner, mkLawyer, "unknown-7f3a", "Unknown-7f3a", mkSource, mkSvcSource, mkAgent,
	mkSvcAgent, "MarkerAgent", "MarkerBot", "marker-7f3a", "7f3a@"}

// bothVerify checks a bundle file with `casevault audit verify --key` and
// with the independent verifier. It returns the seq each names (0 when the
// failure names none) and whether each passed.
func bothVerify(t *testing.T, path, key string) (cliOK bool, cliSeq int64, refOK bool, refSeq int64) {
	t.Helper()
	code, _, errOut := auditVerify("--key", key, path)
	switch code {
	case 0:
		cliOK = true
	case 1:
		if m := regexp.MustCompile(`^FAIL at seq (\d+):`).FindStringSubmatch(errOut); m != nil {
			cliSeq, _ = strconv.ParseInt(m[1], 10, 64)
		}
	default:
		t.Fatalf("audit verify exit %d: %s", code, errOut)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, rerr := refverify.Verify(f, key)
	var re *refverify.Error
	switch {
	case rerr == nil:
		refOK = true
	case errors.As(rerr, &re):
		refSeq = re.Seq
	default:
		t.Fatalf("refverify: %v", rerr)
	}
	return cliOK, cliSeq, refOK, refSeq
}

func mustBothVerify(t *testing.T, path, key string) {
	t.Helper()
	cliOK, cliSeq, refOK, refSeq := bothVerify(t, path, key)
	if !cliOK || !refOK {
		t.Fatalf("%s: audit verify ok %t (seq %d), refverify ok %t (seq %d); want both to pass", filepath.Base(path), cliOK, cliSeq, refOK, refSeq)
	}
}

// wantBothFail checks that both verifiers refuse the bundle, naming seq.
func wantBothFail(t *testing.T, name, bundle, key string, seq int64) {
	t.Helper()
	cliOK, cliSeq, refOK, refSeq := bothVerify(t, writeFile(t, bundle), key)
	if cliOK || refOK || cliSeq != seq || refSeq != seq {
		t.Errorf("%s: audit verify ok %t seq %d, refverify ok %t seq %d; want both to fail at seq %d", name, cliOK, cliSeq, refOK, refSeq, seq)
	}
}

// TestAuditBundles_V1Committed verifies the bundles the version 1 code
// exported (audit/testdata/v1) with both verifiers, and a tampered copy.
func TestAuditBundles_V1Committed(t *testing.T) {
	dir := filepath.Join("..", "..", "audit", "testdata", "v1")
	key, err := os.ReadFile(filepath.Join(dir, "verifier-key.txt"))
	if err != nil {
		t.Fatal(err)
	}
	k := strings.TrimSpace(string(key))
	for _, name := range []string{"firm-complete.jsonl", "firm-filtered.jsonl", "service-complete.jsonl"} {
		mustBothVerify(t, filepath.Join(dir, name), k)
	}
	b, err := os.ReadFile(filepath.Join(dir, "firm-complete.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	wantBothFail(t, "v1 event 3 dropped", dropEvent(t, string(b), 3), k, 3)
	wantBothFail(t, "v1 event 3 edited", editEvent(t, string(b), 3, func(leaf []byte) []byte {
		return bytes.Replace(leaf, []byte("lawyer@v1.example"), []byte("lawyer@v1.exampl"), 1)
	}), k, 3)
}

// bundleLines splits a bundle into its lines, newline kept.
func bundleLines(b string) []string { return strings.SplitAfter(strings.TrimSuffix(b, "\n"), "\n") }

// eventLine returns the index of the line of event seq.
func eventLine(t *testing.T, lines []string, seq int64) int {
	t.Helper()
	for i, l := range lines {
		var ev struct {
			Type string `json:"type"`
			Seq  int64  `json:"seq"`
		}
		if json.Unmarshal([]byte(l), &ev) == nil && ev.Type == "event" && ev.Seq == seq {
			return i
		}
	}
	t.Fatalf("no event %d in the bundle", seq)
	return -1
}

func dropEvent(t *testing.T, b string, seq int64) string {
	t.Helper()
	lines := bundleLines(b)
	i := eventLine(t, lines, seq)
	return strings.Join(append(lines[:i:i], lines[i+1:]...), "") + "\n"
}

// editEvent rewrites the leaf of event seq with edit, keeping the rest of
// its line.
func editEvent(t *testing.T, b string, seq int64, edit func(leaf []byte) []byte) string {
	t.Helper()
	lines := bundleLines(b)
	i := eventLine(t, lines, seq)
	var ev map[string]any
	if err := json.Unmarshal([]byte(lines[i]), &ev); err != nil {
		t.Fatal(err)
	}
	leaf, err := base64.StdEncoding.DecodeString(ev["leaf"].(string))
	if err != nil {
		t.Fatal(err)
	}
	edited := edit(bytes.Clone(leaf))
	if bytes.Equal(edited, leaf) {
		t.Fatalf("edit left leaf %d as it was: %s", seq, leaf)
	}
	ev["leaf"] = base64.StdEncoding.EncodeToString(edited)
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil {
		t.Fatal(err)
	}
	lines[i] = out.String()
	return strings.Join(lines, "") + "\n"
}

// TestAuditLog_V2 runs the program's own wiring in a data directory: a firm
// and the service log get events with marker emails, sources, user agents
// and a marker content type. Readers show them to the owner; the files of
// the audit log hold none of them; the bundles verify with `casevault audit
// verify --key` and the independent verifier, and tampered copies fail in
// both at the same seq; `casevault audit hash` finds the service log's
// hashes.
func TestAuditLog_V2(t *testing.T) {
	dataDir := newDataDir(t)
	m := NewMain()
	m.Config.DataDir = dataDir
	absDataDir(&m.Config)
	ctx := context.Background()
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			m.Close()
		}
	}()
	svc := m.Service
	web := vault.WithRequestMeta(ctx, vault.RequestMeta{Source: mkSource, UserAgent: mkAgent})

	firm, owner, password, err := svc.CreateTenant(ctx, vault.NewTenant{Name: "Marker LLP", Region: "us", Owner: vault.NewUser{Email: mkOwner}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Login(web, mkOwner, password, mkSource); err != nil {
		t.Fatal(err)
	}
	lawyer, _, err := svc.CreateUser(web, owner, vault.NewUser{Email: mkLawyer, Role: vault.RoleLawyer})
	if err != nil {
		t.Fatal(err)
	}
	matter, err := svc.CreateMatter(web, lawyer, "Henderson", "Henderson & Co")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutDocument(web, lawyer, vault.NewDocument{MatterID: matter.ID, Name: "Term sheet.pdf", ContentType: mkType},
		strings.NewReader("terms"), -1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Login(web, mkLawyer, "not the password", mkSource); vault.ErrorCode(err) != vault.EUNAUTHORIZED {
		t.Fatalf("wrong password: %v", err)
	}
	bot := vault.WithRequestMeta(ctx, vault.RequestMeta{Source: mkSvcSource, UserAgent: mkSvcAgent})
	if _, _, err := svc.Login(bot, mkUnknown, "guess", mkSvcSource); vault.ErrorCode(err) != vault.EUNAUTHORIZED {
		t.Fatalf("unknown account: %v", err)
	}

	// The owner reads who and from where, opened from the private parts.
	recs, _, err := svc.AuditEvents(ctx, owner, vault.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	byAction := map[string]*vault.AuditRecord{}
	for _, r := range recs {
		byAction[r.Action] = r
	}
	if r := byAction[vault.ActTenantCreate]; r == nil || r.Details["owner_email"] != mkOwner {
		t.Errorf("tenant.create reads %+v, want owner_email %q", r, mkOwner)
	}
	if r := byAction[vault.ActUserCreate]; r == nil || r.ActorEmail != mkOwner || r.Source != mkSource || r.UserAgent != mkAgent || r.Details["email"] != mkLawyer {
		t.Errorf("user.create reads %+v", r)
	}
	if r := byAction[vault.ActDocumentUpload]; r == nil || r.Details["content_type"] != mkType || r.Private["name"] != "Term sheet.pdf" {
		t.Errorf("document.upload reads %+v", r)
	}

	// Bundles: complete, filtered, and the service log's.
	bdir := t.TempDir()
	export := func(name string, f vault.AuditFilter) string {
		var b bytes.Buffer
		if err := svc.ExportAudit(ctx, owner, vault.AuditFormatJSONL, f, &b); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(bdir, name)
		if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	complete := export("complete.jsonl", vault.AuditFilter{})
	filtered := export("filtered.jsonl", vault.AuditFilter{ActorID: lawyer.ID})
	var sb bytes.Buffer
	if err := svc.AuditReader.Export(ctx, "", vault.AuditFormatJSONL, vault.AuditFilter{}, vault.AuditExport{}, &sb); err != nil {
		t.Fatal(err)
	}
	service := filepath.Join(bdir, "service.jsonl")
	if err := os.WriteFile(service, sb.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	firmKey, serviceKey := m.AuditKeys[firm.Region], m.AuditKeys["service"]
	mustBothVerify(t, complete, firmKey)
	mustBothVerify(t, filtered, firmKey)
	mustBothVerify(t, service, serviceKey)

	// The files of the audit log, open and then closed, hold no marker.
	scanAuditFiles(t, m.Config.CellAuditPath(firm.Region))
	scanAuditFiles(t, m.Config.ServiceAuditPath())

	t.Run("Tampered", func(t *testing.T) {
		b, err := os.ReadFile(complete)
		if err != nil {
			t.Fatal(err)
		}
		k := seqOf(t, string(b), vault.ActUserCreate)
		wantBothFail(t, "commitment flipped", editEvent(t, string(b), k, flipCommit), firmKey, k)
		wantBothFail(t, "action changed", editEvent(t, string(b), k, func(leaf []byte) []byte {
			return bytes.Replace(leaf, []byte(`"action":"user.create"`), []byte(`"action":"user.delete"`), 1)
		}), firmKey, k)
		wantBothFail(t, "line dropped", dropEvent(t, string(b), k), firmKey, k)
		wantBothFail(t, "private changed", strings.Replace(string(b), mkLawyer, "someone-else@marker.example", 1), firmKey, k)

		fb, err := os.ReadFile(filtered)
		if err != nil {
			t.Fatal(err)
		}
		j := seqOf(t, string(fb), vault.ActDocumentUpload)
		wantBothFail(t, "filtered: commitment flipped", editEvent(t, string(fb), j, flipCommit), firmKey, j)
		wantBothFail(t, "filtered: details changed", editEvent(t, string(fb), j, func(leaf []byte) []byte {
			return bytes.Replace(leaf, []byte(`"size":"5"`), []byte(`"size":"6"`), 1)
		}), firmKey, j)
	})

	// The service log's hashes, as `casevault audit hash` computes them.
	var svcDetails map[string]string
	for _, l := range bundleLines(sb.String()) {
		var ev struct {
			Leaf []byte `json:"leaf"`
		}
		if json.Unmarshal([]byte(l), &ev) != nil || ev.Leaf == nil {
			continue
		}
		e, err := audit.Decode(ev.Leaf)
		if err != nil {
			t.Fatal(err)
		}
		svcDetails = e.Details
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	scanAuditFiles(t, m.Config.CellAuditPath(firm.Region))
	scanAuditFiles(t, m.Config.ServiceAuditPath())

	for _, tc := range []struct{ flag, value, detail string }{
		{"--email", strings.ToUpper(mkUnknown), "email_hash"},
		{"--source", mkSvcSource, "source_hash"},
	} {
		out, errOut, err := cli(t, dataDir, "audit", "hash", tc.flag, tc.value)
		if err != nil {
			t.Fatalf("audit hash %s: %v\n%s", tc.flag, err, errOut)
		}
		if got, want := strings.TrimSpace(out), svcDetails[tc.detail]; got != want || len(got) != 64 {
			t.Errorf("audit hash %s %s = %q, want the service log's %s %q", tc.flag, tc.value, got, tc.detail, want)
		}
	}
	for _, args := range [][]string{{}, {"--email", "a@b.example", "--source", "192.0.2.1"}} {
		_, errOut, err := cli(t, dataDir, append([]string{"audit", "hash"}, args...)...)
		if exitCode(err) != 2 || !strings.Contains(errOut, "--email") || !strings.Contains(errOut, "--source") {
			t.Errorf("audit hash %q: exit %d, stderr %q; want a usage error naming --email and --source", args, exitCode(err), errOut)
		}
	}
}

// seqOf returns the seq of the first event of action in a bundle.
func seqOf(t *testing.T, b, action string) int64 {
	t.Helper()
	for _, l := range bundleLines(b) {
		var ev struct {
			Seq  int64  `json:"seq"`
			Leaf []byte `json:"leaf"`
		}
		if json.Unmarshal([]byte(l), &ev) == nil && bytes.Contains(ev.Leaf, []byte(`"action":"`+action+`"`)) {
			return ev.Seq
		}
	}
	t.Fatalf("no %s event in the bundle", action)
	return 0
}

// flipCommit flips one bit of the hash a leaf's commit holds, keeping the
// leaf canonical.
func flipCommit(leaf []byte) []byte {
	re := regexp.MustCompile(`"commit":"([A-Za-z0-9+/=]{44})"`)
	m := re.FindSubmatchIndex(leaf)
	if m == nil {
		return leaf
	}
	h, _ := base64.StdEncoding.DecodeString(string(leaf[m[2]:m[3]]))
	h[0] ^= 1
	return append(append(bytes.Clone(leaf[:m[2]]), base64.StdEncoding.EncodeToString(h)...), leaf[m[3]:]...)
}

// scanAuditFiles reads the audit log's database, WAL and shared-memory
// files byte by byte and fails on any marker.
func scanAuditFiles(t *testing.T, path string) {
	t.Helper()
	hits, read := vaulttest.MarkersInDatabase(t, path, auditMarkers...)
	if read == 0 {
		t.Fatal("no audit log bytes to scan")
	}
	for _, h := range hits {
		t.Errorf("holds %s", h)
	}
}
