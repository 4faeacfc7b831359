package audit

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// PDF layout: A4 portrait, in points.
const (
	pdfWidth    = 595
	pdfHeight   = 842
	pdfMargin   = 40
	pdfTop      = pdfHeight - pdfMargin
	pdfBottom   = 50 // lowest baseline of body text; the footer is below
	pdfCourierW = 0.6
)

// Fonts, by resource name.
const (
	fontBody = "F1" // Helvetica
	fontBold = "F2" // Helvetica-Bold
	fontMono = "F3" // Courier
)

// Objects written before the pages, and the page total written after
// them; page i has its content stream in object firstPageObj+2i and its
// page dictionary in the next.
const (
	objCatalog   = 1
	objPages     = 2
	objInfo      = 6
	objTotal     = 7 // a form XObject drawing the number of pages, written last
	firstPageObj = 8
)

// pdfWriter writes a PDF document as a stream: each page is written as
// soon as it is full, so memory is one page of content. The footer of each
// page reads "Page n of N": N is a form XObject that every page draws and
// that is written after the last page, when N is known.
type pdfWriter struct {
	w       *bufio.Writer
	off     int64   // bytes written so far
	offsets []int64 // offsets[i]: byte offset of object i (0 unused)
	err     error

	footer  string
	pages   int
	inPage  bool
	page    bytes.Buffer // content stream of the current page
	y       float64      // top of the next line
	zbuf    bytes.Buffer
	z       *zlib.Writer
	newPage func() // called at the top of each new page, e.g. to repeat a table's header
}

func newPDFWriter(w io.Writer, now time.Time, title, footer string) *pdfWriter {
	pw := &pdfWriter{w: bufio.NewWriterSize(w, 64<<10), offsets: make([]int64, firstPageObj), footer: footer}
	pw.z = zlib.NewWriter(&pw.zbuf)
	// The comment of high bytes marks the file as binary for transfer tools.
	pw.printf("%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n")
	pw.object(objCatalog, "<< /Type /Catalog /Pages 2 0 R >>")
	for i, name := range []string{"Helvetica", "Helvetica-Bold", "Courier"} {
		pw.object(3+i, "<< /Type /Font /Subtype /Type1 /BaseFont /"+name+" /Encoding /WinAnsiEncoding >>")
	}
	pw.object(objInfo, "<< /Title "+pdfString(title)+" /Producer (CaseVault) /CreationDate "+
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

// stream writes object num as a Flate-compressed stream of content with
// the extra dictionary entries dict.
func (pw *pdfWriter) stream(num int, dict string, content []byte) {
	pw.zbuf.Reset()
	pw.z.Reset(&pw.zbuf)
	pw.z.Write(content)
	if err := pw.z.Close(); err != nil && pw.err == nil {
		pw.err = err
	}
	pw.offsets[num] = pw.off
	pw.printf("%d 0 obj\n<< %s /Length %d /Filter /FlateDecode >>\nstream\n", num, dict, pw.zbuf.Len())
	pw.write(pw.zbuf.Bytes())
	pw.printf("\nendstream\nendobj\n")
}

// need starts a new page unless h points fit above the bottom margin.
func (pw *pdfWriter) need(h float64) {
	if pw.inPage && pw.y-h >= pdfBottom {
		return
	}
	pw.endPage()
	pw.inPage = true
	pw.y = pdfTop
	if pw.newPage != nil {
		pw.newPage()
	}
}

// gap moves the next line down by pt points.
func (pw *pdfWriter) gap(pt float64) {
	if pw.inPage {
		pw.y -= pt
	}
}

// textAt draws s with its baseline at (x, y).
func (pw *pdfWriter) textAt(font string, size, x, y float64, s string) {
	fmt.Fprintf(&pw.page, "BT /%s %s Tf %s %s Td %s Tj ET\n", font, pdfNum(size), pdfNum(x), pdfNum(y), pdfString(s))
}

// line writes one line of text at the left margin plus indent.
func (pw *pdfWriter) line(font string, size, indent float64, s string) {
	leading := size * 1.3
	pw.need(leading)
	pw.textAt(font, size, pdfMargin+indent, pw.y-size, s)
	pw.y -= leading
}

// para writes s wrapped at word boundaries to the page's width.
func (pw *pdfWriter) para(font string, size, indent float64, s string) {
	for _, l := range wrapText(font, size, pdfWidth-2*pdfMargin-indent, s, 0) {
		pw.line(font, size, indent, l)
	}
}

// mono writes s in Courier, cut into lines of the page's width.
func (pw *pdfWriter) mono(size float64, s string) {
	per := int((pdfWidth - 2*pdfMargin) / (size * pdfCourierW))
	for _, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		for _, part := range wrapRunes(l, per) {
			pw.line(fontMono, size, 0, part)
		}
	}
}

// rect fills a rectangle in gray g (0 black, 1 white).
func (pw *pdfWriter) rect(x, y, w, h, g float64) {
	fmt.Fprintf(&pw.page, "%s g %s %s %s %s re f 0 g\n", pdfNum(g), pdfNum(x), pdfNum(y), pdfNum(w), pdfNum(h))
}

// rule draws a horizontal line at y across the text width.
func (pw *pdfWriter) rule(y, g float64) {
	fmt.Fprintf(&pw.page, "%s G 0.5 w %d %s m %d %s l S 0 G\n", pdfNum(g), pdfMargin, pdfNum(y), pdfWidth-pdfMargin, pdfNum(y))
}

// endPage writes the current page, if any: its footer, its content stream
// and its page dictionary.
func (pw *pdfWriter) endPage() {
	if !pw.inPage {
		return
	}
	pw.inPage = false
	pw.pages++
	pw.textAt(fontBody, 7, pdfMargin, 25, pw.footer)
	label := fmt.Sprintf("Page %d of ", pw.pages)
	x := pdfWidth - pdfMargin - 60.0
	pw.textAt(fontBody, 7, x, 25, label)
	fmt.Fprintf(&pw.page, "q 1 0 0 1 %s 25 cm /Tot Do Q\n", pdfNum(x+textWidth(fontBody, 7, label)))
	content := len(pw.offsets)
	pw.offsets = append(pw.offsets, 0, 0)
	pw.stream(content, "", pw.page.Bytes())
	pw.page.Reset()
	pw.object(content+1, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 3 0 R /F2 4 0 R /F3 5 0 R >> /XObject << /Tot %d 0 R >> >> /Contents %d 0 R >>",
		pdfWidth, pdfHeight, objTotal, content))
}

// close writes the last page, the page total, the page tree, the
// cross-reference table and the trailer.
func (pw *pdfWriter) close() error {
	if pw.pages == 0 && !pw.inPage {
		pw.need(0) // a document has at least one page
	}
	pw.endPage()
	pw.stream(objTotal, "/Type /XObject /Subtype /Form /BBox [0 -2 60 8] /Resources << /Font << /F1 3 0 R >> >>",
		[]byte("BT /F1 7 Tf 0 0 Td "+pdfString(strconv.Itoa(pw.pages))+" Tj ET\n"))
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

func pdfNum(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

// helvetica holds the widths of Helvetica's printable ASCII characters
// (from space), in thousandths of an em (its AFM).
var helvetica = [95]uint16{
	278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
	556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
	1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
	667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
	333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
	556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
}

// textWidth is the width of s in points, in font at size. Bold is wider
// than Helvetica by a few percent; other runes count as a digit.
func textWidth(font string, size float64, s string) float64 {
	if font == fontMono {
		return float64(utf8.RuneCountInString(s)) * size * pdfCourierW
	}
	var w float64
	for _, r := range s {
		if r >= 0x20 && r < 0x7F {
			w += float64(helvetica[r-0x20])
		} else {
			w += 556
		}
	}
	if font == fontBold {
		w *= 1.07
	}
	return w * size / 1000
}

// wrapText breaks s at spaces (and inside words longer than a line) into
// lines at most width points wide in font at size, at most max lines (0:
// no limit; a cut text ends in "…").
func wrapText(font string, size, width float64, s string, max int) []string {
	var lines []string
	cur := ""
	for _, word := range strings.Fields(s) {
		for textWidth(font, size, word) > width {
			// A word longer than a line is cut where it stops fitting.
			i, n := 0, ""
			for j, r := range word {
				if textWidth(font, size, word[:j]+string(r)) > width && j > 0 {
					break
				}
				i, n = j+utf8.RuneLen(r), word[:j+utf8.RuneLen(r)]
			}
			if cur != "" {
				lines = append(lines, cur)
				cur = ""
			}
			lines = append(lines, n)
			word = word[i:]
		}
		switch {
		case cur == "":
			cur = word
		case textWidth(font, size, cur+" "+word) <= width:
			cur += " " + word
		default:
			lines = append(lines, cur)
			cur = word
		}
	}
	if cur != "" || len(lines) == 0 {
		lines = append(lines, cur)
	}
	if max > 0 && len(lines) > max {
		lines = lines[:max]
		lines[max-1] += " \u2026"
	}
	return lines
}

// wrapRunes cuts s into pieces of at most width runes.
func wrapRunes(s string, width int) []string {
	var out []string
	for utf8.RuneCountInString(s) > width {
		i, n := 0, 0
		for n < width {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
			n++
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return append(out, s)
}

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
		case r == '\u2192':
			b.WriteString("->")
			continue
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
