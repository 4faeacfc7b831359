package web

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// passkeyPages registers passkeys' pages (issue #16): the ceremonies that
// web/static/passkey.js carries for the sign-in page (a passkey instead of
// a password), the second step (a passkey as the second factor) and the
// Sign-in security page (register), the removal form, and the owners'
// setting on the MFA settings page. The ceremony routes take and answer
// JSON, with the page's CSRF token in X-CSRF-Token.
func (s *Server) passkeyPages(pre, in *gin.RouterGroup) {
	// The begin routes answer as the API's do (no cookie to read).
	pre.POST("/signin/passkey/begin", s.handlePasskeySignInBegin)
	pre.POST("/signin/passkey/finish", s.handlePasskeySignInFinishPage)
	pre.POST("/signin/mfa/passkey/begin", s.handlePasskeyMFABeginPage)
	pre.POST("/signin/mfa/passkey/finish", s.handlePasskeyMFAFinishPage)

	in.POST("/account/security/passkeys/begin", s.handlePasskeyRegisterBegin)
	in.POST("/account/security/passkeys/finish", s.handlePasskeyRegisterFinishPage)
	in.POST("/account/security/passkeys/:id/remove", s.handlePasskeyRemovePage)
	in.POST("/settings/mfa/passkeys", s.handlePasskeyPolicyPage)
}

// passkeyDone is a ceremony route's answer: where the page goes next.
type passkeyDone struct {
	Redirect string `json:"redirect"`
}

// passkeyFinishBody reads a finishing ceremony's JSON body. A form posted
// without the script (JavaScript off) gets an error page saying so.
func (s *Server) passkeyFinishBody(c *gin.Context) (passkeyFinish, bool) {
	var req passkeyFinish
	if c.ContentType() != "application/json" {
		s.renderError(c, vault.Errorf(vault.EINVALID, "Passkeys need JavaScript, which is turned off in this browser."))
		return req, false
	}
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return req, false
	}
	return req, true
}

// handlePasskeySignInFinishPage answers POST /signin/passkey/finish:
// vault.Service.FinishPasskeySignIn, then the session cookie.
func (s *Server) handlePasskeySignInFinishPage(c *gin.Context) {
	req, ok := s.passkeyFinishBody(c)
	if !ok {
		return
	}
	secret, tok, err := s.Service.FinishPasskeySignIn(c.Request.Context(), req.Ceremony, req.Credential, c.ClientIP())
	if err != nil {
		s.Error(c, err)
		return
	}
	s.passkeySignedIn(c, secret, tok)
}

// handlePasskeyMFABeginPage answers POST /signin/mfa/passkey/begin: the
// options allowing only the passkeys of the cookie's challenge's user.
func (s *Server) handlePasskeyMFABeginPage(c *gin.Context) {
	challenge, _ := c.Cookie(mfaCookie)
	b, err := s.Service.BeginPasskeyMFA(c.Request.Context(), challenge)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, b)
}

// handlePasskeyMFAFinishPage answers POST /signin/mfa/passkey/finish:
// vault.Service.CompleteMFA with the passkey's assertion, then the
// session cookie.
func (s *Server) handlePasskeyMFAFinishPage(c *gin.Context) {
	req, ok := s.passkeyFinishBody(c)
	if !ok {
		return
	}
	challenge, _ := c.Cookie(mfaCookie)
	proof := vault.MFAProof{PasskeyCeremony: req.Ceremony, Passkey: req.Credential}
	secret, tok, err := s.Service.CompleteMFA(c.Request.Context(), challenge, proof, c.ClientIP())
	if err != nil {
		s.Error(c, err)
		return
	}
	s.setCookie(c, mfaCookie, "", -1)
	s.passkeySignedIn(c, secret, tok)
}

// passkeySignedIn sets the new session's cookie and sends the page home.
func (s *Server) passkeySignedIn(c *gin.Context, secret string, tok *vault.Token) {
	c.Set(ctxUser, &vault.User{ID: tok.UserID, TenantID: tok.TenantID}) // for the log line
	s.setCookie(c, sessionCookie, secret, 0)
	s.setCookie(c, preCookie, "", -1)
	writeJSON(c, http.StatusOK, passkeyDone{Redirect: "/"})
}

// handlePasskeyRegisterFinishPage answers POST
// /account/security/passkeys/finish: the passkey is stored, named.
func (s *Server) handlePasskeyRegisterFinishPage(c *gin.Context) {
	req, ok := s.passkeyFinishBody(c)
	if !ok {
		return
	}
	if _, err := s.Service.FinishPasskeyRegistration(c.Request.Context(), actorOf(c), req.Ceremony, req.Name, json.RawMessage(req.Credential)); err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, passkeyDone{Redirect: "/account/security?passkey=added"})
}

// handlePasskeyRemovePage answers POST /account/security/passkeys/:id/remove.
func (s *Server) handlePasskeyRemovePage(c *gin.Context) {
	if err := s.Service.DeletePasskey(c.Request.Context(), actorOf(c), c.Param("id")); err != nil {
		s.securityFailed(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/account/security?passkey=removed")
}

// handlePasskeyPolicyPage answers POST /settings/mfa/passkeys: an owner
// turns passkey sign-in (instead of a password) on or off.
func (s *Server) handlePasskeyPolicyPage(c *gin.Context) {
	on := c.PostForm("passkey_sign_in") == "on"
	if err := s.Service.SetPasskeySignIn(c.Request.Context(), actorOf(c), on); err != nil {
		s.settingsFailed(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/settings/mfa")
}
