package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// authenticate requires an "Authorization: Bearer <token>" header naming a
// live session or API token, and puts its user and token in the context.
func (s *Server) authenticate(c *gin.Context) {
	scheme, secret, ok := strings.Cut(c.GetHeader("Authorization"), " ")
	secret = strings.TrimSpace(secret)
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		s.Error(c, vault.Errorf(vault.EUNAUTHORIZED, "Sign in first: send an Authorization: Bearer token."))
		return
	}
	user, token, err := s.Service.Authenticate(c.Request.Context(), secret)
	if err != nil {
		s.Error(c, err)
		return
	}
	c.Set(ctxUser, user)
	c.Set(ctxToken, token)
	// The vault reads the token from the context where it matters (a
	// password change keeps the caller's own session).
	c.Request = c.Request.WithContext(vault.ContextWithToken(c.Request.Context(), token))
	c.Next()
}

// actorOf returns the signed-in user, or nil before authenticate.
func actorOf(c *gin.Context) *vault.User {
	u, _ := c.Value(ctxUser).(*vault.User)
	return u
}

// tokenOf returns the token the request signed in with.
func tokenOf(c *gin.Context) *vault.Token {
	t, _ := c.Value(ctxToken).(*vault.Token)
	return t
}

// loginRequest is the body of POST /api/v1/auth/login. TenantID is
// optional: it chooses the firm when the email and password open accounts
// in several (the answer choose_firm lists them).
type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	TenantID string `json:"tenant_id"`
}

// loginResponse answers a successful sign-in: the bearer token, shown only
// now, and when it stops working.
type loginResponse struct {
	Token     string     `json:"token"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// handleLogin answers POST /api/v1/auth/login. The source address for rate
// limiting is the peer, or the forwarded client when the peer is a trusted
// proxy. An email and password that open accounts in several firms, with
// no tenant_id, answer 409 choose_firm with those firms in error.firms.
func (s *Server) handleLogin(c *gin.Context) {
	var req loginRequest
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	secret, tok, err := s.Service.LoginToFirm(c.Request.Context(), req.TenantID, req.Email, req.Password, c.ClientIP())
	if ch := vault.MFAChallengeOf(err); ch != nil {
		writeJSON(c, http.StatusOK, mfaChallengeResponse{MFARequired: true, MFAChallenge: ch})
		return
	}
	if err != nil {
		s.Error(c, err)
		return
	}
	c.Set(ctxUser, &vault.User{ID: tok.UserID, TenantID: tok.TenantID}) // for the log line
	writeJSON(c, http.StatusOK, loginResponse{Token: secret, ExpiresAt: tok.ExpiresAt})
}

// handleLogout answers POST /api/v1/auth/logout: the token used stops
// working.
func (s *Server) handleLogout(c *gin.Context) {
	if err := s.Service.Logout(c.Request.Context(), actorOf(c), tokenOf(c)); err != nil {
		s.Error(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// tokenRequest is the body of POST /api/v1/tokens.
type tokenRequest struct {
	Name      string     `json:"name"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// newTokenResponse is a new API token: its secret, shown only now, and its
// description.
type newTokenResponse struct {
	Secret string `json:"token"`
	*vault.Token
}

// handleTokenCreate answers POST /api/v1/tokens with a new personal API
// token for scripts.
func (s *Server) handleTokenCreate(c *gin.Context) {
	var req tokenRequest
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	secret, tok, err := s.Service.CreateAPIToken(c.Request.Context(), actorOf(c), req.Name, req.ExpiresAt)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusCreated, newTokenResponse{Secret: secret, Token: tok})
}

// handleTokenList answers GET /api/v1/tokens with the user's live tokens
// (never their secrets).
func (s *Server) handleTokenList(c *gin.Context) {
	toks, err := s.Service.Tokens(c.Request.Context(), actorOf(c))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, nonNil(toks))
}

// handleTokenDelete answers DELETE /api/v1/tokens/{id}: the token is
// revoked.
func (s *Server) handleTokenDelete(c *gin.Context) {
	if err := s.Service.RevokeToken(c.Request.Context(), actorOf(c), c.Param("id")); err != nil {
		s.Error(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// setupRequest is the body of POST /api/v1/setup.
type setupRequest struct {
	Token         string `json:"token"`
	FirmName      string `json:"firm_name"`
	Region        string `json:"region"`
	OwnerEmail    string `json:"owner_email"`
	OwnerName     string `json:"owner_name"`
	OwnerPassword string `json:"owner_password"`
}

// setupResponse is the firm and owner that first-run setup created.
type setupResponse struct {
	Tenant *vault.Tenant `json:"tenant"`
	Owner  *vault.User   `json:"owner"`
}

// handleSetup answers POST /api/v1/setup: with the one-time setup token the
// server logged on an empty database, it creates the first firm and its
// owner. The token then stops working.
func (s *Server) handleSetup(c *gin.Context) {
	var req setupRequest
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	t, owner, err := s.Service.Setup(c.Request.Context(), req.Token, vault.NewTenant{
		Name:   req.FirmName,
		Region: req.Region,
		Owner:  vault.NewUser{Email: req.OwnerEmail, Name: req.OwnerName, Password: req.OwnerPassword},
	})
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusCreated, setupResponse{Tenant: t, Owner: owner})
}

// nonNil returns s, or an empty slice for nil, so lists encode as [].
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
