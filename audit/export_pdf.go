package audit

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// WritePDF writes a readable report of tenant's events selected by f to w,
// as a PDF 1.4 document: a title block that ties it to the verifiable
// bundle (firm, filter, export time, and the size and root hash of the
// checkpoint src signs at the start), then the events of that tree that
// match f, in Seq order, a few lines each. Names come from the private part
// when opener (which may be nil) opens it, and read "[sealed]" otherwise.
//
// WritePDF streams. The PDF is written by a small writer of its own (no
// library streams PDF): standard Type 1 fonts that every reader has
// (Helvetica, Courier; nothing embedded), text in WinAnsiEncoding (runes
// outside it print as '?'), one Flate-compressed content stream per page.
// Memory is one page of content, one compressor, and the byte offset of
// every object for the cross-reference table at the end: two objects, 16
// bytes, per page of about a dozen events.
func WritePDF(ctx context.Context, w io.Writer, src Source, opener Opener, tenant string, f Filter, now time.Time) error {
	key, err := src.VerifierKey(ctx, tenant)
	if err != nil {
		return fmt.Errorf("export pdf: verifier key: %w", err)
	}
	ck, err := src.Checkpoint(ctx, tenant)
	if err != nil {
		return fmt.Errorf("export pdf: checkpoint: %w", err)
	}
	firm := tenant
	if firm == "" {
		firm = "(service log)"
	}
	pw := newPDFWriter(w, now, fmt.Sprintf("CaseVault audit report - firm %s - tree size %d", firm, ck.Size))

	pw.line(fontBold, 16, "CaseVault audit report")
	pw.gap(6)
	pw.text(fontBody, 10, "Firm: "+firm, 0)
	pw.text(fontBody, 10, "Filter: "+describeFilter(f), 0)
	pw.text(fontBody, 10, "Exported at: "+now.UTC().Format(TimeLayout), 0)
	pw.text(fontBody, 10, fmt.Sprintf("Checkpoint: tree size %d, signed by the verifier key below, with root hash", ck.Size), 0)
	pw.mono(9, "  "+ck.Root.String())
	pw.text(fontBody, 10, "Verifier key:", 0)
	pw.mono(9, "  "+key)
	pw.gap(6)
	pw.text(fontBody, 9, "This report lists the events of the checkpoint above that match the filter. It is a readable copy: "+
		"the verifiable record is the audit bundle (JSON Lines) of the same checkpoint, which anyone can check offline "+
		"with `casevault audit verify`, or with their own verifier (docs/AUDIT-FORMAT.md). "+
		"Names shown as [sealed] can no longer be decrypted, nor can the emails and addresses left out of such events; "+
		"the events themselves still verify.", 0)
	pw.gap(10)

	var n int64
	err = src.Records(ctx, tenant, f, func(r *Record) error {
		if r.Seq > ck.Size {
			return errExportDone
		}
		e, p, sealed, err := readable(ctx, opener, tenant, r)
		if err != nil {
			return err
		}
		n++
		pw.event(r.Seq, e, readableOf(e, p), sealed)
		return pw.err
	})
	if err != nil && !errors.Is(err, errExportDone) {
		return fmt.Errorf("export pdf: %w", err)
	}
	pw.gap(6)
	pw.text(fontBody, 10, fmt.Sprintf("End of report: %d events.", n), 0)
	return pw.close()
}

// describeFilter says in words what a filter selects.
func describeFilter(f Filter) string {
	if f.Empty() {
		return "all events"
	}
	bf := toBundleFilter(f)
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("actor_id", bf.ActorID)
	add("object_type", bf.ObjectType)
	add("object_id", bf.ObjectID)
	add("matter_id", bf.MatterID)
	add("action", bf.Action)
	add("outcome", bf.Outcome)
	add("from", bf.From)
	add("to", bf.To)
	if bf.AfterSeq != 0 {
		add("after_seq", strconv.FormatInt(bf.AfterSeq, 10))
	}
	if bf.Limit != 0 {
		add("limit", strconv.Itoa(bf.Limit))
	}
	return strings.Join(parts, ", ")
}

// PDF layout: A4 portrait, in points.
const (
	pdfWidth    = 595
	pdfHeight   = 842
	pdfMargin   = 40
	pdfBottom   = 50 // lowest baseline of body text; the footer is below
	pdfMaxWrap  = 12 // continuation lines of one field before it is cut
	pdfCourierW = 0.6
)

// Fonts, by resource name.
const (
	fontBody = "F1" // Helvetica
	fontBold = "F2" // Helvetica-Bold
	fontMono = "F3" // Courier
)

// Objects written before the pages; page i has its content stream in
// object firstPageObj+2i and its page dictionary in the next.
const (
	objCatalog   = 1
	objPages     = 2
	objInfo      = 6
	firstPageObj = 7
)

// pdfWriter writes a PDF document as a stream.
type pdfWriter struct {
	w       *bufio.Writer
	off     int64   // bytes written so far
	offsets []int64 // offsets[i]: byte offset of object i (0 unused)
	err     error

	footer string
	pages  int
	inPage bool
	page   bytes.Buffer // content stream of the current page
	y      float64      // baseline of the next line
	zbuf   bytes.Buffer
	z      *zlib.Writer
}

func newPDFWriter(w io.Writer, now time.Time, footer string) *pdfWriter {
	pw := &pdfWriter{w: bufio.NewWriterSize(w, 64<<10), offsets: make([]int64, firstPageObj), footer: footer}
	pw.z = zlib.NewWriter(&pw.zbuf)
	// The comment of high bytes marks the file as binary for transfer tools.
	pw.printf("%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n")
	pw.object(objCatalog, "<< /Type /Catalog /Pages 2 0 R >>")
	for i, name := range []string{"Helvetica", "Helvetica-Bold", "Courier"} {
		pw.object(3+i, "<< /Type /Font /Subtype /Type1 /BaseFont /"+name+" /Encoding /WinAnsiEncoding >>")
	}
	pw.object(objInfo, "<< /Title "+pdfString("CaseVault audit report")+" /Producer (CaseVault) /CreationDate "+
		pdfString(now.UTC().Format("D:20060102150405Z"))+" >>")
	return pw
}

func (pw *pdfWriter) printf(format string, args ...any) {
	if pw.err != nil {
		return
	}
	n, err := fmt.Fprintf(pw.w, format, args...)
	pw.off += int64(n)
	pw.err = err
}

func (pw *pdfWriter) write(b []byte) {
	if pw.err != nil {
		return
	}
	n, err := pw.w.Write(b)
	pw.off += int64(n)
	pw.err = err
}

// object writes object num with the given body, recording its offset.
func (pw *pdfWriter) object(num int, body string) {
	pw.offsets[num] = pw.off
	pw.printf("%d 0 obj\n%s\nendobj\n", num, body)
}

// space starts a new page unless the next lines fit on this one.
func (pw *pdfWriter) space(lines int, leading float64) {
	if pw.inPage && pw.y-float64(lines-1)*leading >= pdfBottom {
		return
	}
	pw.endPage()
	pw.inPage = true
	pw.y = pdfHeight - pdfMargin - 12
}

// gap moves the next line down by pt points.
func (pw *pdfWriter) gap(pt float64) {
	if pw.inPage {
		pw.y -= pt
	}
}

// lineAt writes one line of text at the left margin plus indent points.
func (pw *pdfWriter) lineAt(font string, size, indent float64, s string) {
	leading := size * 1.25
	pw.space(1, leading)
	fmt.Fprintf(&pw.page, "BT /%s %s Tf %s %s Td %s Tj ET\n", font, pdfNum(size), pdfNum(pdfMargin+indent), pdfNum(pw.y), pdfString(s))
	pw.y -= leading
}

func (pw *pdfWriter) line(font string, size float64, s string) { pw.lineAt(font, size, 0, s) }

// text writes s wrapped at word boundaries to the width of the page.
func (pw *pdfWriter) text(font string, size float64, s string, indent float64) {
	// Helvetica averages about half an em per character.
	width := int((pdfWidth - 2*pdfMargin - indent) / (size * 0.5))
	for _, l := range wrapWords(s, width) {
		pw.lineAt(font, size, indent, l)
	}
}

// mono writes s in Courier, cut to the width of the page.
func (pw *pdfWriter) mono(size float64, s string) {
	for _, l := range wrapRunes(s, int((pdfWidth-2*pdfMargin)/(size*pdfCourierW)), 2) {
		pw.lineAt(fontMono, size, 0, l)
	}
}

// event writes one event as a block of monospaced lines, kept on one page.
func (pw *pdfWriter) event(seq int64, e *Entry, rv readableEvent, sealed bool) {
	const indent = 9 // characters
	size := 8.0
	width := int((pdfWidth - 2*pdfMargin) / (size * pdfCourierW))
	p := rv.Names
	name := p["name"]
	if sealed {
		name = sealedMark
	}
	actor := rv.ActorEmail
	if e.ActorID != "" {
		actor = strings.TrimSpace(actor + " (" + e.ActorID + ")")
	}
	object := strings.TrimSpace(e.ObjectType + " " + e.ObjectID)
	if name != "" {
		object += " \"" + name + "\""
	}
	if old := p["old_name"]; old != "" && !sealed {
		object += " (was \"" + old + "\")"
	}
	var details []byte
	if len(rv.Details) > 0 {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.Encode(rv.Details)
		details = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	}
	var lines []string
	lines = append(lines, fmt.Sprintf("#%-7d %s  %s  %s", seq, e.Time, e.Action, e.Outcome))
	for _, f := range [][2]string{
		{"actor", actor}, {"from", rv.Source}, {"agent", rv.UserAgent}, {"object", object}, {"details", string(details)},
	} {
		if f[1] == "" {
			continue
		}
		lines = append(lines, wrapRunes(strings.Repeat(" ", indent)+fmt.Sprintf("%-8s %s", f[0], f[1]), width, indent+9)...)
	}
	leading := size * 1.25
	pw.space(len(lines)+1, leading)
	for _, l := range lines {
		pw.lineAt(fontMono, size, 0, l)
	}
	pw.y -= leading / 2
}

// endPage writes the current page, if any: its content stream and its page
// dictionary.
func (pw *pdfWriter) endPage() {
	if !pw.inPage {
		return
	}
	pw.inPage = false
	pw.pages++
	fmt.Fprintf(&pw.page, "BT /%s 7 Tf %d 25 Td %s Tj ET\n", fontBody, pdfMargin, pdfString(fmt.Sprintf("%s - page %d", pw.footer, pw.pages)))
	pw.zbuf.Reset()
	pw.z.Reset(&pw.zbuf)
	pw.z.Write(pw.page.Bytes())
	if err := pw.z.Close(); err != nil && pw.err == nil {
		pw.err = err
	}
	pw.page.Reset()
	content := len(pw.offsets)
	pw.offsets = append(pw.offsets, pw.off)
	pw.printf("%d 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", content, pw.zbuf.Len())
	pw.write(pw.zbuf.Bytes())
	pw.printf("\nendstream\nendobj\n")
	pw.offsets = append(pw.offsets, pw.off)
	pw.printf("%d 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 3 0 R /F2 4 0 R /F3 5 0 R >> >> /Contents %d 0 R >>\nendobj\n",
		content+1, pdfWidth, pdfHeight, content)
}

// close writes the last page, the page tree, the cross-reference table and
// the trailer.
func (pw *pdfWriter) close() error {
	if pw.pages == 0 && !pw.inPage {
		pw.space(1, 0) // a document has at least one page
	}
	pw.endPage()
	pw.offsets[objPages] = pw.off
	pw.printf("%d 0 obj\n<< /Type /Pages /Count %d /Kids [", objPages, pw.pages)
	for i := range pw.pages {
		if i%16 == 0 {
			pw.printf("\n")
		}
		pw.printf(" %d 0 R", firstPageObj+2*i+1)
	}
	pw.printf(" ] >>\nendobj\n")
	xref := pw.off
	pw.printf("xref\n0 %d\n0000000000 65535 f \n", len(pw.offsets))
	for _, o := range pw.offsets[1:] {
		pw.printf("%010d 00000 n \n", o)
	}
	pw.printf("trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(pw.offsets), objCatalog, objInfo, xref)
	if pw.err != nil {
		return pw.err
	}
	return pw.w.Flush()
}

func pdfNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// winAnsiHigh maps the runes that WinAnsiEncoding puts at 0x80-0x9F.
var winAnsiHigh = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, 'ˆ': 0x88,
	'‰': 0x89, 'Š': 0x8A, '‹': 0x8B, 'Œ': 0x8C, 'Ž': 0x8E, '‘': 0x91, '’': 0x92, '“': 0x93,
	'”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, 'š': 0x9A, '›': 0x9B,
	'œ': 0x9C, 'ž': 0x9E, 'Ÿ': 0x9F,
}

// pdfString returns s as a PDF literal string in WinAnsiEncoding: the
// parentheses and backslash escaped, bytes outside printable ASCII as octal
// escapes, and runes the encoding lacks as '?'.
func pdfString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('(')
	for _, r := range s {
		var c byte
		switch {
		case r >= 0x20 && r < 0x7F:
			c = byte(r)
		case r >= 0xA0 && r <= 0xFF:
			c = byte(r)
		default:
			var ok bool
			if c, ok = winAnsiHigh[r]; !ok {
				c = '?'
			}
		}
		switch {
		case c == '(' || c == ')' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x80:
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(')')
	return b.String()
}

// wrapRunes cuts s into lines of at most width runes, continuation lines
// indented by indent spaces, at most pdfMaxWrap of them.
func wrapRunes(s string, width, indent int) []string {
	var lines []string
	pad := strings.Repeat(" ", indent)
	first := true
	for s != "" {
		w := width
		prefix := ""
		if !first {
			w, prefix = width-indent, pad
		}
		if utf8.RuneCountInString(s) <= w {
			lines = append(lines, prefix+s)
			break
		}
		if len(lines) == pdfMaxWrap {
			lines = append(lines, prefix+"[...]")
			break
		}
		i, n := 0, 0
		for n < w {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
			n++
		}
		lines = append(lines, prefix+s[:i])
		s = s[i:]
		first = false
	}
	return lines
}

// wrapWords breaks s at spaces into lines of about width characters.
func wrapWords(s string, width int) []string {
	var lines []string
	var cur strings.Builder
	for _, word := range strings.Fields(s) {
		if cur.Len() > 0 && utf8.RuneCountInString(cur.String())+1+utf8.RuneCountInString(word) > width {
			lines = append(lines, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte(' ')
		}
		cur.WriteString(word)
	}
	if cur.Len() > 0 || len(lines) == 0 {
		lines = append(lines, cur.String())
	}
	return lines
}
