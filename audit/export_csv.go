package audit

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// CSVHeader is the first row of WriteCSV's output.
var CSVHeader = []string{
	"seq", "time", "actor_id", "actor_email", "source", "user_agent", "action",
	"object_type", "object_id", "object_name", "outcome", "details",
}

// WriteCSV writes tenant's events selected by f to w as CSV (RFC 4180, via
// encoding/csv): CSVHeader, then one row per event in Seq order. object_name
// is the name in the event's private part, "[sealed]" when opener (which may
// be nil) cannot open it, and empty when the event has none; details is the
// event's details as compact JSON with sorted keys.
//
// A text cell that a spreadsheet would take for a formula (one starting
// with =, +, -, @, tab or carriage return) is written with a leading single
// quote, so that opening an export never runs what a user typed into a
// name or an email. The verifiable record is the bundle (WriteBundle); this
// is a readable copy.
//
// WriteCSV streams: one event at a time.
func WriteCSV(ctx context.Context, w io.Writer, src Source, opener Opener, tenant string, f Filter) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	row := make([]string, len(CSVHeader))
	var details bytes.Buffer
	denc := json.NewEncoder(&details)
	denc.SetEscapeHTML(false)
	err := src.Records(ctx, tenant, f, func(r *Record) error {
		e, p, sealed, err := readable(ctx, opener, tenant, r)
		if err != nil {
			return err
		}
		rv := readableOf(e, p)
		name := rv.Names["name"]
		if sealed {
			name = sealedMark
		}
		details.Reset()
		if err := denc.Encode(rv.Details); err != nil {
			return err
		}
		row[0] = strconv.FormatInt(r.Seq, 10)
		row[1] = e.Time
		row[2] = csvText(e.ActorID)
		row[3] = csvText(rv.ActorEmail)
		row[4] = csvText(rv.Source)
		row[5] = csvText(rv.UserAgent)
		row[6] = csvText(e.Action)
		row[7] = csvText(e.ObjectType)
		row[8] = csvText(e.ObjectID)
		row[9] = csvText(name)
		row[10] = csvText(e.Outcome)
		row[11] = strings.TrimSuffix(details.String(), "\n")
		return cw.Write(row)
	})
	if err != nil {
		return fmt.Errorf("export csv: %w", err)
	}
	cw.Flush()
	return cw.Error()
}

// csvText defuses a cell that a spreadsheet would evaluate as a formula.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
