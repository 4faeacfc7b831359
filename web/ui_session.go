package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// Web UI sessions. The cookie holds a session secret from
// vault.Service.LoginToFirm (the API's sign-in, with its throttle and audit
// events); vault.Service.AuthenticateSession checks it on every request,
// with the idle limit. The absolute limit is the session's own expiry
// (vault.Service.SessionTTL, 12 h by default).
const (
	sessionCookie = "cv_session"
	// preCookie carries the CSRF token of the forms a visitor posts
	// before having a session (sign-in, setup): a double-submit token.
	preCookie = "cv_pre"
	// csrfField is the name of the hidden field every form carries.
	csrfField = "csrf"
)

// maxFormBytes bounds the body of a UI form post.
const maxFormBytes = 64 << 10

// DefaultSessionIdle is how long a UI session may go unused before it
// expires, unless Server.SessionIdle says otherwise.
const DefaultSessionIdle = 30 * time.Minute

// Context keys of the UI.
const (
	ctxSecret = "casevault.session_secret"
	ctxCSRF   = "casevault.csrf"
	ctxPage   = "casevault.page" // the request is for a UI page: errors are HTML
)

// secureCookies reports whether cookies get the Secure attribute: when the
// server speaks TLS or sits behind a TLS proxy.
func (s *Server) secureCookies() bool { return s.https || s.BehindTLSProxy }

// setCookie sets an HttpOnly, SameSite=Strict cookie for the whole site;
// maxAge < 0 deletes it.
func (s *Server) setCookie(c *gin.Context, name, value string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteStrictMode,
	})
}

// csrfFor derives the CSRF token of a session from its secret: it names
// the session without revealing its secret, and needs no storage.
func csrfFor(secret string) string {
	sum := sha256.Sum256([]byte("casevault ui csrf\x00" + secret))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// csrfOf returns the CSRF token the request's forms must carry, "" before
// the middleware set one.
func csrfOf(c *gin.Context) string { return c.GetString(ctxCSRF) }

// originGuard refuses a state-changing request that the browser says came
// from another site (Sec-Fetch-Site, or Origin against Host), before any
// handler runs: Go's http.CrossOriginProtection.
func (s *Server) originGuard(c *gin.Context) {
	if err := s.cop.Check(c.Request); err != nil {
		withFirm(s.Log.Warn(), c).Str("request_id", requestID(c)).Str("route", routeOf(c)).Msg("cross-origin request refused")
		s.renderError(c, vault.Errorf(vault.EFORBIDDEN, "This form was sent from another site, so it was refused."))
		return
	}
	c.Next()
}

// csrfHeader carries the CSRF token of a request sent by the UI's scripts
// (uploads, whose multipart bodies are streamed and never parsed as a
// form). Another site's form cannot set a header, and its scripts cannot
// send one here without CORS, which CaseVault never grants.
const csrfHeader = "X-CSRF-Token"

// checkCSRF refuses a POST whose CSRF token does not match the request's:
// the X-CSRF-Token header when present (the body is then left unread for
// the handler), else the csrf field of a form of at most 64 KiB. It runs
// after the session (or pre-session) middleware set the token.
func (s *Server) checkCSRF(c *gin.Context) {
	if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
		c.Next()
		return
	}
	want := csrfOf(c)
	// Values, not the map: the server stores header names in canonical
	// form (X-Csrf-Token).
	got, scripted := c.Request.Header.Get(csrfHeader), c.Request.Header.Values(csrfHeader) != nil
	if !scripted {
		// The UI's forms are a few short fields; a bigger body is refused
		// before it is read into memory.
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxFormBytes)
		if err := c.Request.ParseForm(); err != nil {
			s.renderError(c, vault.Errorf(vault.EINVALID, "This form could not be read (at most %d KiB).", maxFormBytes>>10))
			return
		}
		got = c.Request.PostForm.Get(csrfField)
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		withFirm(s.Log.Warn(), c).Str("request_id", requestID(c)).Str("route", routeOf(c)).Msg("form without a valid CSRF token refused")
		s.renderError(c, vault.Errorf(vault.EFORBIDDEN, "This form has expired or was not sent from CaseVault. Reload the page and try again."))
		return
	}
	c.Next()
}

// preSession gives a signed-out visitor a CSRF token in a cookie, for the
// sign-in and setup forms (so that another site cannot sign a browser in to
// an account of its choosing).
func (s *Server) preSession(c *gin.Context) {
	tok, err := c.Cookie(preCookie)
	if err != nil || len(tok) != 43 {
		b := make([]byte, 32)
		rand.Read(b)
		tok = base64.RawURLEncoding.EncodeToString(b)
		s.setCookie(c, preCookie, tok, 0)
	}
	c.Set(ctxCSRF, tok)
	c.Next()
}

// session requires a live UI session: a signed-out visitor, or one whose
// session expired (idle, absolute, signed out, password reset), is sent to
// the sign-in page. A user who must change a one-time password is sent to
// the password page first.
func (s *Server) session(c *gin.Context) {
	secret, err := c.Cookie(sessionCookie)
	if err != nil || secret == "" {
		s.toSignIn(c, "")
		return
	}
	user, tok, err := s.Service.AuthenticateSession(c.Request.Context(), secret, s.sessionIdle())
	if vault.IsCode(err, vault.EUNAUTHORIZED) {
		s.setCookie(c, sessionCookie, "", -1)
		s.toSignIn(c, "expired")
		return
	} else if err != nil {
		s.renderError(c, err)
		return
	}
	c.Set(ctxUser, user)
	c.Set(ctxToken, tok)
	c.Set(ctxSecret, secret)
	c.Set(ctxCSRF, csrfFor(secret))
	c.Request = c.Request.WithContext(vault.ContextWithToken(c.Request.Context(), tok))
	if user.MustChangePassword && c.Request.URL.Path != "/account/password" && c.Request.URL.Path != "/signout" {
		c.Redirect(http.StatusSeeOther, "/account/password")
		c.Abort()
		return
	}
	if user.MFAEnrolmentRequired && !user.MustChangePassword && !mfaEnrolPath(c.Request.URL.Path) {
		c.Redirect(http.StatusSeeOther, "/account/security")
		c.Abort()
		return
	}
	c.Next()
}

// sessionIdle is the idle limit in force.
func (s *Server) sessionIdle() time.Duration {
	if s.SessionIdle > 0 {
		return s.SessionIdle
	}
	return DefaultSessionIdle
}

// toSignIn redirects to the sign-in page (303, so a POST becomes a GET).
func (s *Server) toSignIn(c *gin.Context, why string) {
	to := "/signin"
	if why != "" {
		to += "?" + why + "=1"
	}
	c.Redirect(http.StatusSeeOther, to)
	c.Abort()
}
