package web

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// handleVersionUpload answers POST /documents/{id}/versions, sent by
// static/upload.js with the X-CSRF-Token header: the raw body (or a
// multipart "file" part) streams into vault.Service.PutVersion exactly as for PUT
// /api/v1/documents/{id}/content (openUpload: no buffering, nothing on
// disk). It answers JSON, never a page: 200 with the document and its
// page's location, or the API's error body and status.
func (s *Server) handleVersionUpload(c *gin.Context) {
	up, err := s.openUpload(c)
	if err != nil {
		s.Error(c, err)
		return
	}
	actor := actorOf(c)
	d, err := s.Service.PutVersion(c.Request.Context(), actor, c.Param("id"), up.ContentType, up.Body, up.Size)
	if err != nil {
		s.Error(c, err)
		return
	}
	region, err := s.regionOf(c.Request.Context(), actor)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, uploadAnswer{
		Document: documentResponse{Document: d, Region: region},
		Location: "/documents/" + d.ID,
	})
}
