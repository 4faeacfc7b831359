package audit_test

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/vault"
)

// failingOpener is a firm whose keys were destroyed.
type failingOpener struct{}

func (failingOpener) OpenPrivate(context.Context, string, string, []byte) (string, error) {
	return "", vault.Errorf(vault.ECANNOTDECRYPT, "Keys are gone.")
}

// TestLog_Identities checks where a version 2 event keeps who and where:
// a firm's events seal the actor's email, the source and the user agent
// with the names; the service log keeps emails and sources only as keyed
// hashes and user agents not at all. Nothing of either is in the file.
func TestLog_Identities(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t)
	l := env.open(t, nil)
	firm := newTenant()
	const (
		actorEmail = "marker-actor@firm.example"
		newEmail   = "marker-new-user@firm.example"
		source     = "198.51.100.77"
		userAgent  = "MarkerAgent/7.0"
		unknown    = "Marker-Unknown@Elsewhere.example "
		svcSource  = "203.0.113.88"
		svcAgent   = "MarkerBot/1.0"
		v6Source   = "2001:db8:1:2:aaaa:bbbb:cccc:dddd"
	)
	mctx := vault.WithRequestMeta(ctx, vault.RequestMeta{Source: source, UserAgent: userAgent})
	mustAppendCtx := func(ctx context.Context, e *vault.AuditEvent) {
		t.Helper()
		if _, err := l.Append(ctx, e); err != nil {
			t.Fatalf("Append %s: %v", e.Action, err)
		}
	}
	mustAppendCtx(mctx, &vault.AuditEvent{
		TenantID: firm, ActorID: "usr_a", ActorEmail: actorEmail, Action: vault.ActUserCreate, ObjectType: "user",
		ObjectID: "usr_b", Outcome: audit.OutcomeOK, Details: map[string]string{"role": "lawyer"},
		Private: map[string]string{"email": newEmail},
	})
	mustAppendCtx(vault.WithRequestMeta(ctx, vault.RequestMeta{Source: svcSource + ":5555", UserAgent: svcAgent}), &vault.AuditEvent{
		ObjectType: "user", Action: vault.ActLoginFailed, Outcome: audit.OutcomeDenied,
		Details: map[string]string{"reason": "bad_credentials"}, Private: map[string]string{"email": unknown},
	})
	mustAppendCtx(ctx, &vault.AuditEvent{
		ObjectType: "user", Action: vault.ActLoginFailed, Outcome: audit.OutcomeDenied, Source: v6Source,
		Details: map[string]string{"reason": "rate_limited"}, Private: map[string]string{"email": unknown},
	})

	rec := checkChain(t, l, firm, 1)[0]
	if e := rec.Entry; e.V != audit.FormatV2 || e.ActorEmail != "" || e.Source != "" || e.UserAgent != "" || e.Sealed == "" {
		t.Fatalf("firm entry = %+v, want version 2 with its identities sealed", *e)
	}
	wantP := "map[actor_email:" + actorEmail + " email:" + newEmail + " source:" + source + " user_agent:" + userAgent + "]"
	if got := env.private(t, rec.Entry); fmtMap(got) != wantP {
		t.Errorf("private part = %s, want %s", fmtMap(got), wantP)
	}

	svc := checkChain(t, l, "", 2)
	for i, want := range []map[string]string{
		{"reason": "bad_credentials", "email_hash": testIndexHash(vault.IndexEmail, "marker-unknown@elsewhere.example"),
			"source_hash": testIndexHash(vault.IndexSource, svcSource)},
		{"reason": "rate_limited", "email_hash": testIndexHash(vault.IndexEmail, "marker-unknown@elsewhere.example"),
			"source_hash": testIndexHash(vault.IndexSource, "2001:db8:1:2::/64")},
	} {
		e := svc[i].Entry
		if e.Sealed != "" || e.Commit != "" || e.ActorEmail != "" || e.Source != "" || e.UserAgent != "" {
			t.Errorf("service event %d = %+v, want no private part and no identities", i+1, *e)
		}
		if fmtMap(e.Details) != fmtMap(want) {
			t.Errorf("service event %d details = %s, want %s", i+1, fmtMap(e.Details), fmtMap(want))
		}
	}
	// An investigator's hash of the same address, however written, finds it.
	for _, s := range []string{v6Source, "[" + v6Source + "]:443", "2001:db8:1:2::1", "2001:db8:1:2::/64"} {
		if got := testIndexHash(vault.IndexSource, s); got != svc[1].Entry.Details["source_hash"] {
			t.Errorf("hash of %q = %s, want the stored %s", s, got, svc[1].Entry.Details["source_hash"])
		}
	}

	markers := []string{actorEmail, newEmail, source, userAgent, "marker-unknown", "Marker-Unknown", svcSource, svcAgent,
		"2001:db8", "MarkerAgent", "MarkerBot"}
	assertNotOnDisk(t, env.Path, markers...)
	l.Close()
	assertNotOnDisk(t, env.Path, markers...)

	t.Run("NoIndexer", func(t *testing.T) {
		env := newTestEnv(t)
		l := env.open(t, func(o *audit.Options) { o.Indexer = nil })
		_, err := l.Append(ctx, &vault.AuditEvent{ObjectType: "user", Action: vault.ActLoginFailed, Outcome: audit.OutcomeDenied,
			Source: svcSource, Details: map[string]string{"reason": "bad_credentials"}})
		assertCode(t, err, vault.EUNAVAILABLE)
		if n := mustSize(t, l, ""); n != 0 {
			t.Fatalf("the service log holds %d events, want none", n)
		}
	})
}

// fmtMap formats a map with sorted keys.
func fmtMap(m map[string]string) string {
	var b strings.Builder
	b.WriteString("map[")
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(k + ":" + m[k])
	}
	return b.String() + "]"
}

// v1Fixture opens a copy of audit/testdata/v1/audit.db, a log written by
// the code of leaf version 1, with its signer, for appending to.
func v1Fixture(t *testing.T) (*audit.Log, *testEnv, string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "v1", "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	skey, err := os.ReadFile(filepath.Join("testdata", "v1", "signer-key.txt"))
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := os.ReadFile(filepath.Join("testdata", "v1", "verifier-key.txt"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		t.Fatal(err)
	}
	env := &testEnv{Path: filepath.Join(t.TempDir(), "audit.db"), Sealer: &xorSealer{},
		Keys: &testKeys{signer: signer, vkey: strings.TrimSpace(string(vkey)), key: noteKey(t, strings.TrimSpace(string(skey)))}}
	if err := os.WriteFile(env.Path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return env.open(t, nil), env, env.Keys.vkey
}

const v1Firm = "ten_v1fixture0000000000000000"

// TestLog_UpgradeFromV1 appends version 2 events to a log written with
// version 1 leaves: bundles of the mixed log verify, complete and filtered,
// and readers show the actor's email, source and user agent of both
// versions, from the leaf or from the opened private part.
func TestLog_UpgradeFromV1(t *testing.T) {
	ctx := context.Background()
	l, _, vkey := v1Fixture(t)
	mctx := vault.WithRequestMeta(ctx, vault.RequestMeta{Source: "192.0.2.200", UserAgent: "Upgraded/2.0"})
	for _, e := range []*vault.AuditEvent{
		{TenantID: v1Firm, ActorID: "usr_v1owner00000000000000000", ActorEmail: "owner@v1.example", Action: vault.ActUserCreate,
			ObjectType: "user", ObjectID: "usr_v2user00000000000000000", Outcome: audit.OutcomeOK,
			Details: map[string]string{"role": "auditor"}, Private: map[string]string{"email": "auditor@v1.example"}},
		{TenantID: v1Firm, ActorID: "usr_v1lawyer0000000000000000", ActorEmail: "lawyer@v1.example", Action: vault.ActDocumentView,
			ObjectType: "document", ObjectID: "doc_v1doc00000000000000000000", Outcome: audit.OutcomeOK,
			Details: map[string]string{"matter_id": "mat_v1matter0000000000000000"}, Private: map[string]string{"name": "Term sheet.pdf"}},
		{ObjectType: "user", Action: vault.ActLoginFailed, Outcome: audit.OutcomeDenied,
			Details: map[string]string{"reason": "bad_credentials"}, Private: map[string]string{"email": "nobody@v1.example"}},
	} {
		if _, err := l.Append(mctx, e); err != nil {
			t.Fatal(err)
		}
	}
	recs := checkChain(t, l, v1Firm, 9)
	for i, r := range recs {
		want := audit.FormatV1
		if i >= 7 {
			want = audit.FormatV2
		}
		if r.Entry.V != want {
			t.Errorf("event %d has version %d, want %d", r.Seq, r.Entry.V, want)
		}
	}
	opener := audit.SealerOpener{Sealer: &xorSealer{}}
	for _, tc := range []struct {
		tenant string
		f      audit.Filter
		events int64
	}{
		{v1Firm, audit.Filter{}, 9},
		{v1Firm, audit.Filter{ActorID: "usr_v1lawyer0000000000000000"}, 3},
		{"", audit.Filter{}, 3},
	} {
		var b bytes.Buffer
		if err := audit.WriteBundle(ctx, &b, l, opener, tc.tenant, tc.f, exportTime); err != nil {
			t.Fatal(err)
		}
		res := mustVerify(t, b.Bytes(), audit.VerifyOptions{TrustedKey: vkey})
		if res.Events != tc.events {
			t.Errorf("bundle of %q %+v has %d events, want %d", tc.tenant, tc.f, res.Events, tc.events)
		}
	}

	r := &audit.Reader{Log: l, Opener: opener}
	var got []*vault.AuditRecord
	if err := r.Events(ctx, v1Firm, audit.Filter{}, func(rec *vault.AuditRecord) error {
		got = append(got, rec)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	check := func(seq int, email, source, agent, detailEmail string) {
		t.Helper()
		rec := got[seq-1]
		if rec.ActorEmail != email || rec.Source != source || rec.UserAgent != agent || rec.Details["email"] != detailEmail {
			t.Errorf("event %d reads actor %q source %q agent %q email %q; want %q %q %q %q", seq,
				rec.ActorEmail, rec.Source, rec.UserAgent, rec.Details["email"], email, source, agent, detailEmail)
		}
		for _, k := range []string{"actor_email", "source", "user_agent", "email"} {
			if _, ok := rec.Private[k]; ok {
				t.Errorf("event %d: private %q is shown among the names", seq, k)
			}
		}
	}
	check(3, "owner@v1.example", "192.0.2.10", "Mozilla/5.0 (v1)", "lawyer@v1.example") // version 1, from the leaf
	check(8, "owner@v1.example", "192.0.2.200", "Upgraded/2.0", "auditor@v1.example")   // version 2, opened
	if rec := got[8]; rec.Private["name"] != "Term sheet.pdf" || rec.Sealed {
		t.Errorf("event 9 private %v sealed %t", rec.Private, rec.Sealed)
	}

	t.Run("Withheld", func(t *testing.T) {
		var got []*vault.AuditRecord
		f := audit.Filter{Withhold: map[string]bool{"mat_v1matter0000000000000000": true}}
		if err := r.Events(ctx, v1Firm, f, func(rec *vault.AuditRecord) error {
			got = append(got, rec)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if rec := got[8]; !rec.Withheld || rec.ActorEmail != "" || rec.Source != "" || rec.UserAgent != "" || rec.Private != nil {
			t.Errorf("withheld event 9 = %+v, want its private part withheld and no identities", *rec)
		}
		if rec := got[7]; rec.ActorEmail != "owner@v1.example" {
			t.Errorf("event 8 of no matter reads actor %q", rec.ActorEmail)
		}
	})
	t.Run("KeysDestroyed", func(t *testing.T) {
		r := &audit.Reader{Log: l, Opener: failingOpener{}}
		var got []*vault.AuditRecord
		if err := r.Events(ctx, v1Firm, audit.Filter{}, func(rec *vault.AuditRecord) error {
			got = append(got, rec)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if rec := got[7]; !rec.Sealed || rec.ActorEmail != "" || rec.Details["email"] != "" {
			t.Errorf("event 8 after shredding = %+v, want sealed with no identities", *rec)
		}
		if rec := got[1]; rec.ActorEmail != "owner@v1.example" {
			t.Errorf("version 1 event 2 after shredding reads actor %q, want the leaf's", rec.ActorEmail)
		}
		var csvOut bytes.Buffer
		if err := audit.WriteCSV(ctx, &csvOut, l, failingOpener{}, v1Firm, audit.Filter{}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(csvOut.String(), "192.0.2.200") || strings.Contains(csvOut.String(), "auditor@v1.example") {
			t.Errorf("CSV after shredding shows a sealed identity:\n%s", csvOut.String())
		}
	})
}

// TestVerify_VersionOrder checks the rule that a log never goes back to an
// older leaf version: version 1 then 2 verifies, a version 1 leaf after a
// version 2 leaf fails at its seq, in complete and filtered bundles.
func TestVerify_VersionOrder(t *testing.T) {
	build := func(versions ...int) *memSource {
		s := newMemSource(t, testTenant, "versions")
		for _, v := range versions {
			s.add(t, audit.Entry{V: v, ActorID: "usr_a", ActorEmail: "a@firm.example", Action: "login", ObjectType: "user",
				Outcome: audit.OutcomeOK}, nil)
		}
		return s
	}
	s := build(1, 1, 2, 2)
	mustVerify(t, exportBundle(t, s, s.opener(), audit.Filter{}), audit.VerifyOptions{})
	s = build(1, 2, 1, 2)
	ve := wantFail(t, exportBundle(t, s, s.opener(), audit.Filter{}), audit.VerifyOptions{}, 3)
	if !strings.Contains(ve.Reason, "version 1 after an event of version 2") {
		t.Errorf("reason %q", ve.Reason)
	}
	wantFail(t, exportBundle(t, s, s.opener(), audit.Filter{ActorID: "usr_a"}), audit.VerifyOptions{}, 3)
}

// TestVerify_V1Fixture checks that the bundles exported by the version 1
// code still verify, with both verifiers.
func TestVerify_V1Fixture(t *testing.T) {
	vkey, err := os.ReadFile(filepath.Join("testdata", "v1", "verifier-key.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"firm-complete.jsonl", "firm-filtered.jsonl", "service-complete.jsonl"} {
		b, err := os.ReadFile(filepath.Join("testdata", "v1", name))
		if err != nil {
			t.Fatal(err)
		}
		mustVerify(t, b, audit.VerifyOptions{TrustedKey: strings.TrimSpace(string(vkey))})
	}
}
