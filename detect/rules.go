package detect

import (
	"context"
	"time"

	"github.com/casevault/casevault/vault"
)

// evaluate runs every enabled rule on o; f is locked.
func (e *Engine) evaluate(ctx context.Context, f *firm, o vault.Observation) []vault.Finding {
	ev := o.Event
	var out []vault.Finding
	fire := func(rule, user string, evidence []int64, threshold, observed float64) {
		out = append(out, vault.Finding{TenantID: ev.TenantID, Rule: rule, UserID: user, Evidence: evidence,
			Threshold: threshold, Observed: observed, Contain: f.st.Rules[rule].Contain})
	}
	rule := func(id string) (vault.RuleSettings, bool) {
		r := f.st.Rules[id]
		return r, r.Enabled
	}
	ok := ev.Outcome == vault.OutcomeOK
	read := ok && ev.ObjectType == "document" && (ev.Action == vault.ActDocumentView || ev.Action == vault.ActDocumentDownload)
	user := ev.ActorID
	t := ev.Time

	if read && user != "" {
		// a. One session's views and downloads.
		if r, on := rule(vault.RuleSessionVolume); on && o.TokenID != "" {
			s := f.sessions[o.TokenID]
			if s == nil {
				s = &session{}
				f.sessions[o.TokenID] = s
			}
			s.n++
			s.last = t
			if len(s.seqs) < maxEvidence {
				s.seqs = append(s.seqs, o.Seq)
			}
			if s.n == r.Threshold+1 {
				fire(vault.RuleSessionVolume, user, capped(s.seqs), float64(r.Threshold), float64(s.n))
			}
		}
		// a. One user's views and downloads per window (an hour).
		if r, on := rule(vault.RuleHourlyVolume); on {
			d := time.Duration(r.WindowMinutes) * time.Minute
			w := f.hourly[user]
			if w == nil {
				w = &window{}
				f.hourly[user] = w
			}
			if n := w.add(t, o.Seq, d); n > r.Threshold && w.once(t, d) {
				fire(vault.RuleHourlyVolume, user, w.evidence(), float64(r.Threshold), float64(n))
			}
		}
		// b. Above a multiple of the user's own baseline.
		if r, on := rule(vault.RuleBaseline); on {
			if fd := f.baseline(user, o.Seq, t, r); fd != nil {
				fire(vault.RuleBaseline, user, fd.Evidence, fd.Threshold, fd.Observed)
			}
		} else {
			f.count(user, t)
		}
		// e. Reads of a matter after a grant to oneself on it.
		if r, on := rule(vault.RuleSelfGrant); on {
			d := time.Duration(r.WindowMinutes) * time.Minute
			gs := f.grants[user][:0]
			for _, g := range f.grants[user] {
				if t.Sub(g.at) > d {
					continue // expired
				}
				if g.matter == ev.Details["matter_id"] && !g.fired {
					g.reads = append(g.reads, o.Seq)
					if len(g.reads) > r.Threshold {
						g.fired = true
						fire(vault.RuleSelfGrant, user, append([]int64{g.seq}, g.reads...), float64(r.Threshold), float64(len(g.reads)))
					}
				}
				gs = append(gs, g)
			}
			f.grants[user] = gs
		}
	}

	// c. Bursts of denied accesses.
	if ev.Action == vault.ActAccessDenied && user != "" {
		if r, on := rule(vault.RuleDeniedBurst); on {
			d := time.Duration(r.WindowMinutes) * time.Minute
			w := f.denied[user]
			if w == nil {
				w = &window{}
				f.denied[user] = w
			}
			if n := w.add(t, o.Seq, d); n > r.Threshold && w.once(t, d) {
				fire(vault.RuleDeniedBurst, user, w.evidence(), float64(r.Threshold), float64(n))
			}
		}
	}

	// d. Sign-in failures of the firm's accounts (login_failed names the
	// account as its object; failures of unknown accounts go to the
	// service log, which is no firm's and is not evaluated).
	if ev.Action == vault.ActLoginFailed && ev.ObjectID != "" && ev.Details["reason"] != vault.ESUSPENDED {
		src := vault.NormalizeSource(ev.Source)
		if r, on := rule(vault.RuleSigninSpray); on && src != "" {
			d := time.Duration(r.WindowMinutes) * time.Minute
			w := f.spray[src]
			if w == nil {
				w = &distinct{}
				f.spray[src] = w
			}
			if n := w.add(t, ev.ObjectID, o.Seq, d); n > r.Threshold && w.once(t, d) {
				fire(vault.RuleSigninSpray, "", capped(w.seqs), float64(r.Threshold), float64(n))
			}
		}
		if r, on := rule(vault.RuleSigninSources); on {
			d := time.Duration(r.WindowMinutes) * time.Minute
			w := f.sources[ev.ObjectID]
			if w == nil {
				w = &distinct{}
				f.sources[ev.ObjectID] = w
			}
			if n := w.add(t, src, o.Seq, d); n > r.Threshold && w.once(t, d) {
				fire(vault.RuleSigninSources, ev.ObjectID, capped(w.seqs), float64(r.Threshold), float64(n))
			}
		}
	}

	// e. A grant to oneself starts the watch.
	if ev.Action == vault.ActGrantCreate && ok && user != "" && ev.Details["user_id"] == user {
		if _, on := rule(vault.RuleSelfGrant); on {
			f.grants[user] = append(f.grants[user], selfGrant{seq: o.Seq, at: t, matter: ev.Details["matter_id"]})
		}
	}

	// f. Access outside working hours, once per user and local day.
	if (read || (ev.Action == vault.ActLogin && ok)) && user != "" {
		if _, on := rule(vault.RuleOffHours); on && !f.within(t) {
			y, m, d := t.In(f.loc).Date()
			if day := y*10000 + int(m)*100 + d; f.offDay[user] != day {
				f.offDay[user] = day
				fire(vault.RuleOffHours, user, []int64{o.Seq}, 0, 1)
			}
		}
	}

	// g. An API token used from a new source.
	if _, on := rule(vault.RuleTokenNewSource); on {
		if fd := e.tokenSource(ctx, f, o); fd != nil {
			fd.Contain = f.st.Rules[vault.RuleTokenNewSource].Contain
			out = append(out, *fd)
		}
	}
	return out
}

// count adds one read of user at t to the hourly counts.
func (f *firm) count(user string, t time.Time) int {
	h := t.Truncate(time.Hour).Unix()
	addCount(f.hours, user, h, 1)
	addCount(f.dirty, user, h, 1)
	return f.hours[user][h]
}

// baseline counts one read of user and returns a finding when this hour's
// count is above Multiple × the user's mean over their active hours of the
// last vault.BaselineDays (hours with no reads do not pull the mean down),
// and above the floor (Threshold), so that a user with no history is not
// flagged for their first documents. It fires once per user and hour.
func (f *firm) baseline(user string, seq int64, t time.Time, r vault.RuleSettings) *vault.Finding {
	n := f.count(user, t)
	h := t.Truncate(time.Hour).Unix()
	b := f.base[user]
	if b == nil || b.hour != h {
		b = &baseline{hour: h, mean: f.mean(user, h)}
		f.base[user] = b
	}
	if len(b.seqs) < maxEvidence {
		b.seqs = append(b.seqs, seq)
	}
	limit := max(float64(r.Threshold), r.Multiple*b.mean)
	if float64(n) > limit && !b.fired {
		b.fired = true
		return &vault.Finding{Evidence: capped(b.seqs), Threshold: limit, Observed: float64(n)}
	}
	return nil
}

// mean is user's mean count over the hours with reads in the
// vault.BaselineDays before hour h; it forgets older hours.
func (f *firm) mean(user string, h int64) float64 {
	from := h - vault.BaselineDays*24*3600
	sum, hours := 0, 0
	for x, n := range f.hours[user] {
		switch {
		case x < from:
			delete(f.hours[user], x)
		case x < h && n > 0:
			sum, hours = sum+n, hours+1
		}
	}
	if hours == 0 {
		return 0
	}
	return float64(sum) / float64(hours)
}
