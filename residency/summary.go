package residency

import (
	"fmt"
	"io"
	"time"
)

// WriteSummary writes what a verified report states, for people: what
// `casevault residency verify` prints.
func (r *Report) WriteSummary(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("OK: residency report of firm %s, region %s, generated %s.\n", r.Tenant, r.Region, r.GeneratedAt.Format(time.RFC3339))
	for _, k := range r.SignedBy {
		ew.printf("Signed by %s, region %s's audit key.\n", k, r.Region)
	}
	for _, s := range r.Stores {
		ew.printf("Store %s, prefix %s: %s, %d bytes.\n", s.StoreDesc, s.Prefix, plural(s.Objects, "object"), s.Bytes)
	}
	ew.printf("In all %s, %d bytes; object list SHA-256 %s.\n", plural(r.Objects, "object"), r.Bytes, r.ObjectsSHA256)
	if len(r.OtherCells) == 0 {
		ew.printf("No other cell was scanned: this server serves region %s only.\n", r.Region)
	}
	for _, c := range r.OtherCells {
		ew.printf("Region %s: nothing of the firm in %s (%d bytes) and %s (%d bytes); %s looked for.\n",
			c.Region, plural(c.Files, "file"), c.FileBytes, plural(c.Objects, "object"), c.ObjectBytes, plural(int64(c.Needles), "byte string"))
	}
	if len(r.Moves) == 0 {
		ew.printf("No moves: the firm has always been in region %s.\n", r.Region)
	}
	for _, m := range r.Moves {
		ew.printf("Moved from %s to %s: started %s, finished %s, handover at audit event %d.\n",
			m.From, m.To, m.Started.Format(time.RFC3339), m.Finished.Format(time.RFC3339), m.HandoverSeq)
	}
	return ew.err
}

func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}
