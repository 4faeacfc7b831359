package vault

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Breach-detection rules (README, "Breach detection"). Each is evaluated as
// the events it reads are appended to the firm's audit log.
const (
	RuleSessionVolume  = "session_volume"   // one session's views+downloads above Threshold
	RuleHourlyVolume   = "hourly_volume"    // one user's views+downloads in Window above Threshold
	RuleBaseline       = "baseline"         // one user's views+downloads this hour above Multiple × their own mean
	RuleDeniedBurst    = "denied_burst"     // one user's access.denied events in Window above Threshold
	RuleSigninSpray    = "signin_spray"     // sign-in failures of more than Threshold accounts from one source in Window
	RuleSigninSources  = "signin_sources"   // sign-in failures of one account from more than Threshold sources in Window
	RuleSelfGrant      = "self_grant"       // a grant to oneself followed by more than Threshold reads of that matter in Window
	RuleOffHours       = "off_hours"        // a view, download or sign-in outside the firm's working hours
	RuleTokenNewSource = "token_new_source" // an API token used from a source it was never used from
)

// Rules lists every rule, in the order the settings and docs show them.
var Rules = []string{
	RuleSessionVolume, RuleHourlyVolume, RuleBaseline, RuleDeniedBurst, RuleSigninSpray,
	RuleSigninSources, RuleSelfGrant, RuleOffHours, RuleTokenNewSource,
}

// BaselineDays is how many past days a user's baseline (RuleBaseline)
// averages over.
const BaselineDays = 14

// RuleSettings are one rule's settings in a firm. A rule fires when what it
// counts is above Threshold (strictly), inside the last WindowMinutes.
type RuleSettings struct {
	Enabled       bool    `json:"enabled"`
	Threshold     int     `json:"threshold"`          // baseline: the floor below which nobody is flagged
	WindowMinutes int     `json:"window_minutes"`     // unused by session_volume, baseline, off_hours, token_new_source
	Multiple      float64 `json:"multiple,omitempty"` // baseline only
	// Contain suspends the user's sessions and tokens when the rule fires.
	// The sign-in rules cannot contain: their user is the victim.
	Contain bool `json:"contain"`
}

// WorkingHours are a firm's working hours for RuleOffHours: from Start to
// End (HH:MM, End exclusive) on Weekdays, in TimeZone (IANA).
type WorkingHours struct {
	TimeZone string   `json:"time_zone"`
	Start    string   `json:"start"`
	End      string   `json:"end"`
	Weekdays []string `json:"weekdays"` // "mon" … "sun"
}

// DetectionSettings are a firm's breach-detection settings: one entry per
// rule of Rules, and its working hours.
type DetectionSettings struct {
	Rules        map[string]RuleSettings `json:"rules"`
	WorkingHours WorkingHours            `json:"working_hours"`
}

// DefaultDetectionSettings are the settings of a firm that never changed
// them. Every rule but off_hours is on, none contains; off_hours is off
// because firms' hours differ and late work is normal in law firms: a firm
// turns it on after setting its hours (07:00–20:00 Mon–Fri UTC until then).
func DefaultDetectionSettings() DetectionSettings {
	return DetectionSettings{
		Rules: map[string]RuleSettings{
			RuleSessionVolume:  {Enabled: true, Threshold: 300},
			RuleHourlyVolume:   {Enabled: true, Threshold: 200, WindowMinutes: 60},
			RuleBaseline:       {Enabled: true, Threshold: 50, Multiple: 5},
			RuleDeniedBurst:    {Enabled: true, Threshold: 10, WindowMinutes: 10},
			RuleSigninSpray:    {Enabled: true, Threshold: 5, WindowMinutes: 15},
			RuleSigninSources:  {Enabled: true, Threshold: 5, WindowMinutes: 15},
			RuleSelfGrant:      {Enabled: true, Threshold: 0, WindowMinutes: 60},
			RuleOffHours:       {Enabled: false},
			RuleTokenNewSource: {Enabled: true},
		},
		WorkingHours: WorkingHours{TimeZone: "UTC", Start: "07:00", End: "20:00",
			Weekdays: []string{"mon", "tue", "wed", "thu", "fri"}},
	}
}

// windowed are the rules that read WindowMinutes.
var windowed = map[string]bool{RuleHourlyVolume: true, RuleDeniedBurst: true, RuleSigninSpray: true,
	RuleSigninSources: true, RuleSelfGrant: true}

// Normalize fills in what st leaves out from the defaults and checks the
// rest. Errors: invalid.
func (st DetectionSettings) Normalize() (DetectionSettings, error) {
	def := DefaultDetectionSettings()
	out := DetectionSettings{Rules: map[string]RuleSettings{}, WorkingHours: st.WorkingHours}
	out.WorkingHours.Weekdays = append([]string(nil), st.WorkingHours.Weekdays...)
	for id := range st.Rules {
		if _, ok := def.Rules[id]; !ok {
			return out, Errorf(EINVALID, "Unknown detection rule %q; rules: %s.", id, strings.Join(Rules, ", "))
		}
	}
	for _, id := range Rules {
		r, ok := st.Rules[id]
		if !ok {
			r = def.Rules[id]
		}
		switch {
		case r.Threshold < 0 || r.Threshold > 1_000_000:
			return out, Errorf(EINVALID, "Rule %s: threshold must be between 0 and 1000000.", id)
		case windowed[id] && (r.WindowMinutes < 1 || r.WindowMinutes > 7*24*60):
			return out, Errorf(EINVALID, "Rule %s: window_minutes must be between 1 and 10080.", id)
		case id == RuleBaseline && (r.Multiple < 1 || r.Multiple > 1000):
			return out, Errorf(EINVALID, "Rule baseline: multiple must be between 1 and 1000.")
		case r.Contain && (id == RuleSigninSpray || id == RuleSigninSources):
			return out, Errorf(EINVALID, "Rule %s cannot contain: the account it names is the one attacked.", id)
		}
		if !windowed[id] {
			r.WindowMinutes = 0
		}
		if id != RuleBaseline {
			r.Multiple = 0
		}
		out.Rules[id] = r
	}
	wh := &out.WorkingHours
	if wh.TimeZone == "" && wh.Start == "" && wh.End == "" && len(wh.Weekdays) == 0 {
		*wh = def.WorkingHours
	}
	if _, err := time.LoadLocation(wh.TimeZone); err != nil || wh.TimeZone == "" {
		return out, Errorf(EINVALID, "Working hours: unknown time zone %q.", wh.TimeZone)
	}
	start, ok1 := ClockMinutes(wh.Start)
	end, ok2 := ClockMinutes(wh.End)
	if !ok1 || !ok2 || start >= end {
		return out, Errorf(EINVALID, "Working hours: start and end are HH:MM, start before end.")
	}
	seen := map[string]bool{}
	for i, d := range wh.Weekdays {
		d = strings.ToLower(strings.TrimSpace(d))
		if _, ok := weekdayOf[d]; !ok || seen[d] {
			return out, Errorf(EINVALID, "Working hours: weekday %q is not one of mon, tue, wed, thu, fri, sat, sun (once each).", d)
		}
		seen[d], wh.Weekdays[i] = true, d
	}
	return out, nil
}

// weekdayOf maps the settings' weekday names to time.Weekday.
var weekdayOf = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// ClockMinutes parses "HH:MM" (00:00 to 24:00) into minutes after midnight.
func ClockMinutes(s string) (int, bool) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil || h < 0 || m < 0 || m > 59 || h*60+m > 24*60 {
		return 0, false
	}
	return h*60 + m, true
}

// Within reports whether t falls inside the working hours. wh must be
// normalised (DetectionSettings.Normalize); an unknown zone counts as UTC.
func (wh WorkingHours) Within(t time.Time) bool {
	loc, err := time.LoadLocation(wh.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	local := t.In(loc)
	day := false
	for _, d := range wh.Weekdays {
		if weekdayOf[d] == local.Weekday() {
			day = true
		}
	}
	start, _ := ClockMinutes(wh.Start)
	end, _ := ClockMinutes(wh.End)
	m := local.Hour()*60 + local.Minute()
	return day && m >= start && m < end
}

// Observation is one event just appended to a firm's log, as the
// detector sees it: in memory, with its sources in the clear, and the
// sign-in token of the request that caused it ("" when none).
type Observation struct {
	Seq       int64
	Event     *AuditEvent
	TokenID   string
	TokenKind string // TokenSession or TokenAPI
}

// Finding is a rule that fired: on which firm and user, with the sequence
// numbers of the events that tripped it and the value it saw against its
// threshold.
type Finding struct {
	TenantID  string
	Rule      string
	UserID    string // "" when the rule names no user (signin_spray)
	TokenID   string // token_new_source: the token
	Evidence  []int64
	Threshold float64
	Observed  float64
	Contain   bool // the rule's settings ask for containment
}

// Detector evaluates the breach-detection rules as events are appended.
// Implemented by detect.Engine. Observe must be cheap: it runs after every
// append of a firm's event.
type Detector interface {
	// Observe evaluates o and returns the rules it trips, if any.
	Observe(ctx context.Context, o Observation) []Finding
	// Configure replaces the settings the detector uses for tenantID.
	Configure(tenantID string, st DetectionSettings)
}
