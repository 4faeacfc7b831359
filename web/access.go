package web

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// handleDocumentAccess answers GET /api/v1/documents/{id}/access: who can
// access the document now, and why.
func (s *Server) handleDocumentAccess(c *gin.Context) {
	rep, err := s.Service.DocumentAccess(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, rep)
}
