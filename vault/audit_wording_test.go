package vault_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

// TestActionWording_EveryAction reads the action table of
// docs/AUDIT-FORMAT.md and checks that every action in it has a wording.
func TestActionWording_EveryAction(t *testing.T) {
	b, err := os.ReadFile("../docs/AUDIT-FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "### Actions")
	if start < 0 {
		t.Fatal("no Actions section in AUDIT-FORMAT.md")
	}
	cell := regexp.MustCompile("`([a-z_.]+)`")
	var actions []string
	for _, line := range strings.Split(doc[start:], "\n")[1:] {
		if strings.HasPrefix(line, "## ") {
			break
		}
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first := strings.Split(line, "|")[1]
		for _, m := range cell.FindAllStringSubmatch(first, -1) {
			actions = append(actions, m[1])
		}
	}
	if len(actions) < 30 {
		t.Fatalf("found %d actions in the table, want the whole table", len(actions))
	}
	for _, a := range actions {
		if got := vault.ActionWording(a); got == a || got == "" {
			t.Errorf("ActionWording(%q) = %q, want words", a, got)
		}
	}
}

func TestDescribeAuditEvent(t *testing.T) {
	names := func(id string) string {
		if id == "usr_b" {
			return "ben@example.com"
		}
		return ""
	}
	for _, tt := range []struct {
		r    vault.AuditRecord
		want string
	}{
		{vault.AuditRecord{Action: vault.ActDocumentDownload, Details: map[string]string{"version": "2", "length": "48213", "offset": "0", "matter_id": "mat_1"}, Private: map[string]string{"name": "brief.pdf"}},
			"Downloaded a document \u201cbrief.pdf\u201d: version 2; 48.2 kB"},
		{vault.AuditRecord{Action: vault.ActAccessDenied, Outcome: vault.OutcomeDenied, Details: map[string]string{"permission": "download"}, Withheld: true, Sealed: true},
			"Was refused access (asked to download) [name withheld: walled]"},
		{vault.AuditRecord{Action: vault.ActGrantCreate, Details: map[string]string{"user_id": "usr_b", "permissions": "read,download", "expires_at": "2026-02-01T00:00:00Z"}},
			"Granted access: to ben@example.com; read, download; until 1 Feb 2026 00:00 UTC"},
		{vault.AuditRecord{Action: vault.ActLoginFailed, Details: map[string]string{"reason": "bad_credentials"}},
			"Failed to sign in: reason: wrong email or password"},
		{vault.AuditRecord{Action: vault.ActDocumentRename, Private: map[string]string{"old_name": "a.txt", "name": "b.txt"}},
			"Renamed a document \u201ca.txt\u201d to \u201cb.txt\u201d"},
		{vault.AuditRecord{Action: "brand.new", Details: map[string]string{"some_thing": "x"}}, "brand.new: some thing x"},
	} {
		if got := vault.DescribeAuditEvent(&tt.r, names); got != tt.want {
			t.Errorf("DescribeAuditEvent(%s) = %q, want %q", tt.r.Action, got, tt.want)
		}
	}
}

func TestAuditSummary(t *testing.T) {
	s := vault.NewAuditSummary()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	add := func(d time.Duration, actor, action, outcome, doc string) {
		s.Add(&vault.AuditRecord{Time: t0.Add(d), ActorID: actor, ActorEmail: actor + "@x", Action: action, Outcome: outcome,
			ObjectType: "document", ObjectID: doc, Private: map[string]string{"name": doc + ".pdf"}})
	}
	add(0, "usr_a", vault.ActDocumentDownload, vault.OutcomeOK, "doc_1")
	add(time.Hour, "usr_a", vault.ActDocumentView, vault.OutcomeOK, "doc_1")
	add(2*time.Hour, "usr_b", vault.ActDocumentDownload, vault.OutcomeDenied, "doc_2")
	add(3*time.Hour, "usr_b", vault.ActDocumentView, vault.OutcomeOK, "doc_2")
	if s.Events != 4 || s.Denied != 1 || s.Outcome(vault.OutcomeOK) != 3 {
		t.Errorf("events %d, denied %d, ok %d, want 4, 1, 3", s.Events, s.Denied, s.Outcome(vault.OutcomeOK))
	}
	if d := s.Documents(1); len(d) != 1 || d[0].Key != "doc_1" || d[0].N != 2 || d[0].Label != "doc_1.pdf" {
		t.Errorf("Documents(1) = %+v, want doc_1 twice", d)
	}
	if u := s.Users(0); len(u) != 2 || u[0].N != 2 || u[1].N != 2 {
		t.Errorf("Users = %+v, want two of 2", u)
	}
	b, step := s.Activity()
	if step != time.Hour || len(b) != 4 {
		t.Errorf("Activity: %d buckets of %v, want 4 of 1h", len(b), step)
	}
	add(20*24*time.Hour, "usr_a", vault.ActDocumentView, vault.OutcomeOK, "doc_1")
	b, step = s.Activity()
	if step != 24*time.Hour || len(b) != 21 || b[0].N != 4 || b[20].N != 1 {
		t.Errorf("Activity after 20 days: %d buckets of %v, want 21 of a day", len(b), step)
	}
}
