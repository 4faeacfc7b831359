package web

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"

	"github.com/casevault/casevault/vault"
)

// Keys of values kept in the gin context.
const (
	ctxRequestID = "casevault.request_id"
	ctxUser      = "casevault.user"
	ctxToken     = "casevault.token"
	ctxErrorCode = "casevault.error_code"
	ctxAborted   = "casevault.aborted"
	ctxBodyBytes = "casevault.body_bytes"
)

// RequestIDHeader carries a request's id in and out. A client may choose
// the id (for correlating its own logs); an absent or malformed one is
// replaced.
const RequestIDHeader = "X-Request-Id"

// validRequestID accepts 1 to 64 characters of [A-Za-z0-9._-], so a client
// cannot inject anything into log lines or headers.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// requestID returns the id of the request in c.
func requestID(c *gin.Context) string { return c.GetString(ctxRequestID) }

// routeOf returns the route template that matched, like
// /api/v1/documents/:id, or "unmatched". Raw paths are never logged or used
// as metric labels.
func routeOf(c *gin.Context) string {
	if r := c.FullPath(); r != "" {
		return r
	}
	return "unmatched"
}

// withFirm adds the signed-in user's firm and id to a log line about the
// request: the process log sends a line with a tenant_id whole to that
// firm's cell log and shows the operator's service log only a redacted
// copy (internal/celllog).
func withFirm(ev *zerolog.Event, c *gin.Context) *zerolog.Event {
	if u := actorOf(c); u != nil {
		ev = ev.Str("tenant_id", u.TenantID).Str("user_id", u.ID)
	}
	return ev
}

// countingBody counts the request body bytes a handler reads.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

// observe is the outermost middleware. It assigns the request id, sets the
// secure headers, and, when the request ends (even by an aborting panic),
// writes one log line and the metrics. The log line carries ids, the route
// template, sizes and timings only: never names, tokens, query strings or
// content.
// maxUserAgent bounds the User-Agent the audit log records.
const maxUserAgent = 256

func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	id := c.GetHeader(RequestIDHeader)
	if !validRequestID(id) {
		id = rand.Text()
	}
	c.Set(ctxRequestID, id)
	c.Header(RequestIDHeader, id)
	s.secureHeaders(c)
	body := &countingBody{ReadCloser: c.Request.Body}
	c.Request.Body = body
	// Where the request came from, for the audit log.
	ua := c.Request.UserAgent()
	if len(ua) > maxUserAgent {
		ua = strings.ToValidUTF8(ua[:maxUserAgent], "")
	}
	c.Request = c.Request.WithContext(vault.WithRequestMeta(c.Request.Context(),
		vault.RequestMeta{Source: c.ClientIP(), UserAgent: ua}))

	defer func() {
		d := time.Since(start)
		route, status, out := routeOf(c), c.Writer.Status(), int64(max(c.Writer.Size(), 0))
		aborted := c.GetBool(ctxAborted)
		s.metrics.observe(route, c.Request.Method, status, body.n, out, d, aborted)

		var ev *zerolog.Event
		switch {
		case aborted || status >= 500:
			ev = s.Log.Warn()
		default:
			ev = s.Log.Info()
		}
		ev = ev.Str("request_id", id).Str("method", c.Request.Method).Str("route", route).
			Int("status", status).Int64("bytes_in", body.n).Int64("bytes_out", out).
			Float64("duration_ms", float64(d.Microseconds())/1000)
		ev = withFirm(ev, c)
		if code := c.GetString(ctxErrorCode); code != "" {
			ev = ev.Str("error_code", code)
		}
		if aborted {
			ev = ev.Bool("aborted", true)
		}
		ev.Msg("request")
	}()
	c.Next()
}

// secureHeaders sets the headers every response carries. Cache-Control is
// no-store everywhere: API answers and document bytes are confidential and
// must not linger in browser or proxy caches (ETag/If-None-Match still
// spare API clients a download they already hold).
func (s *Server) secureHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	if s.https {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
}

// recoverer turns a panic in a handler into a JSON 500, logged once with
// its stack. http.ErrAbortHandler passes through untouched: it is how a
// handler that has already sent bytes cuts the connection, so the client
// sees a truncated response rather than a complete-looking one.
func (s *Server) recoverer(c *gin.Context) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		c.Set(ctxAborted, true)
		if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
			panic(v)
		}
		err := fmt.Errorf("panic: %v\n%s", v, debug.Stack())
		if c.Writer.Written() {
			withFirm(s.Log.Error(), c).Err(err).Str("request_id", requestID(c)).Str("route", routeOf(c)).Msg("panic after response started")
			panic(http.ErrAbortHandler)
		}
		c.Set(ctxAborted, false) // answered properly with a 500
		s.Error(c, vault.WrapError(vault.EINTERNAL, err, "Internal error."))
	}()
	c.Next()
}

// abortResponse cuts a response whose body has started: the client gets a
// reset or a truncated chunked body, never a complete-looking one.
func abortResponse(c *gin.Context) {
	c.Set(ctxAborted, true)
	resetOnClose(c)()
	panic(http.ErrAbortHandler)
}

// connKey is the context key of the connection a request came on.
type connKey struct{}

// withConn is the server's ConnContext: it keeps each request's connection
// within reach of resetOnClose.
func withConn(ctx context.Context, conn net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, conn)
}

// resetOnClose returns a func, safe to call from any goroutine, that makes
// the close ending c's connection a TCP reset (SO_LINGER 0): bytes still
// queued in the kernel for the client are dropped rather than delivered,
// and the client's next read fails at once, instead of after it has
// drained buffers that hold megabytes on a slow link. A download stopped
// because its authorization lapsed must not go on trickling out. It must
// run before anything that fails a write, since net/http closes the
// connection on a failed write. HTTP/2 carries other requests on the same
// connection, so there it does nothing (net/http resets only the stream).
func resetOnClose(c *gin.Context) func() {
	conn, _ := c.Request.Context().Value(connKey{}).(net.Conn)
	if tc, ok := conn.(interface{ NetConn() net.Conn }); ok { // TLS
		conn = tc.NetConn()
	}
	tc, ok := conn.(*net.TCPConn)
	if !ok || c.Request.ProtoMajor != 1 {
		return func() {}
	}
	return func() { _ = tc.SetLinger(0) }
}

// handleNoRoute answers unknown paths with a 404: a JSON error under
// /api/ or for clients that do not ask for HTML, else the UI's error page
// with the UI's headers.
func (s *Server) handleNoRoute(c *gin.Context) {
	if wantsPage(c) {
		setUIHeaders(c)
		s.renderError(c, vault.Errorf(vault.ENOTFOUND, "There is no such page."))
		return
	}
	s.Error(c, vault.Errorf(vault.ENOTFOUND, "No such endpoint."))
}

// handleNoMethod answers a known path asked with the wrong method with a
// 405 (gin has already set Allow): JSON, or the UI's error page for a
// browser outside /api/.
func (s *Server) handleNoMethod(c *gin.Context) {
	err := vault.Errorf(codeMethodNotAllowed, "Method %s is not allowed here.", c.Request.Method)
	if wantsPage(c) {
		setUIHeaders(c)
		s.renderError(c, err)
		return
	}
	s.Error(c, err)
}

// wantsPage reports whether an unrouted request is a browser's, outside
// the JSON API: it gets a human error page rather than JSON.
func wantsPage(c *gin.Context) bool {
	return !strings.HasPrefix(c.Request.URL.Path, "/api/") && strings.Contains(c.GetHeader("Accept"), "text/html")
}
