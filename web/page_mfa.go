package web

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// mfaCookie carries a sign-in's MFA challenge from the password step to
// the code step: HttpOnly, Strict, as long as the challenge lives.
const mfaCookie = "cv_mfa"

// mfaPages registers multi-factor sign-in's pages (issue #16): the second
// step of the sign-in, the user's Sign-in security page, and the firm's
// MFA settings (policy and API tokens).
func (s *Server) mfaPages(pre, in *gin.RouterGroup) {
	pre.GET("/signin/mfa", s.handleSignInMFAShow)
	pre.POST("/signin/mfa", s.handleSignInMFA)

	in.GET("/account/security", s.handleAccountSecurity)
	in.POST("/account/security/totp", s.handleTOTPBeginPage)
	in.POST("/account/security/totp/confirm", s.handleTOTPConfirmPage)
	in.POST("/account/security/totp/remove", s.handleTOTPRemovePage)
	in.POST("/account/security/recovery-codes", s.handleRecoveryCodesPage)

	in.GET("/settings/mfa", s.handleMFASettings)
	in.POST("/settings/mfa/policy", s.handleMFAPolicyPage)
	in.POST("/settings/mfa/tokens/revoke", s.handleFirmTokenRevokePage)
	in.POST("/admin/users/:id/mfa-reset", s.handleMFAResetPage)
}

// mfaEnrolPaths are the pages a user the MFA policy sends to enrolment may
// reach before enrolling.
func mfaEnrolPath(path string) bool {
	return path == "/account/security" || strings.HasPrefix(path, "/account/security/") || path == "/signout"
}

// signInMFA answers the sign-in page's password step when a second factor
// is needed: the challenge goes into its cookie and the browser to the
// code step.
func (s *Server) signInMFA(c *gin.Context, ch *vault.MFAChallenge) {
	s.setCookie(c, mfaCookie, ch.Secret, int(vault.MFAChallengeTTL.Seconds()))
	c.Redirect(http.StatusSeeOther, "/signin/mfa")
}

// handleSignInMFAShow answers GET /signin/mfa: the code form, or the
// sign-in page when no challenge is pending.
func (s *Server) handleSignInMFAShow(c *gin.Context) {
	if v, err := c.Cookie(mfaCookie); err != nil || v == "" {
		c.Redirect(http.StatusSeeOther, "/signin")
		return
	}
	s.render(c, http.StatusOK, "signin_mfa", s.signInMFAPage(c, pageData{}))
}

// signInMFAForms is what the second step's page offers: the code form
// when the user has an authenticator app, the passkey button when they
// have a passkey.
type signInMFAForms struct {
	Code, Passkey bool
}

// signInMFAPage fills the second step's page data from the cookie's
// challenge; an unknown or dead one offers the code form, which then
// says so.
func (s *Server) signInMFAPage(c *gin.Context, d pageData) pageData {
	challenge, _ := c.Cookie(mfaCookie)
	forms := signInMFAForms{Code: true}
	if methods, err := s.Service.ChallengeMethods(c.Request.Context(), challenge); err == nil {
		forms = signInMFAForms{}
		for _, m := range methods {
			forms.Code = forms.Code || m == vault.FactorTOTP
			forms.Passkey = forms.Passkey || m == vault.FactorPasskey
		}
	}
	d.Title, d.Data = "Second step", forms
	if forms.Passkey {
		d.Scripts = []string{"passkey.js"}
	}
	return d
}

// handleSignInMFA answers POST /signin/mfa: vault.Service.CompleteMFA with
// the cookie's challenge and the code or recovery code typed, then the
// session cookie.
func (s *Server) handleSignInMFA(c *gin.Context) {
	challenge, _ := c.Cookie(mfaCookie)
	proof := vault.MFAProof{Code: strings.TrimSpace(c.PostForm("code")), RecoveryCode: strings.TrimSpace(c.PostForm("recovery_code"))}
	secret, tok, err := s.Service.CompleteMFA(c.Request.Context(), challenge, proof, c.ClientIP())
	if err != nil {
		code, message := publicError(err)
		if code == vault.EINTERNAL || code == vault.ECANNOTDECRYPT {
			s.renderError(c, err)
			return
		}
		c.Set(ctxErrorCode, code)
		s.render(c, ErrorStatusCode(code), "signin_mfa", s.signInMFAPage(c, pageData{Error: message, Code: code}))
		return
	}
	c.Set(ctxUser, &vault.User{ID: tok.UserID, TenantID: tok.TenantID}) // for the log line
	s.setCookie(c, mfaCookie, "", -1)
	s.setCookie(c, sessionCookie, secret, 0)
	s.setCookie(c, preCookie, "", -1)
	c.Redirect(http.StatusSeeOther, "/")
}

// accountSecurity is what the Sign-in security page shows.
type accountSecurity struct {
	Status        *vault.MFAStatus
	Passkeys      []*vault.Passkey
	Enrolment     *vault.TOTPEnrolment // just begun: shown once
	QR            template.URL         // the enrolment's QR code as a data: URL
	RecoveryCodes []string             // just made: shown once
}

// renderAccountSecurity renders the page with the actor's status.
func (s *Server) renderAccountSecurity(c *gin.Context, status int, d pageData, as accountSecurity) {
	st, err := s.Service.MFAStatus(c.Request.Context(), actorOf(c))
	if err != nil {
		s.renderError(c, err)
		return
	}
	as.Status = st
	if as.Passkeys, err = s.Service.Passkeys(c.Request.Context(), actorOf(c)); err != nil {
		s.renderError(c, err)
		return
	}
	d.Scripts = []string{"passkey.js"}
	if as.Enrolment != nil {
		as.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(as.Enrolment.QRPNG))
	}
	if d.Notice == "" && actorOf(c).MFAEnrolmentRequired {
		d.Notice = "Your firm requires a second sign-in factor. Enrol an authenticator app before you continue."
	}
	d.Title, d.Data = "Sign-in security", as
	s.render(c, status, "account_security", d)
}

// pageFailed renders a form's refusal on the Sign-in security page, or the
// error page for internal errors.
func (s *Server) securityFailed(c *gin.Context, err error) {
	code, message := publicError(err)
	if code == vault.EINTERNAL || code == vault.ECANNOTDECRYPT {
		s.renderError(c, err)
		return
	}
	c.Set(ctxErrorCode, code)
	s.renderAccountSecurity(c, ErrorStatusCode(code), pageData{Error: message, Code: code}, accountSecurity{})
}

// handleAccountSecurity answers GET /account/security.
func (s *Server) handleAccountSecurity(c *gin.Context) {
	d := pageData{}
	switch {
	case c.Query("removed") != "":
		d.Notice = "Your authenticator app and recovery codes are removed."
	case c.Query("passkey") == "added":
		d.Notice = "Your passkey is registered."
	case c.Query("passkey") == "removed":
		d.Notice = "The passkey is removed."
	}
	s.renderAccountSecurity(c, http.StatusOK, d, accountSecurity{})
}

// handleTOTPBeginPage answers POST /account/security/totp: a new secret
// and its QR code, shown on this answer only.
func (s *Server) handleTOTPBeginPage(c *gin.Context) {
	en, err := s.Service.BeginTOTP(c.Request.Context(), actorOf(c))
	if err != nil {
		s.securityFailed(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	s.renderAccountSecurity(c, http.StatusOK, pageData{}, accountSecurity{Enrolment: en})
}

// handleTOTPConfirmPage answers POST /account/security/totp/confirm: the
// first code enrols the app; the recovery codes are shown on this answer
// only.
func (s *Server) handleTOTPConfirmPage(c *gin.Context) {
	actor := actorOf(c)
	codes, err := s.Service.ConfirmTOTP(c.Request.Context(), actor, strings.TrimSpace(c.PostForm("code")))
	if err != nil {
		s.securityFailed(c, err)
		return
	}
	actor.MFAEnrolmentRequired = false
	c.Header("Cache-Control", "no-store")
	s.renderAccountSecurity(c, http.StatusOK, pageData{Notice: "Your authenticator app is enrolled. Keep these recovery codes somewhere safe: each works once, and they are shown only now."},
		accountSecurity{RecoveryCodes: codes})
}

// handleTOTPRemovePage answers POST /account/security/totp/remove.
func (s *Server) handleTOTPRemovePage(c *gin.Context) {
	proof := vault.MFAProof{Code: strings.TrimSpace(c.PostForm("code")), RecoveryCode: strings.TrimSpace(c.PostForm("recovery_code"))}
	if err := s.Service.DisableTOTP(c.Request.Context(), actorOf(c), proof); err != nil {
		s.securityFailed(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/account/security?removed=1")
}

// handleRecoveryCodesPage answers POST /account/security/recovery-codes.
func (s *Server) handleRecoveryCodesPage(c *gin.Context) {
	codes, err := s.Service.RegenerateRecoveryCodes(c.Request.Context(), actorOf(c), strings.TrimSpace(c.PostForm("code")))
	if err != nil {
		s.securityFailed(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	s.renderAccountSecurity(c, http.StatusOK, pageData{Notice: "New recovery codes; the old ones no longer work. They are shown only now."},
		accountSecurity{RecoveryCodes: codes})
}

// mfaSettings is what the firm's MFA settings page shows.
type mfaSettings struct {
	Policy string
	Owner  bool
	// PasskeySignIn: the firm lets people sign in with a passkey instead
	// of a password.
	PasskeySignIn bool
	Tokens        []*vault.Token
	Options       []string
}

// handleMFASettings answers GET /settings/mfa: the firm's MFA policy and
// its live API tokens, for owners and admins.
func (s *Server) handleMFASettings(c *gin.Context) {
	s.renderMFASettings(c, http.StatusOK, pageData{})
}

func (s *Server) renderMFASettings(c *gin.Context, status int, d pageData) {
	actor := actorOf(c)
	policy, err := s.Service.MFAPolicy(c.Request.Context(), actor)
	if err != nil {
		s.renderError(c, err)
		return
	}
	toks, err := s.Service.FirmAPITokens(c.Request.Context(), actor)
	if err != nil {
		s.renderError(c, err)
		return
	}
	passkeys, err := s.Service.PasskeySignIn(c.Request.Context(), actor)
	if err != nil {
		s.renderError(c, err)
		return
	}
	d.Title = "Multi-factor sign-in"
	d.Data = mfaSettings{Policy: policy, Owner: actor.Role == vault.RoleOwner, PasskeySignIn: passkeys, Tokens: toks,
		Options: []string{vault.MFAPolicyOff, vault.MFAPolicyAdmins, vault.MFAPolicyEveryone}}
	s.render(c, status, "settings_mfa", d)
}

// settingsFailed renders a refusal on the MFA settings page.
func (s *Server) settingsFailed(c *gin.Context, err error) {
	code, message := publicError(err)
	if code == vault.EINTERNAL || code == vault.ECANNOTDECRYPT || code == vault.EFORBIDDEN {
		s.renderError(c, err)
		return
	}
	c.Set(ctxErrorCode, code)
	s.renderMFASettings(c, ErrorStatusCode(code), pageData{Error: message, Code: code})
}

// handleMFAPolicyPage answers POST /settings/mfa/policy.
func (s *Server) handleMFAPolicyPage(c *gin.Context) {
	if err := s.Service.SetMFAPolicy(c.Request.Context(), actorOf(c), c.PostForm("required")); err != nil {
		s.settingsFailed(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/settings/mfa")
}

// handleFirmTokenRevokePage answers POST /settings/mfa/tokens/revoke.
func (s *Server) handleFirmTokenRevokePage(c *gin.Context) {
	if err := s.Service.RevokeFirmAPIToken(c.Request.Context(), actorOf(c), c.PostForm("token_id")); err != nil {
		s.settingsFailed(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/settings/mfa")
}

// handleMFAResetPage answers POST /admin/users/:id/mfa-reset.
func (s *Server) handleMFAResetPage(c *gin.Context) {
	id := c.Param("id")
	if err := s.Service.ResetMFA(c.Request.Context(), actorOf(c), id); err != nil {
		s.renderError(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/users/"+id)
}
