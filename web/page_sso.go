package web

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// ssoPages adds Settings › Security › Single sign-on, for owners.
func (s *Server) ssoPages(in *gin.RouterGroup) {
	in.GET("/settings/security/sso", s.handleSSOPage)
	in.POST("/settings/security/sso", s.handleSSOSavePage)
	in.POST("/settings/security/sso/disable", s.handleSSODisablePage)
}

// ssoPageData is what the single sign-on page shows.
type ssoPageData struct {
	Config      *vault.SSOConfig // nil: not configured
	Form        ssoForm
	RedirectURI string
	StartURL    string
}

// ssoForm is the page's form as posted (never the secret).
type ssoForm struct {
	Issuer, ClientID, Domains string
	JIT, RequireSSO           bool
}

// handleSSOPage answers GET /settings/security/sso.
func (s *Server) handleSSOPage(c *gin.Context) {
	var d pageData
	switch c.Query("done") {
	case "saved":
		d.Notice = "Single sign-on saved."
	case "disabled":
		d.Notice = "Single sign-on is off."
	}
	if err := s.showSSO(c, http.StatusOK, d, nil); err != nil {
		s.renderError(c, err)
	}
}

func (s *Server) showSSO(c *gin.Context, status int, d pageData, f *ssoForm) error {
	actor := actorOf(c)
	cfg, err := s.Service.SSOConfig(c.Request.Context(), actor)
	if err != nil && !vault.IsCode(err, vault.ENOTFOUND) {
		return err
	}
	pd := ssoPageData{Config: cfg, RedirectURI: s.SSO().RedirectURL}
	pd.StartURL = strings.TrimSuffix(pd.RedirectURI, "/sso/callback") + "/sso/" + actor.TenantID + "/start"
	switch {
	case f != nil:
		pd.Form = *f
	case cfg != nil:
		pd.Form = ssoForm{Issuer: cfg.Issuer, ClientID: cfg.ClientID, Domains: strings.Join(cfg.Domains, ", "), JIT: cfg.JIT, RequireSSO: cfg.RequireSSO}
	}
	d.Title, d.Data = "Single sign-on", pd
	s.render(c, status, "sso", d)
	return nil
}

// handleSSOSavePage answers POST /settings/security/sso.
func (s *Server) handleSSOSavePage(c *gin.Context) {
	f := ssoForm{Issuer: c.PostForm("issuer"), ClientID: c.PostForm("client_id"), Domains: c.PostForm("domains"),
		JIT: c.PostForm("jit") != "", RequireSSO: c.PostForm("require_sso") != ""}
	domains := strings.FieldsFunc(f.Domains, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' })
	_, err := s.Service.SetSSOConfig(c.Request.Context(), actorOf(c), vault.SSOSettings{
		Issuer: f.Issuer, ClientID: f.ClientID, ClientSecret: c.PostForm("client_secret"),
		Domains: domains, JIT: f.JIT, RequireSSO: f.RequireSSO,
	})
	if err == nil {
		c.Redirect(http.StatusSeeOther, "/settings/security/sso?done=saved")
		return
	}
	s.refuse(c, err, func(status int, message, code string) error {
		return s.showSSO(c, status, pageData{Error: message, Code: code}, &f)
	})
}

// handleSSODisablePage answers POST /settings/security/sso/disable.
func (s *Server) handleSSODisablePage(c *gin.Context) {
	if err := s.Service.DisableSSO(c.Request.Context(), actorOf(c)); err != nil {
		s.renderError(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/settings/security/sso?done=disabled")
}
