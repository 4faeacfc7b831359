package vault

import (
	"context"
	"sort"
	"time"
)

// AuditCount is one line of an audit summary: what is counted (an action,
// an outcome, a user id or a document id), its label in words, and how many
// events.
type AuditCount struct {
	Key   string
	Label string
	N     int64
}

// AuditBucket is one bar of an activity chart: the events from Start for
// one bucket of the summary's unit.
type AuditBucket struct {
	Start time.Time
	N     int64
}

// summaryDenials is how many of the latest denials a summary keeps.
const summaryDenials = 10

// summaryHours is the longest span whose activity is counted per hour.
const summaryHours = 72 * time.Hour

// AuditSummary counts audit events: by action, outcome and user, the
// documents most viewed and downloaded, the denials, and activity over
// time. Its memory is its counters (one per action, outcome, user and
// document seen, one per day of activity) and the latest few denials, not
// the events.
type AuditSummary struct {
	Events      int64
	First, Last time.Time // of the events counted
	Denied      int64
	// LatestDenials are the latest denials counted, oldest first.
	LatestDenials []*AuditRecord

	actions, outcomes map[string]int64
	users             map[string]*AuditCount
	docs              map[string]*AuditCount
	days              map[time.Time]int64
	hours             map[time.Time]int64 // nil once the span exceeds summaryHours
}

// NewAuditSummary returns an empty summary.
func NewAuditSummary() *AuditSummary {
	return &AuditSummary{
		actions: map[string]int64{}, outcomes: map[string]int64{}, users: map[string]*AuditCount{},
		docs: map[string]*AuditCount{}, days: map[time.Time]int64{}, hours: map[time.Time]int64{},
	}
}

// Add counts r.
func (s *AuditSummary) Add(r *AuditRecord) {
	s.Events++
	t := r.Time.UTC()
	if s.First.IsZero() || t.Before(s.First) {
		s.First = t
	}
	if t.After(s.Last) {
		s.Last = t
	}
	s.actions[r.Action]++
	s.outcomes[r.Outcome]++
	u := s.users[r.ActorID]
	if u == nil {
		u = &AuditCount{Key: r.ActorID}
		s.users[r.ActorID] = u
	}
	u.N++
	if r.ActorEmail != "" {
		u.Label = r.ActorEmail
	}
	if r.ObjectType == "document" && r.Outcome == OutcomeOK && (r.Action == ActDocumentView || r.Action == ActDocumentDownload) {
		d := s.docs[r.ObjectID]
		if d == nil {
			d = &AuditCount{Key: r.ObjectID}
			s.docs[r.ObjectID] = d
		}
		d.N++
		switch {
		case r.Private["name"] != "":
			d.Label = r.Private["name"]
		case r.Withheld:
			d.Label = "[name withheld: walled]"
		case r.Sealed && d.Label == "":
			d.Label = "[name sealed]"
		}
	}
	if r.Outcome == OutcomeDenied {
		s.Denied++
		if len(s.LatestDenials) == summaryDenials {
			copy(s.LatestDenials, s.LatestDenials[1:])
			s.LatestDenials = s.LatestDenials[:summaryDenials-1]
		}
		s.LatestDenials = append(s.LatestDenials, r)
	}
	s.days[t.Truncate(24*time.Hour)]++
	if s.hours != nil {
		if s.Last.Sub(s.First) > summaryHours {
			s.hours = nil
		} else {
			s.hours[t.Truncate(time.Hour)]++
		}
	}
}

// counts returns m as counts, most first, then by key.
func counts(m map[string]int64, label func(string) string) []AuditCount {
	out := make([]AuditCount, 0, len(m))
	for k, n := range m {
		out = append(out, AuditCount{Key: k, Label: label(k), N: n})
	}
	sortCounts(out)
	return out
}

func sortCounts(c []AuditCount) {
	sort.Slice(c, func(i, j int) bool {
		if c[i].N != c[j].N {
			return c[i].N > c[j].N
		}
		return c[i].Key < c[j].Key
	})
}

// Actions counts the events by action, most first; labels are the
// actions in words.
func (s *AuditSummary) Actions() []AuditCount { return counts(s.actions, ActionWording) }

// Outcomes counts the events by outcome, most first.
func (s *AuditSummary) Outcomes() []AuditCount {
	return counts(s.outcomes, func(k string) string { return k })
}

// Outcome returns how many events had outcome o.
func (s *AuditSummary) Outcome(o string) int64 { return s.outcomes[o] }

// Users counts the events by actor, most first, at most n of them (0: all);
// labels are the actors' emails, or what stands for the actor.
func (s *AuditSummary) Users(n int) []AuditCount {
	out := make([]AuditCount, 0, len(s.users))
	for _, u := range s.users {
		c := *u
		switch {
		case c.Key == ActorOperator:
			c.Label = "the operator (command line)"
		case c.Key == "":
			c.Label = "anonymous (not signed in)"
		case c.Label == "":
			c.Label = c.Key
		}
		out = append(out, c)
	}
	sortCounts(out)
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// UserCount is how many actors the summary counted.
func (s *AuditSummary) UserCount() int { return len(s.users) }

// Email returns the email seen for user id, or "".
func (s *AuditSummary) Email(id string) string {
	if u := s.users[id]; u != nil {
		return u.Label
	}
	return ""
}

// Documents returns the documents most viewed or downloaded (successful
// reads only), most first, at most n of them (0: all).
func (s *AuditSummary) Documents(n int) []AuditCount {
	out := make([]AuditCount, 0, len(s.docs))
	for _, d := range s.docs {
		out = append(out, *d)
	}
	sortCounts(out)
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// Activity returns the events over time as contiguous buckets from the
// first event's to the last's, and the bucket's length: an hour when the
// events span at most summaryHours, else one or more days, so that there
// are at most 62 buckets.
func (s *AuditSummary) Activity() ([]AuditBucket, time.Duration) {
	if s.Events == 0 {
		return nil, 0
	}
	if s.hours != nil {
		return fill(s.hours, s.First.Truncate(time.Hour), s.Last.Truncate(time.Hour), time.Hour), time.Hour
	}
	first, last := s.First.Truncate(24*time.Hour), s.Last.Truncate(24*time.Hour)
	days := int(last.Sub(first)/(24*time.Hour)) + 1
	step := time.Duration((days+61)/62) * 24 * time.Hour
	grouped := map[time.Time]int64{}
	for d, n := range s.days {
		grouped[first.Add(d.Sub(first)/step*step)] += n
	}
	return fill(grouped, first, first.Add(last.Sub(first)/step*step), step), step
}

// fill lists the buckets from first to last, step apart, with their counts.
func fill(m map[time.Time]int64, first, last time.Time, step time.Duration) []AuditBucket {
	var out []AuditBucket
	for t := first; !t.After(last); t = t.Add(step) {
		out = append(out, AuditBucket{Start: t, N: m[t]})
	}
	return out
}

// AuditOverview is one page of audit events with the summary of every
// event the filter selects.
type AuditOverview struct {
	Events  []*AuditRecord
	Next    int64 // cursor of the next page, 0 on the last
	Summary *AuditSummary
}

// AuditOverview returns one page of the actor's firm's audit events
// matching f (after f.AfterSeq, at most f.Limit) and the summary of all the
// events f selects regardless of the page, as the audit pages show them.
// Reading is recorded first, as for AuditEvents, with read "summary".
// Owners, admins and auditors may. Errors: unauthorized, forbidden,
// not_found (an id in f), unavailable.
func (s *Service) AuditOverview(ctx context.Context, actor *User, f AuditFilter) (*AuditOverview, error) {
	if err := s.auditReader(actor); err != nil {
		return nil, err
	}
	if err := s.checkAuditFilter(ctx, actor, f); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > MaxAuditPage {
		f.Limit = MaxAuditPage
	}
	var err error
	if f.Withhold, err = s.walledMatters(ctx, actor); err != nil {
		return nil, err
	}
	ev := event(actor, ActAuditRead, "audit", actor.TenantID)
	filterDetails(&ev, f)
	ev.Details["read"] = "summary"
	if _, err := s.record(ctx, ev); err != nil {
		return nil, err
	}
	after, want := f.AfterSeq, f.Limit
	f.AfterSeq, f.Limit = 0, 0
	o := &AuditOverview{Summary: NewAuditSummary(), Events: []*AuditRecord{}}
	err = s.AuditReader.Events(ctx, actor.TenantID, f, func(r *AuditRecord) error {
		o.Summary.Add(r)
		if r.Seq > after && len(o.Events) <= want {
			o.Events = append(o.Events, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(o.Events) > want {
		o.Events = o.Events[:want]
		o.Next = o.Events[want-1].Seq
	}
	return o, nil
}
