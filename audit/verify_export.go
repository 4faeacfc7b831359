package audit

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// The checks of format /2 (docs/AUDIT-FORMAT.md §5 and §7): every
// checkpoint has the log's timestamp, the bundle ends with the export's own
// audit.export event, and the header agrees with that event. And the checks
// of VerifyOptions.At and MaxAge, on the timestamps.

// MaxClockSkew is how far after VerifyOptions.At a timestamp may be: more
// is a clock that is wrong, or a time that is made up.
const MaxClockSkew = 5 * time.Minute

// ExportInfo is what a bundle of format /2 says of its export, from the
// signed leaf of its audit.export event.
type ExportInfo struct {
	ID         string // export_id
	Seq        int64  // the event's seq: the header's tree size
	ActorID    string // who exported it
	ActorEmail string // from the event's private part, when the bundle has it ("" otherwise)
	Time       string // the event's time (TimeLayout), the header's exported_at
}

// timestamp checks a checkpoint's timestamp line: it must be there in
// format /2 (if there, it verified when the note was opened).
func (v *verifier) timestamp(n *note.Note, line int64) error {
	t, ok, err := timestampOf(n, v.tsKeys)
	if err != nil {
		return v.failAt(0, "checkpoint on line %d has a malformed timestamp: %v", line, err)
	}
	if !ok {
		if v.format == BundleFormatV2 {
			return v.failAt(0, "checkpoint on line %d has no timestamp of the log's key, which format /2 requires", line)
		}
		return nil
	}
	v.timestamps++
	if t.After(v.newest) {
		v.newest = t
	}
	return nil
}

// exportEvent checks event S of a bundle of format /2, the last event:
// the export's own audit.export event, which the header must agree with.
func (v *verifier) exportEvent(leaf []byte, l *bundleLine) error {
	e, err := Decode(leaf)
	if err != nil {
		return v.fail(v.size, "leaf does not decode: %v", err)
	}
	switch {
	case e.Action != ActionExport:
		return v.failAt(0, "the last event, %d, is %s, not the export's own %s event: the bundle does not end where its export did", e.Seq, e.Action, ActionExport)
	case e.Outcome != OutcomeOK:
		return v.failAt(0, "the export event %d has outcome %s, not %s", e.Seq, e.Outcome, OutcomeOK)
	case e.Details["export_id"] != v.exportID:
		return v.failAt(0, "the header's export_id %q is not the export event's %q", v.exportID, e.Details["export_id"])
	case e.Time != v.exportedAt:
		return v.failAt(0, "the header's exported_at %s is not the export event's time %s", v.exportedAt, e.Time)
	case e.Details["format"] != "jsonl":
		return v.failAt(0, "the export event %d is of format %q, not jsonl", e.Seq, e.Details["format"])
	}
	if why := filterMismatch(v.filter, e.Details); why != "" {
		return v.failAt(0, "the header's filter is not the export event's: %s", why)
	}
	v.export = &ExportInfo{ID: v.exportID, Seq: e.Seq, ActorID: e.ActorID, Time: e.Time}
	if e.V == FormatV1 {
		v.export.ActorEmail = e.ActorEmail
	} else if l.Private != nil {
		// Checked against the leaf's commitment already.
		var p Private
		if json.Unmarshal([]byte(*l.Private), &p) == nil {
			v.export.ActorEmail = p[PrivateActorEmail]
		}
	}
	return nil
}

// filterDetail maps each member of a header's filter to the detail of the
// audit.export event that states it.
var filterDetail = []struct{ member, detail string }{
	{"actor_id", "filter_actor_id"}, {"object_type", "filter_object_type"}, {"object_id", "filter_object_id"},
	{"matter_id", "filter_matter_id"}, {"action", "filter_action"}, {"outcome", "filter_outcome"},
	{"from", "filter_from"}, {"to", "filter_to"}, {"after_seq", "after_seq"}, {"limit", "filter_limit"},
}

// filterMismatch says how the header's filter f and the export event's
// details disagree, or "" when they agree: each member set in f is the
// detail of its name with the same text (numbers in decimal), and the
// details state no other member.
func filterMismatch(f bundleFilter, details map[string]string) string {
	want := map[string]string{
		"actor_id": f.ActorID, "object_type": f.ObjectType, "object_id": f.ObjectID, "matter_id": f.MatterID,
		"action": f.Action, "outcome": f.Outcome, "from": f.From, "to": f.To,
	}
	if f.AfterSeq != 0 {
		want["after_seq"] = strconv.FormatInt(f.AfterSeq, 10)
	}
	if f.Limit != 0 {
		want["limit"] = strconv.Itoa(f.Limit)
	}
	known := map[string]bool{}
	for _, m := range filterDetail {
		known[m.detail] = true
		got, ok := details[m.detail]
		w := want[m.member]
		switch {
		case w == "" && ok:
			return "the event has " + m.detail + " " + strconv.Quote(got) + ", the header no " + m.member
		case w != "" && !ok:
			return "the header has " + m.member + " " + strconv.Quote(w) + ", the event no " + m.detail
		case w != got:
			return "the header has " + m.member + " " + strconv.Quote(w) + ", the event " + m.detail + " " + strconv.Quote(got)
		}
	}
	for k := range details {
		if strings.HasPrefix(k, "filter_") && !known[k] {
			return "the event has " + k + ", which no header filter member states"
		}
	}
	return ""
}

// checkTimes applies VerifyOptions.At and MaxAge to the bundle's
// timestamps, once it has verified.
func (v *verifier) checkTimes() error {
	if v.opts.At.IsZero() && v.opts.MaxAge == 0 {
		return nil
	}
	at := v.opts.At
	if at.IsZero() {
		at = time.Now()
	}
	if v.timestamps > 0 && v.newest.After(at.Add(MaxClockSkew)) {
		return v.fail(0, "a checkpoint is timestamped %s, more than %s after %s", v.newest.Format(time.RFC3339), MaxClockSkew, at.UTC().Format(time.RFC3339))
	}
	if v.opts.MaxAge <= 0 {
		return nil
	}
	if v.format != BundleFormatV2 {
		// Format /1 has no timestamps, and a bundle of format /2 relabelled
		// /1 would escape the checks of its export event.
		return v.fail(0, "the bundle is of format %s, which proves no time: its age cannot be bounded (--max-age needs format /2)", v.format)
	}
	if at.Sub(v.newest) > v.opts.MaxAge {
		return v.fail(0, "its newest checkpoint is timestamped %s, more than %s before %s", v.newest.Format(time.RFC3339), v.opts.MaxAge, at.UTC().Format(time.RFC3339))
	}
	return nil
}
