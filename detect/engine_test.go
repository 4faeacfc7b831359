package detect_test

import (
	"context"
	"crypto/sha256"
	"slices"
	"testing"
	"time"

	"github.com/casevault/casevault/detect"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

const firm = "ten_test"

var t0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC) // a Wednesday

// feed is a sequence of events of one firm, numbered from 1.
type feed struct {
	tb  testing.TB
	e   *detect.Engine
	seq int64
}

// obs observes one event and returns the rules it tripped.
func (f *feed) obs(ev vault.AuditEvent, token, kind string) []vault.Finding {
	f.seq++
	if ev.TenantID == "" {
		ev.TenantID = firm
	}
	if ev.Outcome == "" {
		ev.Outcome = vault.OutcomeOK
	}
	return f.e.Observe(context.Background(), vault.Observation{Seq: f.seq, Event: &ev, TokenID: token, TokenKind: kind})
}

// read is a view by user at t in matter m.
func read(user string, t time.Time, m string) vault.AuditEvent {
	return vault.AuditEvent{ActorID: user, Time: t, Action: vault.ActDocumentView, ObjectType: "document", ObjectID: "doc_1",
		Details: map[string]string{"matter_id": m}}
}

// engine returns an engine with only rule on, as r says.
func engine(tb testing.TB, rule string, r vault.RuleSettings, opt detect.Options) *feed {
	st := vault.DefaultDetectionSettings()
	for id, x := range st.Rules {
		x.Enabled = false
		st.Rules[id] = x
	}
	r.Enabled = true
	st.Rules[rule] = r
	st, err := st.Normalize()
	if err != nil {
		tb.Fatal(err)
	}
	e := detect.New(opt)
	e.Configure(firm, st)
	return &feed{tb: tb, e: e}
}

func rules(fs []vault.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule)
	}
	return out
}

func TestEngine_SessionVolume(t *testing.T) {
	f := engine(t, vault.RuleSessionVolume, vault.RuleSettings{Threshold: 2}, detect.Options{})
	var got []vault.Finding
	for i := range 5 {
		got = append(got, f.obs(read("usr_a", t0.Add(time.Duration(i)*time.Second), "mat_1"), "tok_1", vault.TokenSession)...)
	}
	// Another session of the same user counts on its own.
	got = append(got, f.obs(read("usr_a", t0, "mat_1"), "tok_2", vault.TokenSession)...)
	if len(got) != 1 || !slices.Equal(got[0].Evidence, []int64{1, 2, 3}) || got[0].Observed != 3 || got[0].UserID != "usr_a" {
		t.Fatalf("findings = %+v, want one with evidence 1,2,3", got)
	}
}

func TestEngine_HourlyWindowSlides(t *testing.T) {
	f := engine(t, vault.RuleHourlyVolume, vault.RuleSettings{Threshold: 2, WindowMinutes: 60}, detect.Options{})
	f.obs(read("usr_a", t0, "m"), "", "")
	f.obs(read("usr_a", t0.Add(30*time.Minute), "m"), "", "")
	if got := f.obs(read("usr_a", t0.Add(61*time.Minute), "m"), "", ""); len(got) != 0 {
		t.Fatalf("the first read left the window, yet: %+v", got)
	}
	got := f.obs(read("usr_a", t0.Add(62*time.Minute), "m"), "", "")
	if len(got) != 1 || !slices.Equal(got[0].Evidence, []int64{2, 3, 4}) {
		t.Fatalf("findings = %+v, want evidence 2,3,4", got)
	}
	// It fires once per window, not on every later read.
	if got := f.obs(read("usr_a", t0.Add(63*time.Minute), "m"), "", ""); len(got) != 0 {
		t.Errorf("fired again: %+v", got)
	}
	// Failed reads and other users do not count.
	ev := read("usr_b", t0, "m")
	ev.Outcome = vault.OutcomeDenied
	for range 5 {
		if got := f.obs(ev, "", ""); len(got) != 0 {
			t.Errorf("a denied read counted: %+v", got)
		}
	}
}

func TestEngine_DeniedBurst(t *testing.T) {
	f := engine(t, vault.RuleDeniedBurst, vault.RuleSettings{Threshold: 1, WindowMinutes: 5}, detect.Options{})
	denied := func(t time.Time) vault.AuditEvent {
		return vault.AuditEvent{ActorID: "usr_a", Time: t, Action: vault.ActAccessDenied, Outcome: vault.OutcomeDenied}
	}
	f.obs(denied(t0), "", "")
	if got := f.obs(denied(t0.Add(6*time.Minute)), "", ""); len(got) != 0 {
		t.Fatalf("two denials 6 minutes apart fired: %+v", got)
	}
	if got := f.obs(denied(t0.Add(7*time.Minute)), "", ""); !slices.Equal(rules(got), []string{vault.RuleDeniedBurst}) {
		t.Fatalf("findings = %+v", got)
	}
}

func TestEngine_Signin(t *testing.T) {
	fail := func(account, source string) vault.AuditEvent {
		return vault.AuditEvent{Time: t0, Action: vault.ActLoginFailed, ObjectType: "user", ObjectID: account,
			Source: source, Outcome: vault.OutcomeDenied, Details: map[string]string{"reason": "bad_credentials"}}
	}
	t.Run("Spray", func(t *testing.T) {
		f := engine(t, vault.RuleSigninSpray, vault.RuleSettings{Threshold: 1, WindowMinutes: 15}, detect.Options{})
		f.obs(fail("usr_a", "203.0.113.1:5555"), "", "")
		f.obs(fail("usr_a", "203.0.113.1:6666"), "", "") // the same account, another port
		if got := f.obs(fail("usr_b", "203.0.113.2"), "", ""); len(got) != 0 {
			t.Fatalf("another source fired: %+v", got)
		}
		got := f.obs(fail("usr_b", "203.0.113.1"), "", "")
		if len(got) != 1 || got[0].UserID != "" || !slices.Equal(got[0].Evidence, []int64{1, 2, 4}) {
			t.Fatalf("findings = %+v", got)
		}
	})
	t.Run("Sources", func(t *testing.T) {
		f := engine(t, vault.RuleSigninSources, vault.RuleSettings{Threshold: 1, WindowMinutes: 15}, detect.Options{})
		f.obs(fail("usr_a", "2001:db8::1"), "", "")
		if got := f.obs(fail("usr_a", "2001:db8::2"), "", ""); len(got) != 0 {
			t.Fatalf("one /64 counted as two sources: %+v", got)
		}
		got := f.obs(fail("usr_a", "2001:db9::1"), "", "")
		if len(got) != 1 || got[0].UserID != "usr_a" || got[0].Contain {
			t.Fatalf("findings = %+v", got)
		}
	})
}

func TestEngine_SelfGrant(t *testing.T) {
	f := engine(t, vault.RuleSelfGrant, vault.RuleSettings{Threshold: 0, WindowMinutes: 30}, detect.Options{})
	grant := func(by, to string) vault.AuditEvent {
		return vault.AuditEvent{ActorID: by, Time: t0, Action: vault.ActGrantCreate, ObjectType: "grant",
			Details: map[string]string{"user_id": to, "matter_id": "mat_1"}}
	}
	var got []vault.Finding
	got = append(got, f.obs(grant("usr_admin", "usr_other"), "", "")...)                    // not to oneself
	got = append(got, f.obs(read("usr_other", t0.Add(time.Minute), "mat_1"), "", "")...)    // the grantee of another's grant
	got = append(got, f.obs(grant("usr_admin", "usr_admin"), "", "")...)                    // to oneself
	got = append(got, f.obs(read("usr_admin", t0.Add(time.Minute), "mat_2"), "", "")...)    // another matter
	got = append(got, f.obs(read("usr_admin", t0.Add(31*time.Minute), "mat_1"), "", "")...) // after the window
	if len(got) != 0 {
		t.Fatalf("findings = %+v, want none", got)
	}
	f2 := engine(t, vault.RuleSelfGrant, vault.RuleSettings{Threshold: 0, WindowMinutes: 30}, detect.Options{})
	f2.obs(grant("usr_admin", "usr_admin"), "", "")
	got = f2.obs(read("usr_admin", t0.Add(29*time.Minute), "mat_1"), "", "")
	if len(got) != 1 || !slices.Equal(got[0].Evidence, []int64{1, 2}) {
		t.Fatalf("findings = %+v, want evidence 1,2", got)
	}
}

func TestEngine_OffHours(t *testing.T) {
	f := engine(t, vault.RuleOffHours, vault.RuleSettings{}, detect.Options{})
	st := vault.DefaultDetectionSettings()
	st.Rules[vault.RuleOffHours] = vault.RuleSettings{Enabled: true}
	st.WorkingHours = vault.WorkingHours{TimeZone: "America/Toronto", Start: "08:00", End: "18:00", Weekdays: []string{"mon", "tue", "wed", "thu", "fri"}}
	st.Rules[vault.RuleSessionVolume] = vault.RuleSettings{}
	st.Rules[vault.RuleHourlyVolume] = vault.RuleSettings{WindowMinutes: 60}
	st.Rules[vault.RuleBaseline] = vault.RuleSettings{Multiple: 5}
	st.Rules[vault.RuleTokenNewSource] = vault.RuleSettings{}
	st, err := st.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	f.e.Configure(firm, st)
	// 10:00 UTC is 05:00 in Toronto: closed. 14:00 UTC is 09:00: open.
	if got := f.obs(read("usr_a", t0.Add(4*time.Hour), "m"), "", ""); len(got) != 0 {
		t.Fatalf("09:00 Toronto fired: %+v", got)
	}
	if got := f.obs(read("usr_a", t0, "m"), "", ""); !slices.Equal(rules(got), []string{vault.RuleOffHours}) {
		t.Fatalf("05:00 Toronto: %+v", got)
	}
	if got := f.obs(read("usr_a", t0.Add(time.Minute), "m"), "", ""); len(got) != 0 {
		t.Errorf("fired twice the same day: %+v", got)
	}
}

func TestEngine_TokenNewSource(t *testing.T) {
	hash := func(_ context.Context, tenant, token, source string) ([]byte, error) {
		h := sha256.Sum256([]byte(tenant + token + vault.NormalizeSource(source)))
		return h[:], nil
	}
	f := engine(t, vault.RuleTokenNewSource, vault.RuleSettings{}, detect.Options{SourceHash: hash})
	create := vault.AuditEvent{ActorID: "usr_a", Time: t0, Action: vault.ActTokenCreate, ObjectType: "token", ObjectID: "tok_api",
		Source: "203.0.113.1", Details: map[string]string{"kind": vault.TokenAPI}}
	use := func(source string) vault.AuditEvent {
		ev := read("usr_a", t0, "m")
		ev.Source = source
		return ev
	}
	f.obs(create, "tok_session", vault.TokenSession)
	if got := f.obs(use("203.0.113.1:4444"), "tok_api", vault.TokenAPI); len(got) != 0 {
		t.Fatalf("the creation's source fired: %+v", got)
	}
	if got := f.obs(use("198.51.100.1"), "tok_session", vault.TokenSession); len(got) != 0 {
		t.Fatalf("a session fired: %+v", got)
	}
	got := f.obs(use("198.51.100.1"), "tok_api", vault.TokenAPI)
	if len(got) != 1 || got[0].TokenID != "tok_api" || !slices.Equal(got[0].Evidence, []int64{4}) {
		t.Fatalf("findings = %+v", got)
	}
}

// TestEngine_BaselineSurvivesRestart: the hourly counts are written to
// the database by Flush and read back by a new engine (a restart).
func TestEngine_BaselineSurvivesRestart(t *testing.T) {
	v := vaulttest.Open(t, t.TempDir(), nil)
	ten, _, _, err := v.Svc.CreateTenant(context.Background(), vault.NewTenant{Name: "F", Region: "us", Owner: vault.NewUser{Email: "o@f.example"}})
	if err != nil {
		t.Fatal(err)
	}
	r := vault.RuleSettings{Threshold: 3, Multiple: 2}
	run := func(e *feed, at time.Time, n int) []vault.Finding {
		var out []vault.Finding
		for i := range n {
			ev := read("usr_a", at.Add(time.Duration(i)*time.Second), "m")
			ev.TenantID = ten.ID
			out = append(out, e.obs(ev, "", "")...)
		}
		return out
	}
	configure := func(f *feed) *feed {
		st := vault.DefaultDetectionSettings()
		for id, x := range st.Rules {
			x.Enabled = false
			st.Rules[id] = x
		}
		r.Enabled = true
		st.Rules[vault.RuleBaseline] = r
		f.e.Configure(ten.ID, st)
		return f
	}
	first := configure(&feed{tb: t, e: detect.New(detect.Options{Store: v.DB})})
	if got := run(first, t0, 3); len(got) != 0 {
		t.Fatalf("at the floor: %+v", got)
	}
	if err := first.e.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The next day the mean of 3 makes the limit 6: the restarted engine
	// knows it; one without the database flags the 4th read.
	next := t0.Add(24 * time.Hour)
	restarted := configure(&feed{tb: t, e: detect.New(detect.Options{Store: v.DB})})
	if got := run(restarted, next, 6); len(got) != 0 {
		t.Fatalf("under 2 × the baseline: %+v", got)
	}
	if got := run(restarted, next.Add(time.Minute), 1); len(got) != 1 || got[0].Threshold != 6 || got[0].Observed != 7 {
		t.Fatalf("findings = %+v, want 7 against 6", got)
	}
	amnesiac := configure(&feed{tb: t, e: detect.New(detect.Options{})})
	if got := run(amnesiac, next, 4); len(got) != 1 || got[0].Threshold != 3 {
		t.Fatalf("without history: %+v, want the floor", got)
	}
}

func TestSettings_Normalize(t *testing.T) {
	for name, mod := range map[string]func(*vault.DetectionSettings){
		"UnknownRule": func(s *vault.DetectionSettings) { s.Rules["nope"] = vault.RuleSettings{} },
		"Window":      func(s *vault.DetectionSettings) { s.Rules[vault.RuleDeniedBurst] = vault.RuleSettings{Threshold: 1} },
		"Multiple":    func(s *vault.DetectionSettings) { s.Rules[vault.RuleBaseline] = vault.RuleSettings{Multiple: 0.5} },
		"ContainSpray": func(s *vault.DetectionSettings) {
			s.Rules[vault.RuleSigninSpray] = vault.RuleSettings{Contain: true, WindowMinutes: 5}
		},
		"Zone":    func(s *vault.DetectionSettings) { s.WorkingHours.TimeZone = "Mars/Olympus" },
		"Hours":   func(s *vault.DetectionSettings) { s.WorkingHours.Start = "21:00" },
		"Weekday": func(s *vault.DetectionSettings) { s.WorkingHours.Weekdays = []string{"mon", "mon"} },
	} {
		t.Run(name, func(t *testing.T) {
			st := vault.DefaultDetectionSettings()
			mod(&st)
			if _, err := st.Normalize(); !vault.IsCode(err, vault.EINVALID) {
				t.Errorf("Normalize = %v, want invalid", err)
			}
		})
	}
	st, err := vault.DetectionSettings{}.Normalize()
	if err != nil || len(st.Rules) != len(vault.Rules) || st.Rules[vault.RuleOffHours].Enabled || !st.Rules[vault.RuleBaseline].Enabled {
		t.Errorf("empty settings = %+v, %v; want the defaults", st, err)
	}
}

// TestEngine_TokenSourcesSurviveRestart: the sources Flush writes (as
// keyed hashes) are known to a new engine on the same database.
func TestEngine_TokenSourcesSurviveRestart(t *testing.T) {
	v := vaulttest.Open(t, t.TempDir(), nil)
	ten, _, _, err := v.Svc.CreateTenant(context.Background(), vault.NewTenant{Name: "F", Region: "us", Owner: vault.NewUser{Email: "o@f.example"}})
	if err != nil {
		t.Fatal(err)
	}
	use := func(e *detect.Engine, seq int64, source string) []vault.Finding {
		ev := read("usr_a", t0, "m")
		ev.TenantID, ev.Source = ten.ID, source
		return e.Observe(context.Background(), vault.Observation{Seq: seq, Event: &ev, TokenID: "tok_api", TokenKind: vault.TokenAPI})
	}
	engine := func() *detect.Engine {
		st := vault.DefaultDetectionSettings()
		e := detect.New(detect.Options{Store: v.DB, SourceHash: v.Svc.TokenSourceHash})
		e.Configure(ten.ID, st)
		return e
	}
	first := engine()
	use(first, 1, "203.0.113.1")
	if got := use(first, 2, "203.0.113.2"); len(got) != 1 {
		t.Fatalf("a new source: %+v, want a finding", got)
	}
	if err := first.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	again := engine()
	for i, src := range []string{"203.0.113.1", "203.0.113.2"} {
		if got := use(again, int64(3+i), src); len(got) != 0 {
			t.Errorf("after a restart, known source %s: %+v", src, got)
		}
	}
	if got := use(again, 5, "198.51.100.1"); len(got) != 1 {
		t.Errorf("after a restart, a new source: %+v, want a finding", got)
	}
}
