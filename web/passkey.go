package web

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// passkeyRoutes registers passkeys' API (issue #16): registration and the
// user's list (signed in), the firm's passkey sign-in setting (owners),
// and the public ceremonies of a passwordless sign-in and of a passkey as
// an MFA challenge's second factor.
func (s *Server) passkeyRoutes(api, auth *gin.RouterGroup) {
	api.POST("/auth/passkey/begin", s.handlePasskeySignInBegin)
	api.POST("/auth/passkey/finish", s.handlePasskeySignInFinish)
	api.POST("/auth/mfa/passkey/begin", s.handlePasskeyMFABegin)

	auth.GET("/me/passkeys", s.handlePasskeyList)
	auth.POST("/me/passkeys/begin", s.handlePasskeyRegisterBegin)
	auth.POST("/me/passkeys/finish", s.handlePasskeyRegisterFinish)
	auth.DELETE("/me/passkeys/:id", s.handlePasskeyDelete)

	auth.GET("/passkeys/policy", s.handlePasskeyPolicyGet)
	auth.PUT("/passkeys/policy", s.handlePasskeyPolicyPut)
}

// passkeyFinish is the body of the routes that finish a ceremony: its id
// and the browser's PublicKeyCredential as JSON.
type passkeyFinish struct {
	Ceremony   string          `json:"ceremony"`
	Name       string          `json:"name,omitempty"`
	Credential json.RawMessage `json:"credential"`
}

func (s *Server) handlePasskeyRegisterBegin(c *gin.Context) {
	b, err := s.Service.BeginPasskeyRegistration(c.Request.Context(), actorOf(c))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, b)
}

func (s *Server) handlePasskeyRegisterFinish(c *gin.Context) {
	var req passkeyFinish
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	pk, err := s.Service.FinishPasskeyRegistration(c.Request.Context(), actorOf(c), req.Ceremony, req.Name, req.Credential)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusCreated, pk)
}

func (s *Server) handlePasskeyList(c *gin.Context) {
	pks, err := s.Service.Passkeys(c.Request.Context(), actorOf(c))
	if err != nil {
		s.Error(c, err)
		return
	}
	if pks == nil {
		pks = []*vault.Passkey{}
	}
	writeJSON(c, http.StatusOK, gin.H{"passkeys": pks})
}

func (s *Server) handlePasskeyDelete(c *gin.Context) {
	if err := s.Service.DeletePasskey(c.Request.Context(), actorOf(c), c.Param("id")); err != nil {
		s.Error(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// passkeyPolicyBody is the firm's passkey setting.
type passkeyPolicyBody struct {
	PasskeySignIn *bool `json:"passkey_sign_in"`
}

func (s *Server) handlePasskeyPolicyGet(c *gin.Context) {
	on, err := s.Service.PasskeySignIn(c.Request.Context(), actorOf(c))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, passkeyPolicyBody{PasskeySignIn: &on})
}

func (s *Server) handlePasskeyPolicyPut(c *gin.Context) {
	var req passkeyPolicyBody
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	if req.PasskeySignIn == nil {
		s.Error(c, vault.Errorf(vault.EINVALID, "passkey_sign_in (true or false) is required."))
		return
	}
	if err := s.Service.SetPasskeySignIn(c.Request.Context(), actorOf(c), *req.PasskeySignIn); err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, req)
}

func (s *Server) handlePasskeySignInBegin(c *gin.Context) {
	b, err := s.Service.BeginPasskeySignIn(c.Request.Context())
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, b)
}

func (s *Server) handlePasskeySignInFinish(c *gin.Context) {
	var req passkeyFinish
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	secret, tok, err := s.Service.FinishPasskeySignIn(c.Request.Context(), req.Ceremony, req.Credential, c.ClientIP())
	if err != nil {
		s.Error(c, err)
		return
	}
	c.Set(ctxUser, &vault.User{ID: tok.UserID, TenantID: tok.TenantID}) // for the log line
	writeJSON(c, http.StatusOK, loginResponse{Token: secret, ExpiresAt: tok.ExpiresAt})
}

// handlePasskeyMFABegin answers POST /api/v1/auth/mfa/passkey/begin
// {"challenge"}: options allowing only the challenge user's passkeys.
func (s *Server) handlePasskeyMFABegin(c *gin.Context) {
	var req struct {
		Challenge string `json:"challenge"`
	}
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	b, err := s.Service.BeginPasskeyMFA(c.Request.Context(), req.Challenge)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, b)
}
