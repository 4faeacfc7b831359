package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// uploadAnswer is the JSON answer of a scripted upload from the UI: the
// document as the API shows it and the page that shows it.
type uploadAnswer struct {
	Document documentResponse `json:"document"`
	Location string           `json:"location"`
}

// handleMatterUpload answers POST /matters/:id/documents, sent by
// web/static/upload.js with the session's token in X-CSRF-Token (checked
// by checkCSRF, which leaves the body unread): the raw body (name in
// ?name=; a multipart "file" part is taken too) streams through openUpload into vault.Service.PutDocument, as POST
// /api/v1/matters/{id}/documents does, under the same upload limits
// (limitUploads, guardUpload). The answer is JSON either way: 201 with the
// document, or the API's error body and status.
func (s *Server) handleMatterUpload(c *gin.Context) {
	ctx, u := c.Request.Context(), actorOf(c)
	up, err := s.openUpload(c)
	if err != nil {
		s.Error(c, err)
		return
	}
	d, err := s.Service.PutDocument(ctx, u, vault.NewDocument{
		MatterID: c.Param("id"), Name: up.Name, ContentType: up.ContentType,
	}, up.Body, up.Size)
	if err != nil {
		s.Error(c, err)
		return
	}
	region, err := s.regionOf(ctx, u)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusCreated, uploadAnswer{
		Document: documentResponse{Document: d, Region: region},
		Location: "/documents/" + d.ID,
	})
}
