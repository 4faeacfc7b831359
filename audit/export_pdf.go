package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/casevault/casevault/vault"
)

// Report is what a PDF report says beside its events.
type Report struct {
	// Firm is the firm's name, opened for the reader; "" when it could not
	// be (the report then names no firm).
	Firm string
	// Time is the export's time.
	Time time.Time
	// Checkpoint is the signed tree the report covers (events 1..Size); nil
	// asks src for its latest.
	Checkpoint *Checkpoint
}

// WritePDF writes a readable report of tenant's events selected by f to w,
// as a PDF 1.4 document a managing partner or a court can read: the firm's
// name, the period and the selection in words, a summary (events by action,
// outcome and user, the documents most accessed, the denials, and a chart
// of activity over time when the events span more than one hour or day),
// then the events as a table in words, and on the last page the signed
// checkpoint (tree size, root hash, time and note), the verifier key and
// how to verify the JSON Lines bundle of the same filter. Every page is
// numbered "Page n of N". Names come from the private part when opener
// (which may be nil) opens it, and read "[name sealed]" otherwise.
//
// WritePDF streams: it reads the events twice (once for the summary, once
// for the table), both times up to the checkpoint's tree size, so both
// passes see the same events. The PDF is written by a small writer of its
// own (pdfWriter): standard Type 1 fonts that every reader has (Helvetica,
// Courier; nothing embedded), text in WinAnsiEncoding (runes outside it
// print as '?'), one Flate-compressed content stream per page. Memory is
// the summary's counters, one page of content, and the byte offset of each
// object for the cross-reference table: two per page.
func WritePDF(ctx context.Context, w io.Writer, src Source, opener Opener, tenant string, f Filter, rep Report) error {
	key, err := src.VerifierKey(ctx, tenant)
	if err != nil {
		return fmt.Errorf("export pdf: verifier key: %w", err)
	}
	ck := rep.Checkpoint
	if ck == nil {
		if ck, err = src.Checkpoint(ctx, tenant); err != nil {
			return fmt.Errorf("export pdf: checkpoint: %w", err)
		}
	}
	if rep.Time.IsZero() {
		rep.Time = time.Now().UTC()
	}
	rp := &pdfReport{ctx: ctx, src: src, opener: opener, tenant: tenant, f: f, rep: rep, ck: ck, key: key,
		sum: vault.NewAuditSummary()}
	if err := rp.each(func(r *vault.AuditRecord) error {
		rp.sum.Add(r)
		rp.notice(r)
		return nil
	}); err != nil {
		return fmt.Errorf("export pdf: %w", err)
	}
	footer := "CaseVault audit report"
	if rep.Firm != "" {
		footer += " \u2013 " + rep.Firm
	}
	footer += fmt.Sprintf(" \u2013 signed log of %d events", ck.Size)
	rp.pw = newPDFWriter(w, rep.Time, "CaseVault audit report", footer)
	rp.title()
	rp.summary()
	rp.chart()
	if err := rp.events(); err != nil {
		return fmt.Errorf("export pdf: %w", err)
	}
	rp.verification()
	return rp.pw.close()
}

// pdfReport is one WritePDF in progress.
type pdfReport struct {
	ctx    context.Context
	src    Source
	opener Opener
	tenant string
	f      Filter
	rep    Report
	ck     *Checkpoint
	key    string
	sum    *vault.AuditSummary
	pw     *pdfWriter
	// Names of the filter's document and matter, as seen in the events.
	docName, matterName string
}

// each calls fn with every event of the checkpoint's tree that matches
// the filter, in Seq order, as the vault's readers see it.
func (rp *pdfReport) each(fn func(*vault.AuditRecord) error) error {
	err := rp.src.Records(rp.ctx, rp.tenant, rp.f, func(r *Record) error {
		if r.Seq > rp.ck.Size {
			return errExportDone
		}
		e, p, sealed, err := readable(rp.ctx, rp.opener, rp.tenant, r)
		if err != nil {
			return err
		}
		rv := readableOf(e, p)
		t, _ := time.Parse(TimeLayout, e.Time)
		out := &vault.AuditRecord{
			Seq: r.Seq, ID: e.ID, Time: t, ActorID: e.ActorID, ActorEmail: rv.ActorEmail, Source: rv.Source,
			UserAgent: rv.UserAgent, Action: e.Action, ObjectType: e.ObjectType, ObjectID: e.ObjectID,
			Outcome: e.Outcome, Details: rv.Details, Private: rv.Names, Sealed: sealed,
		}
		if w, ok := rp.opener.(withholding); ok && sealed && w.withholds(e) {
			out.Withheld = true
		}
		return fn(out)
	})
	if errors.Is(err, errExportDone) {
		return nil
	}
	return err
}

// notice keeps the names of the filter's document and matter.
func (rp *pdfReport) notice(r *vault.AuditRecord) {
	name := r.Private["name"]
	if name == "" {
		return
	}
	if rp.f.ObjectType == "document" && r.ObjectType == "document" && r.ObjectID == rp.f.ObjectID {
		rp.docName = name
	}
	if rp.f.MatterID != "" && r.ObjectType == "matter" && r.ObjectID == rp.f.MatterID {
		rp.matterName = name
	}
}

// plural says n things.
func plural(n int64, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.FormatInt(n, 10) + " " + thing + "s"
}

// day formats a time for the report.
func day(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") }

// period says which span of time the report covers.
func (rp *pdfReport) period() string {
	f, s := rp.f, rp.sum
	switch {
	case !f.From.IsZero() && !f.To.IsZero():
		return "from " + day(f.From) + " up to " + day(f.To)
	case !f.From.IsZero():
		return "from " + day(f.From) + " up to the export"
	case !f.To.IsZero():
		return "from the start of the log up to " + day(f.To)
	case s.Events > 0:
		return "the whole log: events from " + day(s.First) + " to " + day(s.Last)
	}
	return "the whole log"
}

// selection says in words which events the filter selects.
func (rp *pdfReport) selection() string {
	f := rp.f
	var parts []string
	if f.ActorID != "" {
		who := f.ActorID
		switch e := rp.sum.Email(f.ActorID); {
		case f.ActorID == vault.ActorOperator:
			who = "the operator (command line)"
		case e != "":
			who = e + " (" + f.ActorID + ")"
		}
		parts = append(parts, "done by "+who)
	}
	if f.ObjectType == "document" && f.ObjectID != "" {
		d := "document " + f.ObjectID
		if rp.docName != "" {
			d = "the document \u201c" + rp.docName + "\u201d (" + f.ObjectID + ")"
		}
		parts = append(parts, "about "+d)
	} else if f.ObjectType != "" || f.ObjectID != "" {
		parts = append(parts, "about "+strings.TrimSpace(f.ObjectType+" "+f.ObjectID))
	}
	if f.MatterID != "" {
		m := "matter " + f.MatterID
		if rp.matterName != "" {
			m = "the matter \u201c" + rp.matterName + "\u201d (" + f.MatterID + ")"
		}
		parts = append(parts, "in "+m)
	}
	if f.Action != "" {
		parts = append(parts, "of the action \u201c"+vault.ActionWording(f.Action)+"\u201d ("+f.Action+")")
	}
	if f.Outcome != "" {
		parts = append(parts, "with the outcome "+f.Outcome)
	}
	if f.AfterSeq > 0 {
		parts = append(parts, "after event #"+strconv.FormatInt(f.AfterSeq, 10))
	}
	if f.Limit > 0 {
		parts = append(parts, "at most "+strconv.Itoa(f.Limit)+" events")
	}
	if len(parts) == 0 {
		return "All events."
	}
	return "Events " + strings.Join(parts, ", ") + "."
}

// title writes the report's first lines.
func (rp *pdfReport) title() {
	pw := rp.pw
	pw.line(fontBold, 20, 0, "Audit report")
	if rp.rep.Firm != "" {
		pw.line(fontBold, 14, 0, rp.rep.Firm)
	}
	pw.gap(6)
	pw.para(fontBody, 10, 0, "Prepared on "+day(rp.rep.Time)+" by CaseVault from the firm's signed, tamper-evident audit log.")
	pw.para(fontBody, 10, 0, "Period: "+rp.period()+".")
	pw.para(fontBody, 10, 0, "Selection: "+rp.selection())
	pw.para(fontBody, 10, 0, fmt.Sprintf("The signed log held %d events at the export; %d of them match and are listed below.", rp.ck.Size, rp.sum.Events))
	pw.gap(10)
}

// heading writes a section heading, on a new page when little room is left.
func (rp *pdfReport) heading(s string) {
	rp.pw.need(60)
	rp.pw.gap(4)
	rp.pw.line(fontBold, 13, 0, s)
	rp.pw.gap(2)
}

// table writes rows of (label, count) under a bold caption, two columns.
func (rp *pdfReport) table(caption string, rows []vault.AuditCount, empty string) {
	pw := rp.pw
	pw.need(30)
	pw.line(fontBold, 10, 0, caption)
	if len(rows) == 0 {
		pw.line(fontBody, 9, 10, empty)
	}
	for _, r := range rows {
		pw.need(12)
		label := wrapText(fontBody, 9, 400, r.Label, 1)[0]
		pw.textAt(fontBody, 9, pdfMargin+10, pw.y-9, label)
		n := strconv.FormatInt(r.N, 10)
		pw.textAt(fontBody, 9, pdfWidth-pdfMargin-textWidth(fontBody, 9, n), pw.y-9, n)
		pw.y -= 12
	}
	pw.gap(6)
}

// summary writes the summary of the selected events.
func (rp *pdfReport) summary() {
	s, pw := rp.sum, rp.pw
	rp.heading("Summary")
	pw.para(fontBody, 10, 0, fmt.Sprintf("%s: %d ok, %d denied, %s, by %s.",
		plural(s.Events, "event"), s.Outcome(vault.OutcomeOK), s.Outcome(vault.OutcomeDenied),
		plural(s.Outcome(vault.OutcomeError), "error"), plural(int64(s.UserCount()), "user")))
	pw.gap(4)
	rp.table("Events by action", s.Actions(), "No events.")
	rp.table("Events by outcome", s.Outcomes(), "No events.")
	rp.table("Events by user (the 15 most active)", s.Users(15), "No events.")
	rp.table("Documents most accessed (views and downloads)", s.Documents(10), "No document was viewed or downloaded.")
	pw.need(30)
	pw.line(fontBold, 10, 0, fmt.Sprintf("Denials: %d", s.Denied))
	if len(s.LatestDenials) == 0 {
		pw.line(fontBody, 9, 10, "No access was refused.")
	} else if int64(len(s.LatestDenials)) < s.Denied {
		pw.line(fontBody, 9, 10, fmt.Sprintf("The latest %d:", len(s.LatestDenials)))
	}
	for _, r := range s.LatestDenials {
		rp.denial(r)
	}
	pw.gap(6)
}

// denial writes one refused access of the summary.
func (rp *pdfReport) denial(r *vault.AuditRecord) {
	s := fmt.Sprintf("#%d %s \u2013 %s \u2013 %s", r.Seq, day(r.Time), rp.who(r), vault.DescribeAuditEvent(r, rp.sum.Email))
	for _, l := range wrapText(fontBody, 9, pdfWidth-2*pdfMargin-10, s, 3) {
		rp.pw.line(fontBody, 9, 10, l)
	}
}

// who names the actor of r.
func (rp *pdfReport) who(r *vault.AuditRecord) string {
	switch {
	case r.ActorID == vault.ActorOperator:
		return "operator"
	case r.ActorEmail != "":
		return r.ActorEmail
	case r.ActorID == "":
		return "anonymous"
	case r.Withheld:
		return r.ActorID + " [withheld]"
	}
	return r.ActorID
}

// chart draws the events over time as bars, when there is more than one.
func (rp *pdfReport) chart() {
	buckets, step := rp.sum.Activity()
	if len(buckets) < 2 {
		return
	}
	pw := rp.pw
	unit := "hour"
	layout := "2 Jan 15:04"
	switch {
	case step == 24*time.Hour:
		unit, layout = "day", "2 Jan 2006"
	case step > 24*time.Hour:
		unit, layout = fmt.Sprintf("%d days", step/(24*time.Hour)), "2 Jan 2006"
	}
	const h = 110.0
	pw.need(h + 80) // the heading stays with its chart
	rp.heading("Activity over time")
	var peak int64
	for _, b := range buckets {
		peak = max(peak, b.N)
	}
	pw.para(fontBody, 9, 0, fmt.Sprintf("Events per %s (UTC); the tallest bar is %d events.", unit, peak))
	top := pw.y - 6
	base := top - h
	width := float64(pdfWidth - 2*pdfMargin)
	bw := width / float64(len(buckets))
	for i, b := range buckets {
		if b.N == 0 {
			continue
		}
		bh := h * float64(b.N) / float64(peak)
		pw.rect(pdfMargin+float64(i)*bw+bw*0.1, base, bw*0.8, bh, 0.35)
	}
	pw.rule(base, 0)
	first, last := buckets[0].Start.Format(layout), buckets[len(buckets)-1].Start.Format(layout)
	pw.textAt(fontBody, 8, pdfMargin, base-10, first)
	pw.textAt(fontBody, 8, pdfWidth-pdfMargin-textWidth(fontBody, 8, last), base-10, last)
	pw.y = base - 18
}

// Columns of the events table: left edges and widths, in points.
var eventCols = [5][2]float64{{pdfMargin, 38}, {pdfMargin + 40, 62}, {pdfMargin + 104, 112}, {pdfMargin + 218, 250}, {pdfMargin + 470, 45}}

// eventHeader writes the events table's header row.
func (rp *pdfReport) eventHeader() {
	pw := rp.pw
	for i, h := range []string{"#", "Time (UTC)", "Who", "What", "Outcome"} {
		pw.textAt(fontBold, 8, eventCols[i][0], pw.y-8, h)
	}
	pw.y -= 11
	pw.rule(pw.y, 0.3)
	pw.y -= 3
}

// events writes the table of events: the second pass over them.
func (rp *pdfReport) events() error {
	pw := rp.pw
	rp.heading("Events")
	if rp.sum.Events == 0 {
		pw.para(fontBody, 10, 0, "No event matches the selection.")
		return nil
	}
	pw.need(40)
	rp.eventHeader()
	pw.newPage = rp.eventHeader
	var n int64
	err := rp.each(func(r *vault.AuditRecord) error {
		n++
		cells := [5][]string{
			{"#" + strconv.FormatInt(r.Seq, 10)},
			{r.Time.UTC().Format("2006-01-02"), r.Time.UTC().Format("15:04:05")},
			wrapText(fontBody, 8, eventCols[2][1], rp.who(r), 3),
			wrapText(fontBody, 8, eventCols[3][1], vault.DescribeAuditEvent(r, rp.sum.Email), 8),
			{r.Outcome},
		}
		lines := 0
		for _, c := range cells {
			lines = max(lines, len(c))
		}
		pw.need(float64(lines)*10 + 4)
		for i, c := range cells {
			font := fontBody
			if i == 4 && r.Outcome != vault.OutcomeOK {
				font = fontBold
			}
			for j, l := range c {
				pw.textAt(font, 8, eventCols[i][0], pw.y-8-float64(j)*10, l)
			}
		}
		pw.y -= float64(lines)*10 + 2
		pw.rule(pw.y, 0.85)
		pw.y -= 2
		return pw.err
	})
	pw.newPage = nil
	if err != nil {
		return err
	}
	pw.gap(6)
	pw.para(fontBody, 10, 0, fmt.Sprintf("End of the events: %d listed.", n))
	return nil
}

// verification writes the signed checkpoint, the verifier key and how to
// check the bundle, on the last page.
func (rp *pdfReport) verification() {
	pw, ck := rp.pw, rp.ck
	pw.need(pdfHeight) // a page of its own
	rp.heading("How to verify this report")
	pw.para(fontBody, 10, 0, "This report is a readable copy. The verifiable record is the audit bundle (JSON Lines) "+
		"of the same selection: export it (the JSONL button of the audit pages, or GET /api/v1/audit/export?format=jsonl "+
		"with the same filters) and check it offline, with no access to the server:")
	pw.gap(4)
	pw.mono(8, "casevault audit verify \\\n    --key '"+rp.key+"' \\\n    casevault-audit-<time>.jsonl")
	pw.gap(4)
	pw.para(fontBody, 10, 0, "Obtain the verifier key from the operator, not from the bundle. The bundle's events that match "+
		"the selection, up to the tree size below, are the events of this report. Any verifier that follows "+
		"docs/AUDIT-FORMAT.md can check it too. Names shown as [name sealed] can no longer be decrypted "+
		"(the firm's keys were destroyed); [name withheld] means an ethical wall bars the reader from that matter. "+
		"Such events still verify.")
	rp.heading("Signed checkpoint")
	pw.para(fontBody, 10, 0, fmt.Sprintf("Tree size: %d events", ck.Size))
	pw.para(fontBody, 10, 0, "Root hash: "+ck.Root.String())
	if !ck.Time.IsZero() {
		pw.para(fontBody, 10, 0, "Signed at: "+day(ck.Time))
	}
	pw.para(fontBody, 10, 0, "Signed note:")
	pw.mono(8, string(ck.Note))
	rp.heading("Verifier key")
	pw.mono(9, rp.key)
}
