package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// signInForm is what the sign-in page shows back: the email typed, and the
// firms to choose from when the password opens accounts in several.
type signInForm struct {
	Email string
	Firms []vault.FirmChoice
}

// handleSignInShow answers GET /signin: the sign-in form, or the first-run
// setup page while no firm exists.
func (s *Server) handleSignInShow(c *gin.Context) {
	if need, err := s.Service.NeedsSetup(c.Request.Context()); err != nil {
		s.renderError(c, err)
		return
	} else if need {
		c.Redirect(http.StatusSeeOther, "/setup")
		return
	}
	d := pageData{Title: "Sign in", Data: signInForm{}, Scripts: []string{"passkey.js"}}
	switch {
	case c.Query("expired") != "":
		d.Notice = "Your session has ended. Sign in again."
	case c.Query("signedout") != "":
		d.Notice = "You are signed out."
	case c.Query("setup") != "":
		d.Notice = "Your firm is ready. Sign in as its owner."
	}
	s.render(c, http.StatusOK, "signin", d)
}

// handleSignIn answers POST /signin: vault.Service.LoginToFirm (the API's
// sign-in, throttled and audited alike) and, on success, the session
// cookie. A password that opens accounts in several firms shows a choice.
func (s *Server) handleSignIn(c *gin.Context) {
	email, password := c.PostForm("email"), c.PostForm("password")
	secret, tok, err := s.Service.LoginToFirm(c.Request.Context(), c.PostForm("tenant_id"), email, password, c.ClientIP())
	if ch := vault.MFAChallengeOf(err); ch != nil {
		s.signInMFA(c, ch)
		return
	}
	if err != nil {
		code, message := publicError(err)
		if code == vault.EINTERNAL || code == vault.ECANNOTDECRYPT {
			s.renderError(c, err)
			return
		}
		c.Set(ctxErrorCode, code)
		form := signInForm{Email: email}
		status := ErrorStatusCode(code)
		if code == vault.ECHOOSEFIRM {
			form.Firms = vault.FirmChoices(err)
			message = "This email and password open accounts in several firms: choose one."
		}
		s.render(c, status, "signin", pageData{Title: "Sign in", Error: message, Code: code, Data: form, Scripts: []string{"passkey.js"}})
		return
	}
	c.Set(ctxUser, &vault.User{ID: tok.UserID, TenantID: tok.TenantID}) // for the log line
	s.setCookie(c, sessionCookie, secret, 0)
	s.setCookie(c, preCookie, "", -1)
	c.Redirect(http.StatusSeeOther, "/")
}

// handleSignOut answers POST /signout: the session is revoked (and the
// sign-out audited) and its cookie deleted.
func (s *Server) handleSignOut(c *gin.Context) {
	if err := s.Service.Logout(c.Request.Context(), actorOf(c), tokenOf(c)); err != nil {
		s.renderError(c, err)
		return
	}
	s.setCookie(c, sessionCookie, "", -1)
	c.Redirect(http.StatusSeeOther, "/signin?signedout=1")
}
