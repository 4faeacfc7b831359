package web

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// handleResidency answers GET /api/v1/residency: the firm's residency
// report, a signed note (docs/RESIDENCY.md), as text for owners, admins
// and auditors to keep and check offline with `casevault residency
// verify`.
func (s *Server) handleResidency(c *gin.Context) {
	b, err := s.Service.ResidencyReport(c.Request.Context(), actorOf(c))
	if err != nil {
		s.Error(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Content-Disposition", `attachment; filename="residency.txt"`)
	c.Data(http.StatusOK, "text/plain; charset=utf-8", b)
}

// handleAuditResidencyDownload answers GET /audit/residency: the UI's
// download of the same report, or a human error page.
func (s *Server) handleAuditResidencyDownload(c *gin.Context) {
	b, err := s.Service.ResidencyReport(c.Request.Context(), actorOf(c))
	if err != nil {
		s.renderError(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Content-Disposition", `attachment; filename="casevault-residency.txt"`)
	c.Data(http.StatusOK, "text/plain; charset=utf-8", b)
}
