package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// ssoSignInPages adds single sign-on's public pages: the start of a
// firm's sign-in, and the one redirect URI of every firm.
func (s *Server) ssoSignInPages(pre *gin.RouterGroup) {
	pre.GET("/sso/start", s.handleSSOStartForm)
	pre.GET("/sso/:tenant_id/start", s.handleSSOStart)
	pre.GET("/sso/callback", s.handleSSOCallback)
}

// ssoContinue is the page that moves the browser on with a meta refresh
// (and a link): a new navigation, not a redirect, because the UI's
// Content-Security-Policy (form-action 'self') stops a form's redirect
// chain at another origin, and the session cookie (SameSite=Strict) is
// not sent on a redirect chain another site started.
type ssoContinue struct{ Href, Message string }

// handleSSOStartForm answers GET /sso/start?firm=ID, the sign-in page's
// "Sign in with your firm's SSO" form.
func (s *Server) handleSSOStartForm(c *gin.Context) {
	firm := strings.TrimSpace(c.Query("firm"))
	if !vault.ValidID(vault.PrefixTenant, firm) {
		s.renderError(c, vault.Errorf(vault.ENOTFOUND, "This firm has no single sign-on."))
		return
	}
	s.render(c, http.StatusOK, "sso_continue", pageData{Title: "Single sign-on",
		Data: ssoContinue{Href: "/sso/" + url.PathEscape(firm) + "/start", Message: "Continuing to your firm's identity provider."}})
}

// handleSSOStart answers GET /sso/{tenant_id}/start: the browser goes to
// the firm's provider with a fresh state, nonce and PKCE challenge.
func (s *Server) handleSSOStart(c *gin.Context) {
	state, authURL, err := s.SSO().Start(c.Request.Context(), c.Param("tenant_id"))
	if err != nil {
		s.renderError(c, err)
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: ssoStateCookie, Value: state, Path: "/sso/callback", MaxAge: 600,
		HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode,
	})
	c.Redirect(http.StatusSeeOther, authURL)
}

// handleSSOCallback answers GET /sso/callback: the provider's answer. On
// success the session cookie is set and a same-site page sends the browser
// home (the session cookie is SameSite=Strict, which a redirect chain
// started by the provider's site would not carry). A refusal, audited by
// the flow, shows a human error page.
func (s *Server) handleSSOCallback(c *gin.Context) {
	browser, _ := c.Cookie(ssoStateCookie)
	http.SetCookie(c.Writer, &http.Cookie{Name: ssoStateCookie, Value: "", Path: "/sso/callback", MaxAge: -1,
		HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode})
	if browser == "" {
		browser = "\x00" // no cookie: never equal to a state
	}
	secret, tok, err := s.SSO().Callback(c.Request.Context(), c.Query("state"), browser, c.Query("code"), c.Query("error"))
	if err != nil {
		s.renderError(c, err)
		return
	}
	c.Set(ctxUser, &vault.User{ID: tok.UserID, TenantID: tok.TenantID}) // for the log line
	s.setCookie(c, sessionCookie, secret, 0)
	s.setCookie(c, preCookie, "", -1)
	s.render(c, http.StatusOK, "sso_continue", pageData{Title: "Signed in",
		Data: ssoContinue{Href: "/", Message: "You are signed in through your firm's single sign-on."}})
}
