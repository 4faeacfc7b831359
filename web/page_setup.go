package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// setupForm is what the setup page shows back after a refusal (never the
// token or the password).
type setupForm struct {
	FirmName, Region, OwnerName, OwnerEmail string
	Regions                                 []string
}

// handleSetupShow answers GET /setup: the first-run form while no firm
// exists; afterwards, the sign-in page.
func (s *Server) handleSetupShow(c *gin.Context) {
	need, err := s.Service.NeedsSetup(c.Request.Context())
	if err != nil {
		s.renderError(c, err)
		return
	}
	if !need {
		c.Redirect(http.StatusSeeOther, "/signin")
		return
	}
	s.render(c, http.StatusOK, "setup", pageData{Title: "Set up CaseVault", Data: setupForm{Regions: s.Service.RegionNames()}})
}

// handleSetupPage answers POST /setup: vault.Service.Setup with the one-time
// setup token the server logged, as POST /api/v1/setup does; then the owner
// signs in.
func (s *Server) handleSetupPage(c *gin.Context) {
	form := setupForm{
		FirmName: c.PostForm("firm_name"), Region: c.PostForm("region"),
		OwnerName: c.PostForm("owner_name"), OwnerEmail: c.PostForm("owner_email"),
		Regions: s.Service.RegionNames(),
	}
	_, _, err := s.Service.Setup(c.Request.Context(), c.PostForm("token"), vault.NewTenant{
		Name:   form.FirmName,
		Region: form.Region,
		Owner:  vault.NewUser{Email: form.OwnerEmail, Name: form.OwnerName, Password: c.PostForm("owner_password")},
	})
	if err != nil {
		code, message := publicError(err)
		if code == vault.EINTERNAL || code == vault.ECANNOTDECRYPT {
			s.renderError(c, err)
			return
		}
		if code == vault.ECONFLICT {
			c.Redirect(http.StatusSeeOther, "/signin")
			return
		}
		c.Set(ctxErrorCode, code)
		s.render(c, ErrorStatusCode(code), "setup", pageData{Title: "Set up CaseVault", Error: message, Code: code, Data: form})
		return
	}
	c.Redirect(http.StatusSeeOther, "/signin?setup=1")
}
