package web

import (
	"net/http"
	"net/url"

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

// handleSSOStartForm answers GET /sso/start?firm=ID, the sign-in page's
// "Sign in with your firm's SSO" form.
func (s *Server) handleSSOStartForm(c *gin.Context) {
	firm := c.Query("firm")
	if firm == "" || !vault.ValidID(vault.PrefixTenant, firm) {
		s.renderError(c, vault.Errorf(vault.ENOTFOUND, "This firm has no single sign-on."))
		return
	}
	c.Redirect(http.StatusSeeOther, "/sso/"+url.PathEscape(firm)+"/start")
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
	s.render(c, http.StatusOK, "sso_done", pageData{Title: "Signed in"})
}
