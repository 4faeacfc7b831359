package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// handleHome answers GET /: the setup page while no firm exists, the
// sign-in page for a signed-out visitor (see session), else a 303 to the
// first page of the user's role: the audit trail for auditors, the matters
// for everyone else.
func (s *Server) handleHome(c *gin.Context) {
	to := "/matters"
	if actorOf(c).Role == vault.RoleAuditor {
		to = "/audit"
	}
	c.Redirect(http.StatusSeeOther, to)
}

// needsSetup sends every UI page to /setup while no firm exists.
func (s *Server) needsSetup(c *gin.Context) {
	need, err := s.Service.NeedsSetup(c.Request.Context())
	if err != nil {
		s.renderError(c, err)
		return
	}
	if need {
		c.Redirect(http.StatusSeeOther, "/setup")
		c.Abort()
		return
	}
	c.Next()
}
