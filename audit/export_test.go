package audit_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/internal/refverify"
)

const testTenant = "ten_lawfirm"

// exportTime is the export time of test bundles.
var exportTime = time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC)

// fixtureEvents are the events of newFixture, in order: events 1 to 4 are of
// leaf format version 1, as a log written before version 2 holds them, the
// others of version 2, whose actor email, source and user agent go into the
// private part.
var fixtureEvents = []struct {
	e audit.Entry
	p audit.Private
}{
	{audit.Entry{V: audit.FormatV1, ActorID: "usr_alice", ActorEmail: "alice@firm.example", Source: "10.0.0.7", UserAgent: "Mozilla/5.0", Action: "login", ObjectType: "user", ObjectID: "usr_alice", Outcome: audit.OutcomeOK}, nil},
	{audit.Entry{V: audit.FormatV1, ActorID: "usr_alice", ActorEmail: "alice@firm.example", Source: "10.0.0.7", UserAgent: "Mozilla/5.0", Action: "matter.create", ObjectType: "matter", ObjectID: "mat_1", Outcome: audit.OutcomeOK}, audit.Private{"name": "Müller & Söhne v. État", "client": "Müller GmbH"}},
	{audit.Entry{V: audit.FormatV1, ActorID: "usr_alice", ActorEmail: "alice@firm.example", Source: "10.0.0.7", UserAgent: "Mozilla/5.0", Action: "document.upload", ObjectType: "document", ObjectID: "doc_1", Outcome: audit.OutcomeOK, Details: map[string]string{"matter_id": "mat_1", "size": "48213", "version": "1"}}, audit.Private{"name": "Contract (draft) \\ v2.pdf"}},
	{audit.Entry{V: audit.FormatV1, ActorID: "usr_bob", ActorEmail: "bob@firm.example", Source: "10.0.0.9", UserAgent: "curl/8.5", Action: "document.download", ObjectType: "document", ObjectID: "doc_1", Outcome: audit.OutcomeDenied, Details: map[string]string{"matter_id": "mat_1", "reason": "no_grant"}}, audit.Private{"name": "Contract (draft) \\ v2.pdf"}},
	{audit.Entry{ActorID: "usr_alice", ActorEmail: "alice@firm.example", Source: "10.0.0.7", UserAgent: "Mozilla/5.0", Action: "grant.create", ObjectType: "document", ObjectID: "doc_1", Outcome: audit.OutcomeOK, Details: map[string]string{"grantee_id": "usr_bob", "matter_id": "mat_1", "permissions": "read,download"}}, audit.Private{"name": "Contract (draft) \\ v2.pdf"}},
	{audit.Entry{ActorID: "usr_bob", ActorEmail: "bob@firm.example", Source: "10.0.0.9", UserAgent: "curl/8.5", Action: "document.download", ObjectType: "document", ObjectID: "doc_1", Outcome: audit.OutcomeOK, Details: map[string]string{"matter_id": "mat_1", "size": "48213"}}, audit.Private{"name": "Contract (draft) \\ v2.pdf"}},
	{audit.Entry{ActorID: "usr_carol", ActorEmail: "carol@firm.example", Source: "192.0.2.1", UserAgent: "Mozilla/5.0 <script>", Action: "document.upload", ObjectType: "document", ObjectID: "doc_2", Outcome: audit.OutcomeOK, Details: map[string]string{"matter_id": "mat_2", "size": "1024"}}, audit.Private{"name": "契約書 – Tokyo.pdf"}},
	{audit.Entry{ActorID: "usr_carol", ActorEmail: "carol@firm.example", Source: "192.0.2.1", UserAgent: "Mozilla/5.0", Action: "document.rename", ObjectType: "document", ObjectID: "doc_2", Outcome: audit.OutcomeOK, Details: map[string]string{"matter_id": "mat_2"}}, audit.Private{"old_name": "契約書 – Tokyo.pdf", "name": "=HYPERLINK(\"http://x\")"}},
	{audit.Entry{ActorID: "", ActorEmail: "mallory@evil.example", Source: "203.0.113.5", UserAgent: "python-requests", Action: "login", ObjectType: "user", Outcome: audit.OutcomeDenied, Details: map[string]string{"reason": "bad_password"}}, nil},
	{audit.Entry{ActorID: "operator", Source: "cli", Action: "keys.rotate", ObjectType: "tenant", ObjectID: testTenant, Outcome: audit.OutcomeOK}, nil},
}

// fixtureHasPrivate reports whether fixture event seq has a private part:
// in version 2, every event with an actor email, source or user agent has.
func fixtureHasPrivate(seq int64) bool {
	ev := fixtureEvents[seq-1]
	if ev.e.V == audit.FormatV1 {
		return ev.p != nil
	}
	return ev.p != nil || ev.e.ActorEmail != "" || ev.e.Source != "" || ev.e.UserAgent != ""
}

// newFixture returns a source holding fixtureEvents, with stored
// checkpoints after the events whose sequence numbers are in cps.
func newFixture(tb testing.TB, cps ...int64) *memSource {
	tb.Helper()
	s := newMemSource(tb, testTenant, "fixture")
	for _, ev := range fixtureEvents {
		seq := s.add(tb, ev.e, ev.p)
		if slices.Contains(cps, seq) {
			if _, err := s.Checkpoint(context.Background(), testTenant); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return s
}

// exportBundle returns the bundle WriteBundle writes.
func exportBundle(tb testing.TB, src audit.Source, opener audit.Opener, f audit.Filter) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := audit.WriteBundle(context.Background(), &buf, src, opener, testTenant, f, exportTime); err != nil {
		tb.Fatalf("WriteBundle: %v", err)
	}
	return buf.Bytes()
}

// mustVerify verifies b and fails the test if it does not verify.
func mustVerify(tb testing.TB, b []byte, opts audit.VerifyOptions) *audit.VerifyResult {
	tb.Helper()
	res, err := audit.Verify(bytes.NewReader(b), opts)
	if err != nil {
		tb.Fatalf("Verify: %v\nbundle:\n%s", err, b)
	}
	// The independent verifier, written from docs/AUDIT-FORMAT.md, agrees.
	ref, err := refverify.VerifyKeys(bytes.NewReader(b), trustedKeys(opts))
	if err != nil {
		tb.Fatalf("refverify: %v\nbundle:\n%s", err, b)
	}
	if ref.Events != res.Events || ref.Checkpoints != res.Checkpoints || ref.Size != res.TreeSize || ref.Root != res.Root {
		tb.Fatalf("refverify = %+v, Verify = %+v", *ref, *res)
	}
	return res
}

// trustedKeys are the keys opts trusts, for refverify.VerifyKeys.
func trustedKeys(opts audit.VerifyOptions) []string {
	if opts.TrustedKey == "" {
		return opts.TrustedKeys
	}
	return append([]string{opts.TrustedKey}, opts.TrustedKeys...)
}

// wantFail verifies b and checks that it fails naming seq.
func wantFail(tb testing.TB, b []byte, opts audit.VerifyOptions, seq int64) *audit.VerifyError {
	tb.Helper()
	_, err := audit.Verify(bytes.NewReader(b), opts)
	var ve *audit.VerifyError
	if !errors.As(err, &ve) {
		tb.Fatalf("Verify: got %v, want a *VerifyError at seq %d", err, seq)
	}
	if got, want := ve.Seq, seq; got != want {
		tb.Fatalf("Verify names seq %d (%q), want %d", got, ve.Reason, want)
	}
	_, err = refverify.VerifyKeys(bytes.NewReader(b), trustedKeys(opts))
	var re *refverify.Error
	if !errors.As(err, &re) {
		tb.Fatalf("refverify: got %v, want an *Error at seq %d", err, seq)
	}
	if got, want := re.Seq, seq; got != want {
		tb.Fatalf("refverify names seq %d (%q), want %d (as Verify: %q)", got, re.Reason, want, ve.Reason)
	}
	return ve
}

// line is one line of a bundle, for tests that take bundles apart.
type line struct {
	Type    string   `json:"type"`
	Seq     int64    `json:"seq"`
	Leaf    []byte   `json:"leaf"`
	Private *string  `json:"private"`
	Nonce   []byte   `json:"nonce"`
	Proof   []string `json:"proof"`
	Note    string   `json:"note"`
	Events  int64    `json:"events"`
	raw     string
}

func splitBundle(tb testing.TB, b []byte) []line {
	tb.Helper()
	var ls []line
	for _, s := range strings.SplitAfter(string(b), "\n") {
		if s == "" {
			continue
		}
		var l line
		if err := json.Unmarshal([]byte(s), &l); err != nil {
			tb.Fatalf("bundle line %q: %v", s, err)
		}
		l.raw = s
		ls = append(ls, l)
	}
	return ls
}

func joinBundle(ls []line) []byte {
	var b bytes.Buffer
	for _, l := range ls {
		b.WriteString(l.raw)
	}
	return b.Bytes()
}

// eventIndex returns the index in ls of the event line of seq.
func eventIndex(tb testing.TB, ls []line, seq int64) int {
	tb.Helper()
	for i, l := range ls {
		if l.Type == "event" && l.Seq == seq {
			return i
		}
	}
	tb.Fatalf("no event %d in bundle", seq)
	return -1
}

// remarshal re-encodes an edited event line.
func (l *line) remarshal(tb testing.TB) {
	tb.Helper()
	m := map[string]any{"type": l.Type, "seq": l.Seq, "leaf": l.Leaf}
	if l.Private != nil {
		m["private"], m["nonce"] = *l.Private, l.Nonce
	}
	if l.Proof != nil {
		m["proof"] = l.Proof
	}
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	l.raw = string(b) + "\n"
}

// checkpointRoot returns the root of the checkpoint src signs now.
func checkpointOf(tb testing.TB, src audit.Source) *audit.Checkpoint {
	tb.Helper()
	c, err := src.Checkpoint(context.Background(), testTenant)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestBundle_Complete(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(*memSource) audit.Source
	}{
		{"RawRecords", func(s *memSource) audit.Source { return s }},
		{"Records", func(s *memSource) audit.Source { return recordsOnly{s} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFixture(t, 3, 7)
			b := exportBundle(t, tc.wrap(s), s.opener(), audit.Filter{})
			res := mustVerify(t, b, audit.VerifyOptions{TrustedKey: s.vkey})
			ck := checkpointOf(t, s)
			want := audit.VerifyResult{Tenant: testTenant, Complete: true, Events: 10, Checkpoints: 4, TreeSize: 10, Root: ck.Root, Format: audit.BundleFormatV1}
			if !reflect.DeepEqual(*res, want) {
				t.Errorf("result = %+v, want %+v", *res, want)
			}

			ls := splitBundle(t, b)
			var types []string
			for _, l := range ls {
				types = append(types, l.Type)
			}
			wantTypes := "header checkpoint event event event checkpoint event event event event checkpoint event event event checkpoint end"
			if got := strings.Join(types, " "); got != wantTypes {
				t.Errorf("line types:\n got %s\nwant %s", got, wantTypes)
			}
			var h map[string]any
			if err := json.Unmarshal([]byte(ls[0].raw), &h); err != nil {
				t.Fatal(err)
			}
			wantHeader := map[string]any{
				"type": "header", "format": "casevault-audit-bundle/1", "tenant": testTenant, "origin": "casevault/audit/" + testTenant,
				"verifier_key": s.vkey, "exported_at": "2026-03-02T17:30:00.000000000Z", "filter": map[string]any{}, "complete": true,
			}
			if got, _ := json.Marshal(h); string(got) != mustJSON(t, wantHeader) {
				t.Errorf("header = %s, want %s", got, mustJSON(t, wantHeader))
			}
			if ls[1].Note != string(ck.Note) {
				t.Errorf("second line note = %q, want the export's checkpoint %q", ls[1].Note, ck.Note)
			}
			for seq := int64(1); seq <= 10; seq++ {
				l := ls[eventIndex(t, ls, seq)]
				if !bytes.Equal(l.Leaf, s.leaf(seq)) {
					t.Errorf("event %d leaf differs from the stored leaf", seq)
				}
				hasPrivate := fixtureHasPrivate(seq)
				if (l.Private != nil) != hasPrivate || (l.Nonce != nil) != hasPrivate {
					t.Errorf("event %d: private %v nonce %v, want present = %t", seq, l.Private, l.Nonce, hasPrivate)
				}
				if l.Proof != nil {
					t.Errorf("event %d of a complete bundle has a proof", seq)
				}
			}
			if got := ls[len(ls)-1]; got.Type != "end" || got.Events != 10 {
				t.Errorf("last line = %q, want the end line of 10 events", got.raw)
			}
		})
	}

	t.Run("CoversCheckpointOnly", func(t *testing.T) {
		// Events appended after the export's checkpoint are not in it.
		s := newFixture(t)
		ck := checkpointOf(t, s)
		s.add(t, audit.Entry{Action: "login", Outcome: audit.OutcomeOK}, nil)
		var buf bytes.Buffer
		if err := audit.WriteBundle(context.Background(), &buf, &staleSource{s, ck}, s.opener(), testTenant, audit.Filter{}, exportTime); err != nil {
			t.Fatal(err)
		}
		res := mustVerify(t, buf.Bytes(), audit.VerifyOptions{})
		if res.Events != 10 || res.TreeSize != 10 {
			t.Errorf("events %d, tree size %d; want 10, 10", res.Events, res.TreeSize)
		}
	})

	t.Run("Empty", func(t *testing.T) {
		s := newMemSource(t, testTenant, "empty")
		b := exportBundle(t, s, s.opener(), audit.Filter{})
		res := mustVerify(t, b, audit.VerifyOptions{})
		// The checkpoint of size 0 is in the header and, as a stored one,
		// again before the (absent) first event.
		if res.Events != 0 || res.TreeSize != 0 || res.Checkpoints != 2 {
			t.Errorf("result = %+v, want no events and two checkpoint lines of size 0", *res)
		}
	})

	t.Run("KeysDestroyed", func(t *testing.T) {
		// After crypto-shredding the private parts cannot be opened; the
		// bundle leaves them out and still verifies.
		s := newFixture(t, 5)
		b := exportBundle(t, s, &memOpener{keys: s.keys, destroyed: true}, audit.Filter{})
		for _, l := range splitBundle(t, b) {
			if l.Private != nil || l.Nonce != nil {
				t.Fatalf("event %d has a private part with destroyed keys", l.Seq)
			}
		}
		mustVerify(t, b, audit.VerifyOptions{TrustedKey: s.vkey})
		b = exportBundle(t, s, nil, audit.Filter{ActorID: "usr_bob"})
		mustVerify(t, b, audit.VerifyOptions{TrustedKey: s.vkey})
	})
}

// staleSource answers Checkpoint with a checkpoint taken earlier, as if
// the export had started before the last events were appended.
type staleSource struct {
	*memSource
	ck *audit.Checkpoint
}

func (s *staleSource) Checkpoint(context.Context, string) (*audit.Checkpoint, error) {
	return s.ck, nil
}

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestBundle_Filtered(t *testing.T) {
	s := newFixture(t, 3, 7)
	for _, tc := range []struct {
		name string
		f    audit.Filter
		seqs []int64
	}{
		{"Actor", audit.Filter{ActorID: "usr_bob"}, []int64{4, 6}},
		{"Matter", audit.Filter{MatterID: "mat_1"}, []int64{2, 3, 4, 5, 6}},
		{"ActionOutcome", audit.Filter{Action: "document.download", Outcome: audit.OutcomeDenied}, []int64{4}},
		{"Time", audit.Filter{From: s.start.Add(5 * 90 * time.Second), To: s.start.Add(8 * 90 * time.Second)}, []int64{5, 6, 7}},
		{"Cursor", audit.Filter{AfterSeq: 6, Limit: 3}, []int64{7, 8, 9}},
		{"None", audit.Filter{ActorID: "usr_nobody"}, nil},
		{"LastEvent", audit.Filter{ObjectType: "tenant"}, []int64{10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := exportBundle(t, s, s.opener(), tc.f)
			res := mustVerify(t, b, audit.VerifyOptions{TrustedKey: s.vkey})
			if res.Complete || res.Events != int64(len(tc.seqs)) || res.TreeSize != 10 || res.Checkpoints != 4 {
				t.Errorf("result = %+v, want %d events of a filtered bundle of tree size 10 and 4 checkpoints (its own, the stored 3, 7 and 10)", *res, len(tc.seqs))
			}
			var seqs []int64
			for _, l := range splitBundle(t, b) {
				if l.Type == "event" {
					seqs = append(seqs, l.Seq)
					if l.Proof == nil {
						t.Errorf("event %d has no proof", l.Seq)
					}
				}
			}
			if !slices.Equal(seqs, tc.seqs) {
				t.Errorf("events %v, want %v", seqs, tc.seqs)
			}
		})
	}

	t.Run("ProofOfOneLeafTree", func(t *testing.T) {
		// In a tree of one leaf the proof is empty, and must still be there.
		s := newMemSource(t, testTenant, "one")
		s.add(t, audit.Entry{Action: "login", Outcome: audit.OutcomeOK}, nil)
		b := exportBundle(t, s, s.opener(), audit.Filter{Action: "login"})
		if !strings.Contains(string(b), `"proof":[]`) {
			t.Errorf("bundle has no empty proof:\n%s", b)
		}
		mustVerify(t, b, audit.VerifyOptions{})
	})
}

func TestCSV_Export(t *testing.T) {
	s := newFixture(t, 3)
	export := func(t *testing.T, o audit.Opener, f audit.Filter) [][]string {
		t.Helper()
		var buf bytes.Buffer
		if err := audit.WriteCSV(context.Background(), &buf, s, o, testTenant, f); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatalf("csv does not parse: %v", err)
		}
		if !slices.Equal(rows[0], audit.CSVHeader) {
			t.Fatalf("header row = %q", rows[0])
		}
		return rows[1:]
	}

	t.Run("All", func(t *testing.T) {
		rows := export(t, s.opener(), audit.Filter{})
		if len(rows) != 10 {
			t.Fatalf("%d rows, want 10", len(rows))
		}
		want := []string{"4", "2026-03-02T09:06:00.000000000Z", "usr_bob", "bob@firm.example", "10.0.0.9", "curl/8.5", "document.download",
			"document", "doc_1", `Contract (draft) \ v2.pdf`, "denied", `{"matter_id":"mat_1","reason":"no_grant"}`}
		if !slices.Equal(rows[3], want) {
			t.Errorf("row of event 4:\n got %q\nwant %q", rows[3], want)
		}
		for i, r := range rows {
			if r[0] != strings.TrimSpace(r[0]) || r[0] != itoa(i+1) {
				t.Errorf("row %d has seq %q", i, r[0])
			}
		}
		if got := rows[1][9]; got != "Müller & Söhne v. État" {
			t.Errorf("object_name of event 2 = %q", got)
		}
		if got := rows[6][5]; got != "Mozilla/5.0 <script>" {
			t.Errorf("user_agent of event 7 = %q", got)
		}
		// A name that a spreadsheet would run as a formula is defused.
		if got := rows[7][9]; got != `'=HYPERLINK("http://x")` {
			t.Errorf("object_name of event 8 = %q", got)
		}
		if got := rows[0][9]; got != "" {
			t.Errorf("object_name of event 1 (no private part) = %q", got)
		}
		if got := rows[9][11]; got != "{}" {
			t.Errorf("details of event 10 = %q", got)
		}
	})

	t.Run("Filtered", func(t *testing.T) {
		rows := export(t, s.opener(), audit.Filter{ActorID: "usr_carol"})
		if len(rows) != 2 || rows[0][0] != "7" || rows[1][0] != "8" {
			t.Errorf("rows = %q, want events 7 and 8", rows)
		}
	})

	t.Run("KeysDestroyed", func(t *testing.T) {
		rows := export(t, &memOpener{keys: s.keys, destroyed: true}, audit.Filter{})
		for i, r := range rows {
			want := "[sealed]"
			if !fixtureHasPrivate(int64(i + 1)) {
				want = ""
			}
			if r[9] != want {
				t.Errorf("object_name of event %d = %q, want %q", i+1, r[9], want)
			}
		}
	})
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestPDF_Export(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pdftotext (poppler-utils) is required in CI")
		}
		t.Skip("pdftotext not installed (apt-get install poppler-utils)")
	}
	pdfText := func(t *testing.T, pdf []byte) string {
		t.Helper()
		path := filepath.Join(t.TempDir(), "report.pdf")
		if err := os.WriteFile(path, pdf, 0o600); err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd := exec.Command("pdftotext", "-layout", path, "-")
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || stderr.Len() > 0 {
			t.Fatalf("pdftotext: %v\n%s", err, stderr.Bytes())
		}
		return string(out)
	}

	t.Run("Report", func(t *testing.T) {
		s := newFixture(t, 3)
		var buf bytes.Buffer
		rep := audit.Report{Firm: "Hale & Partners", Time: exportTime}
		if err := audit.WritePDF(context.Background(), &buf, s, s.opener(), testTenant, audit.Filter{}, rep); err != nil {
			t.Fatal(err)
		}
		text := pdfText(t, buf.Bytes())
		ck := checkpointOf(t, s)
		for _, want := range []string{
			"Audit report",
			"Hale & Partners",
			"Prepared on 2 Mar 2026 17:30 UTC",
			"Selection: All events.",
			"The signed log held 10 events at the export; 10 of them match",
			"10 events: 8 ok, 2 denied, 0 errors, by 5 users.",
			"Signed in 2",
			"Downloaded a document 2",
			"Uploaded a document 2",
			"Documents most accessed",
			"Contract (draft) \\ v2.pdf 1",
			"Denials: 2",
			"#4 2026-03-02 bob@firm.example Downloaded a document",
			"\u201cContract (draft) \\ v2.pdf\u201d: reason: no grant denied",
			"Opened a matter \u201cMüller & Söhne v. État\u201d (client \u201cMüller GmbH\u201d)",
			"\u201c??? – Tokyo.pdf\u201d", // no CJK in WinAnsiEncoding
			"End of the events: 10 listed.",
			"Tree size: 10 events",
			"Root hash: " + ck.Root.String(),
			s.vkey,
			"casevault audit verify", "--key '" + s.vkey + "'",
			"Page 1 of 2",
			"Page 2 of 2",
		} {
			if !strings.Contains(squeeze(text), squeeze(want)) {
				t.Errorf("report lacks %q; text:\n%s", want, text)
			}
		}
		// No raw JSON, and the firm's id only in the signed note's origin.
		for _, bad := range []string{`{"`, `"matter_id"`} {
			if strings.Contains(text, bad) {
				t.Errorf("report shows raw JSON %q", bad)
			}
		}
		if n := strings.Count(text, testTenant); n != 1 {
			t.Errorf("report names the firm id %d times, want once (the checkpoint's origin)", n)
		}
	})

	t.Run("ManyPagesFilteredSealed", func(t *testing.T) {
		s := newMemSource(t, testTenant, "pages")
		for i := range 300 {
			a := "document.download"
			if i%3 == 0 {
				a = "document.view"
			}
			s.add(t, audit.Entry{ActorID: "usr_alice", ActorEmail: "alice@firm.example", Action: a, ObjectType: "document",
				ObjectID: "doc_" + itoa(i), Outcome: audit.OutcomeOK, Details: map[string]string{"matter_id": "mat_1"}}, audit.Private{"name": "Brief " + itoa(i) + ".pdf"})
		}
		var buf bytes.Buffer
		f := audit.Filter{Action: "document.view"}
		if err := audit.WritePDF(context.Background(), &buf, s, &memOpener{keys: s.keys, destroyed: true}, testTenant, f, audit.Report{Time: exportTime}); err != nil {
			t.Fatal(err)
		}
		text := pdfText(t, buf.Bytes())
		if n := strings.Count(squeeze(text), "Viewed a document [name sealed]"); n != 100 {
			t.Errorf("report has %d sealed document.view rows, want 100", n)
		}
		if strings.Contains(text, "Downloaded a document") || strings.Contains(text, "Brief") || strings.Contains(text, "alice@") {
			t.Error("report shows an event the filter excludes, or a name or email from a destroyed key")
		}
		for _, want := range []string{`Selection: Events of the action “Viewed a document” (document.view).`, "#298",
			"End of the events: 100 listed.", "Activity over time", "Events per hour (UTC)", "Viewed a document 100"} {
			if !strings.Contains(squeeze(text), squeeze(want)) {
				t.Errorf("report lacks %q", want)
			}
		}
		out, err := exec.Command("pdfinfo", writeTemp(t, buf.Bytes())).CombinedOutput()
		if err != nil {
			t.Fatalf("pdfinfo: %v: %s", err, out)
		}
		if strings.Contains(string(out), "Error") || strings.Contains(string(out), "Warning") {
			t.Errorf("pdfinfo complains: %s", out)
		}
		m := regexp.MustCompile(`Pages:\s+(\d+)`).FindStringSubmatch(string(out))
		if m == nil || m[1] == "1" {
			t.Fatalf("pdfinfo: %s, want several pages", out)
		}
		for _, want := range []string{"Page 1 of " + m[1], "Page " + m[1] + " of " + m[1]} {
			if !strings.Contains(text, want) {
				t.Errorf("report lacks %q", want)
			}
		}
	})
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.pdf")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// squeeze collapses runs of spaces, which pdftotext's layout may widen.
func squeeze(s string) string { return strings.Join(strings.Fields(s), " ") }
