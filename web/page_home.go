package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// homeData is the signed-in home page: the matters the user may see, for
// lawyers, owners and admins; the first audit events, for auditors.
type homeData struct {
	Matters []*vault.Matter
	Events  []*vault.AuditRecord
	Auditor bool
}

// homeEvents is how many audit events an auditor's home page lists.
const homeEvents = 50

// handleHome answers GET /: the setup page while no firm exists, the
// sign-in page for a signed-out visitor (see session), else the home page
// of the user's role, with what the service returns for them.
func (s *Server) handleHome(c *gin.Context) {
	u := actorOf(c)
	var d homeData
	var err error
	if u.Role == vault.RoleAuditor {
		d.Auditor = true
		d.Events, _, err = s.Service.AuditEvents(c.Request.Context(), u, vault.AuditFilter{Limit: homeEvents})
	} else {
		d.Matters, err = s.Service.Matters(c.Request.Context(), u, false)
	}
	if err != nil {
		s.renderError(c, err)
		return
	}
	title := "Matters"
	if d.Auditor {
		title = "Audit trail"
	}
	s.render(c, http.StatusOK, "home", pageData{Title: title, Data: d})
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
