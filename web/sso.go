package web

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/sso"
	"github.com/casevault/casevault/vault"
)

// ssoStateCookie binds a started single sign-on to the browser that
// started it (login CSRF): SameSite=Lax, so the provider's redirect back,
// a top-level GET from another site, carries it.
const ssoStateCookie = "cv_sso_state"

// ssoRoutes adds GET, PUT and DELETE /api/v1/sso: the firm's OpenID
// Connect provider, for owners.
func (s *Server) ssoRoutes(auth *gin.RouterGroup) {
	auth.GET("/sso", s.handleSSOGet)
	auth.PUT("/sso", s.handleSSOPut)
	auth.DELETE("/sso", s.handleSSODelete)
}

// SSO returns the server's single sign-on flow, its redirect URI made from
// PublicURL (or URL()) the first time; it also becomes the Service's
// discovery check when none is set.
func (s *Server) SSO() *sso.Flow {
	s.ssoOnce.Do(func() {
		base := strings.TrimRight(s.PublicURL, "/")
		if base == "" && s.ln != nil {
			base = s.URL()
		}
		s.ssoFlow = &sso.Flow{Service: s.Service, RedirectURL: base + "/sso/callback"}
		if s.Service.SSODiscover == nil {
			s.Service.SSODiscover = s.ssoFlow.Discover
		}
	})
	return s.ssoFlow
}

// ssoRequest is the body of PUT /api/v1/sso.
type ssoRequest struct {
	Issuer         string   `json:"issuer"`
	ClientID       string   `json:"client_id"`
	ClientSecret   string   `json:"client_secret"`
	AllowedDomains []string `json:"allowed_domains"`
	JIT            bool     `json:"jit"`
	RequireSSO     bool     `json:"require_sso"`
}

// ssoResponse is the firm's provider as the API shows it: never its secret.
type ssoResponse struct {
	*vault.SSOConfig
	RedirectURI string `json:"redirect_uri"`
	StartURL    string `json:"start_url"`
}

func (s *Server) ssoResponse(c *vault.SSOConfig) ssoResponse {
	f := s.SSO()
	base := strings.TrimSuffix(f.RedirectURL, "/sso/callback")
	return ssoResponse{SSOConfig: c, RedirectURI: f.RedirectURL, StartURL: base + "/sso/" + c.TenantID + "/start"}
}

// handleSSOGet answers GET /api/v1/sso.
func (s *Server) handleSSOGet(c *gin.Context) {
	cfg, err := s.Service.SSOConfig(c.Request.Context(), actorOf(c))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, s.ssoResponse(cfg))
}

// handleSSOPut answers PUT /api/v1/sso: an owner saves the firm's
// provider (audited as sso.configure).
func (s *Server) handleSSOPut(c *gin.Context) {
	var req ssoRequest
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	s.SSO() // the discovery check
	cfg, err := s.Service.SetSSOConfig(c.Request.Context(), actorOf(c), vault.SSOSettings{
		Issuer: req.Issuer, ClientID: req.ClientID, ClientSecret: req.ClientSecret,
		Domains: req.AllowedDomains, JIT: req.JIT, RequireSSO: req.RequireSSO,
	})
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, s.ssoResponse(cfg))
}

// handleSSODelete answers DELETE /api/v1/sso (audited as sso.disable).
func (s *Server) handleSSODelete(c *gin.Context) {
	if err := s.Service.DisableSSO(c.Request.Context(), actorOf(c)); err != nil {
		s.Error(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
