package web

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// mfaRoutes registers multi-factor sign-in's API (issue #16): the second
// step of a sign-in (public: the challenge is the credential), the
// user's own factors, the firm's policy, API token oversight and an
// admin's reset of a locked-out user.
func (s *Server) mfaRoutes(api, auth *gin.RouterGroup) {
	api.POST("/auth/mfa", s.handleMFAComplete)

	auth.GET("/me/mfa", s.handleMFAStatus)
	auth.POST("/me/mfa/totp", s.handleTOTPBegin)
	auth.POST("/me/mfa/totp/confirm", s.handleTOTPConfirm)
	auth.DELETE("/me/mfa/totp", s.handleTOTPDisable)
	auth.POST("/me/mfa/recovery-codes", s.handleRecoveryCodes)

	auth.GET("/mfa/policy", s.handleMFAPolicyGet)
	auth.PUT("/mfa/policy", s.handleMFAPolicyPut)

	auth.GET("/firm/tokens", s.handleFirmTokenList)
	auth.DELETE("/firm/tokens/:id", s.handleFirmTokenRevoke)
	auth.POST("/users/:id/mfa-reset", s.handleMFAReset)
}

// mfaChallengeResponse answers POST /api/v1/auth/login when the password
// was right and a second factor is needed: 200, no session yet.
type mfaChallengeResponse struct {
	MFARequired bool `json:"mfa_required"`
	*vault.MFAChallenge
}

// mfaRequest is the body of POST /api/v1/auth/mfa and of the routes that
// need a proof of the user's factor: exactly one of code and recovery_code.
type mfaRequest struct {
	Challenge    string `json:"challenge"`
	Code         string `json:"code"`
	RecoveryCode string `json:"recovery_code"`
	// A passkey assertion for the ceremony of
	// POST /api/v1/auth/mfa/passkey/begin (web/passkey.go).
	Ceremony string          `json:"ceremony,omitempty"`
	Passkey  json.RawMessage `json:"passkey,omitempty"`
}

func (r mfaRequest) proof() vault.MFAProof {
	return vault.MFAProof{Code: r.Code, RecoveryCode: r.RecoveryCode, PasskeyCeremony: r.Ceremony, Passkey: r.Passkey}
}

// handleMFAComplete answers POST /api/v1/auth/mfa: the challenge of a
// sign-in and a code or recovery code give the usual login response.
func (s *Server) handleMFAComplete(c *gin.Context) {
	var req mfaRequest
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	secret, tok, err := s.Service.CompleteMFA(c.Request.Context(), req.Challenge, req.proof(), c.ClientIP())
	if err != nil {
		s.Error(c, err)
		return
	}
	c.Set(ctxUser, &vault.User{ID: tok.UserID, TenantID: tok.TenantID}) // for the log line
	writeJSON(c, http.StatusOK, loginResponse{Token: secret, ExpiresAt: tok.ExpiresAt})
}

// handleMFAStatus answers GET /api/v1/me/mfa.
func (s *Server) handleMFAStatus(c *gin.Context) {
	st, err := s.Service.MFAStatus(c.Request.Context(), actorOf(c))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, st)
}

// handleTOTPBegin answers POST /api/v1/me/mfa/totp with a new secret, its
// otpauth URL and QR code, shown once.
func (s *Server) handleTOTPBegin(c *gin.Context) {
	en, err := s.Service.BeginTOTP(c.Request.Context(), actorOf(c))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusCreated, en)
}

// recoveryCodesResponse carries recovery codes, shown only now.
type recoveryCodesResponse struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// handleTOTPConfirm answers POST /api/v1/me/mfa/totp/confirm {"code"}.
func (s *Server) handleTOTPConfirm(c *gin.Context) {
	var req mfaRequest
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	codes, err := s.Service.ConfirmTOTP(c.Request.Context(), actorOf(c), req.Code)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, recoveryCodesResponse{RecoveryCodes: codes})
}

// handleTOTPDisable answers DELETE /api/v1/me/mfa/totp {"code"|"recovery_code"}.
func (s *Server) handleTOTPDisable(c *gin.Context) {
	var req mfaRequest
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	if err := s.Service.DisableTOTP(c.Request.Context(), actorOf(c), req.proof()); err != nil {
		s.Error(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// handleRecoveryCodes answers POST /api/v1/me/mfa/recovery-codes {"code"}.
func (s *Server) handleRecoveryCodes(c *gin.Context) {
	var req mfaRequest
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	codes, err := s.Service.RegenerateRecoveryCodes(c.Request.Context(), actorOf(c), req.Code)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, recoveryCodesResponse{RecoveryCodes: codes})
}

// mfaPolicyBody is the firm's MFA policy in the API.
type mfaPolicyBody struct {
	Required string `json:"required"`
}

// handleMFAPolicyGet answers GET /api/v1/mfa/policy.
func (s *Server) handleMFAPolicyGet(c *gin.Context) {
	p, err := s.Service.MFAPolicy(c.Request.Context(), actorOf(c))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, mfaPolicyBody{Required: p})
}

// handleMFAPolicyPut answers PUT /api/v1/mfa/policy {"required"}.
func (s *Server) handleMFAPolicyPut(c *gin.Context) {
	var req mfaPolicyBody
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	if err := s.Service.SetMFAPolicy(c.Request.Context(), actorOf(c), req.Required); err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, req)
}

// handleFirmTokenList answers GET /api/v1/firm/tokens.
func (s *Server) handleFirmTokenList(c *gin.Context) {
	toks, err := s.Service.FirmAPITokens(c.Request.Context(), actorOf(c))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, toks)
}

// handleFirmTokenRevoke answers DELETE /api/v1/firm/tokens/:id.
func (s *Server) handleFirmTokenRevoke(c *gin.Context) {
	if err := s.Service.RevokeFirmAPIToken(c.Request.Context(), actorOf(c), c.Param("id")); err != nil {
		s.Error(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// handleMFAReset answers POST /api/v1/users/:id/mfa-reset.
func (s *Server) handleMFAReset(c *gin.Context) {
	if err := s.Service.ResetMFA(c.Request.Context(), actorOf(c), c.Param("id")); err != nil {
		s.Error(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
