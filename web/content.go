package web

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// ContentSecurityPolicy is sent with document bytes. It forbids every
// fetch, script and form, allows only inline styles, and sandboxes the
// document into an opaque origin, so a hostile upload viewed inline cannot
// act as the vault's origin.
const ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

// copyBufferSize is the one buffer a download streams through: memory per
// download is constant whatever the document's size.
const copyBufferSize = 256 << 10

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}

// activeTypes are media types a browser would execute or render as a page
// with script. Inline views serve them as text/plain instead.
var activeTypes = map[string]bool{
	"text/html":                true,
	"application/xhtml+xml":    true,
	"image/svg+xml":            true,
	"text/xml":                 true,
	"application/xml":          true,
	"text/xsl":                 true,
	"text/javascript":          true,
	"application/javascript":   true,
	"application/x-javascript": true,
	"text/ecmascript":          true,
	"application/ecmascript":   true,
	"text/jscript":             true,
	"application/wasm":         true,
}

// isActive reports whether the media type ct may run script when rendered.
// Every XML type counts (an XML document can carry XHTML and script).
func isActive(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return true // unknown is treated as dangerous
	}
	return activeTypes[mt] || strings.HasSuffix(mt, "+xml")
}

// ETag returns the strong entity tag of a document version. A version's
// bytes never change, so its identity is a sufficient validator; it is
// derived from ids, not content, so it reveals nothing about the bytes.
func ETag(documentID string, version int) string {
	return `"` + documentID + ".v" + strconv.Itoa(version) + `"`
}

// handleContent returns the handler of GET and HEAD
// /api/v1/documents/{id}/content (perm read: an inline view) and
// /api/v1/documents/{id}/download (perm download: an attachment).
//
// Ranges: one range (bytes=a-b, bytes=a-, bytes=-n) answers 206 with
// Content-Range; an unsatisfiable or malformed one answers 416 with
// "Content-Range: bytes */size" and an invalid error; several ranges, or a
// unit other than bytes, are ignored and the whole document is sent with
// 200 (RFC 9110 §14.2 allows this). If-Range is honoured for an entity tag
// (strong comparison); a date in If-Range, or a tag that does not match,
// sends the whole document. If-None-Match answers 304 for a matching tag.
//
// Bytes are streamed from the vault through one fixed buffer. An error
// before the first byte is a JSON error; after it, the connection is
// aborted so the client sees a truncated response, never a complete one.
// The vault decides authorization again while the bytes flow; when it
// lapses the body's Read fails, and a write blocked on a slow client is cut
// at once.
func (s *Server) handleContent(perm vault.Permission) gin.HandlerFunc {
	return s.serveContent(perm, s.Error)
}

// contentPage is handleContent for the web UI's /documents/{id}/view and
// /download: the same code, with errors before the first byte shown as
// error pages (a 416 stays the API's JSON: ranges come from viewers and
// download managers, not from people).
func (s *Server) contentPage(perm vault.Permission) gin.HandlerFunc {
	return s.serveContent(perm, s.renderError)
}

// serveContent is handleContent with fail writing the errors that occur
// before the first byte.
func (s *Server) serveContent(perm vault.Permission, fail func(*gin.Context, error)) gin.HandlerFunc {
	attachment := perm == vault.PermDownload
	return func(c *gin.Context) {
		n, err := versionParam(c)
		if err != nil {
			fail(c, err)
			return
		}
		ctx := c.Request.Context()
		content, err := s.Service.OpenVersion(ctx, actorOf(c), c.Param("id"), n, perm)
		if err != nil {
			fail(c, err)
			return
		}
		v := content.Version
		size, etag := v.Size, ETag(v.DocumentID, v.Number)
		h := c.Writer.Header()
		h.Set("ETag", etag)
		h.Set("Accept-Ranges", "bytes")
		h.Set("Last-Modified", v.CreatedAt.UTC().Format(http.TimeFormat))

		if inm := c.GetHeader("If-None-Match"); inm != "" && etagListMatches(inm, etag) {
			c.Status(http.StatusNotModified)
			return
		}

		status, off, length := http.StatusOK, int64(0), size
		if rng := c.GetHeader("Range"); rng != "" && ifRangeAllows(c.GetHeader("If-Range"), etag) {
			start, n, err := parseRange(rng, size)
			switch {
			case errors.Is(err, errIgnoreRange):
			case err != nil:
				h.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
				code, message := publicError(err)
				s.writeError(c, http.StatusRequestedRangeNotSatisfiable, code, message, err)
				return
			default:
				status, off, length = http.StatusPartialContent, start, n
			}
		}

		// Open the range and read its first bytes before any header is
		// sent, so that a store or decryption failure can still be a
		// proper JSON error.
		var (
			body  io.ReadCloser
			first int
			bufp  = copyBuffers.Get().(*[]byte)
			buf   = *bufp
		)
		defer copyBuffers.Put(bufp)
		if c.Request.Method != http.MethodHead && length > 0 {
			if body, err = content.Range(ctx, off, length); err != nil {
				fail(c, err)
				return
			}
			defer body.Close()
			if first, err = io.ReadAtLeast(body, buf, 1); err != nil {
				if errors.Is(err, io.EOF) {
					err = vault.Errorf(vault.EINTERNAL, "Document version yielded no bytes.")
				}
				fail(c, err)
				return
			}
		}

		// The read is on record before its first byte leaves, or it does
		// not happen (503).
		var finish func(int64, error) error
		if c.Request.Method != http.MethodHead {
			if finish, err = content.Opened(ctx, off, length); err != nil {
				fail(c, err)
				return
			}
		}

		name := content.Document.Name
		if !content.Document.Readable("name") {
			name = content.Document.ID // the name cannot be decrypted; the bytes can
		}
		s.contentHeaders(c, v.ContentType, name, attachment)
		h.Set("Content-Length", strconv.FormatInt(length, 10))
		if status == http.StatusPartialContent {
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+length-1, size))
		}
		c.Status(status)
		if body == nil {
			c.Writer.WriteHeaderNow()
			if finish != nil {
				finish(0, nil)
			}
			return
		}
		// The vault re-checks authorization while the bytes flow and fails
		// the body's Read when it lapses; a write blocked on a slow client
		// is cut at once, and what the kernel still holds for the client
		// is dropped.
		rc, reset := http.NewResponseController(rawWriter(c)), resetOnClose(c)
		stopCut := content.OnLapse(func() {
			reset()
			_ = rc.SetWriteDeadline(time.Now())
		})
		var written int64
		if _, err = c.Writer.Write(buf[:first]); err == nil {
			written, err = io.CopyBuffer(struct{ io.Writer }{c.Writer}, body, buf)
			written += int64(first)
		}
		if err == nil && written != length {
			err = vault.Errorf(vault.EINTERNAL, "Sent %d of %d bytes.", written, length)
		}
		if !stopCut() && err == nil {
			// Access lapsed just as the last bytes left, and the
			// connection is being cut: the read did not complete.
			err = vault.Errorf(vault.EFORBIDDEN, "Access ended as the transfer did.")
		}
		if err = finish(written, err); err != nil {
			s.streamFailed(c, err)
		}
	}
}

// streamFailed logs a download that broke after its first byte and aborts
// the connection. Decryption failures are security events, logged as
// errors; a client that went away is routine.
func (s *Server) streamFailed(c *gin.Context, err error) {
	code := vault.ErrorCode(err)
	c.Set(ctxErrorCode, code)
	s.metrics.errors.WithLabelValues(code).Inc()
	ev := s.Log.Info()
	if code == vault.ECANNOTDECRYPT || code == vault.EUNAVAILABLE {
		ev = s.Log.Error()
	}
	withFirm(ev, c).Err(err).Str("request_id", requestID(c)).Str("route", routeOf(c)).Msg("download aborted mid-stream")
	abortResponse(c)
}

// contentHeaders sets the type and disposition of document bytes. Inline
// views of active types (HTML, SVG, XML, script) are served as text/plain,
// so they show as source and never run, even without the CSP sandbox.
func (s *Server) contentHeaders(c *gin.Context, contentType, name string, attachment bool) {
	h := c.Writer.Header()
	kind := "inline"
	if attachment {
		kind = "attachment"
	} else if isActive(contentType) {
		contentType = "text/plain; charset=utf-8"
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", contentDisposition(kind, name))
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
}

// contentDisposition is the Content-Disposition of a document named name
// (RFC 6266): an ASCII filename= for clients that read only that, in which
// every character outside printable ASCII, and the quote, backslash and
// percent sign, is replaced by "_" (so it needs no escaping that clients
// undo differently), and the exact name, UTF-8 and percent-encoded, as
// filename* (RFC 8187), which every current browser prefers.
func contentDisposition(kind, name string) string {
	var fallback, exact strings.Builder
	for _, r := range name {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '%' {
			r = '_'
		}
		fallback.WriteRune(r)
	}
	for _, b := range []byte(name) {
		if attrChar(b) {
			exact.WriteByte(b)
		} else {
			fmt.Fprintf(&exact, "%%%02X", b)
		}
	}
	return kind + `; filename="` + fallback.String() + `"; filename*=UTF-8''` + exact.String()
}

// attrChar reports whether b may appear unencoded in an RFC 8187 ext-value.
func attrChar(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", b) >= 0
}

// versionParam reads ?version=N (1 or more); absent means the current
// version, 0.
func versionParam(c *gin.Context) (int, error) {
	v, ok := c.GetQuery("version")
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, vault.Errorf(vault.EINVALID, "Query parameter version must be a version number, 1 or more.")
	}
	return n, nil
}

// errIgnoreRange marks a Range header that is valid but not served as a
// range (several ranges, another unit): the whole document is sent.
var errIgnoreRange = errors.New("range ignored")

// parseRange parses a Range header for a body of size bytes into the first
// byte and the length of the one range it names. Errors: errIgnoreRange;
// invalid for a malformed or unsatisfiable range.
func parseRange(header string, size int64) (start, length int64, err error) {
	unit, set, ok := strings.Cut(header, "=")
	if !ok {
		return 0, 0, vault.Errorf(vault.EINVALID, "Range header is malformed; use bytes=first-last.")
	}
	if !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return 0, 0, errIgnoreRange
	}
	if strings.Contains(set, ",") {
		return 0, 0, errIgnoreRange
	}
	first, last, ok := strings.Cut(strings.TrimSpace(set), "-")
	if !ok {
		return 0, 0, vault.Errorf(vault.EINVALID, "Range header is malformed; use bytes=first-last.")
	}
	unsatisfiable := vault.Errorf(vault.EINVALID, "Range is not satisfiable: the document has %d bytes.", size)
	if first == "" {
		n, ok := parseDigits(last)
		switch {
		case !ok:
			return 0, 0, vault.Errorf(vault.EINVALID, "Range header is malformed; use bytes=-length for a suffix.")
		case n == 0 || size == 0:
			return 0, 0, unsatisfiable
		}
		n = min(n, size)
		return size - n, n, nil
	}
	a, ok := parseDigits(first)
	if !ok {
		return 0, 0, vault.Errorf(vault.EINVALID, "Range header is malformed; use bytes=first-last.")
	}
	end := size - 1
	if last != "" {
		b, ok := parseDigits(last)
		if !ok || b < a {
			return 0, 0, vault.Errorf(vault.EINVALID, "Range header is malformed; use bytes=first-last with first ≤ last.")
		}
		end = min(b, size-1)
	}
	if a >= size {
		return 0, 0, unsatisfiable
	}
	return a, end - a + 1, nil
}

// parseDigits parses a non-empty string of ASCII digits that fits int64.
func parseDigits(s string) (int64, bool) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// etagListMatches reports whether an If-None-Match list matches etag,
// with the weak comparison RFC 9110 prescribes for it.
func etagListMatches(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// ifRangeAllows reports whether a Range header may be honoured under an
// If-Range value: absent, or an entity tag equal to etag (strong
// comparison). A date is not trusted as a validator here.
func ifRangeAllows(ifRange, etag string) bool {
	ifRange = strings.TrimSpace(ifRange)
	return ifRange == "" || ifRange == etag
}
