package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// agreementsResponse is the body of GET /api/v1/compliance/agreements.
type agreementsResponse struct {
	// HIPAA says whether the operator enabled the firm's HIPAA add-on;
	// without it there is no agreement to accept.
	HIPAA      bool               `json:"hipaa"`
	Agreements []*vault.Agreement `json:"agreements"`
}

// decisionRequest is the body of POST .../accept and .../decline: the
// SHA-256 of the text the owner was served.
type decisionRequest struct {
	SHA256 string `json:"sha256"`
}

// complianceRoutes adds the compliance API (BAA) to the table.
func (s *Server) complianceRoutes(auth *gin.RouterGroup) {
	auth.GET("/compliance/agreements", s.handleAgreementList)
	auth.GET("/compliance/agreements/:version", s.handleAgreementGet)
	auth.POST("/compliance/agreements/:version/accept", s.handleAgreementDecide(true))
	auth.POST("/compliance/agreements/:version/decline", s.handleAgreementDecide(false))
}

// handleAgreementList answers GET /api/v1/compliance/agreements
// [?status=pending]: the BAA versions, newest first, for the owner.
func (s *Server) handleAgreementList(c *gin.Context) {
	list, on, err := s.Service.Agreements(c.Request.Context(), actorOf(c), c.Query("status"))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, agreementsResponse{HIPAA: on, Agreements: list})
}

// handleAgreementGet answers GET /api/v1/compliance/agreements/:version:
// one version with its full text, exactly as shipped.
func (s *Server) handleAgreementGet(c *gin.Context) {
	a, err := s.Service.Agreement(c.Request.Context(), actorOf(c), c.Param("version"))
	if err != nil {
		s.Error(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	writeJSON(c, http.StatusOK, a)
}

// handleAgreementDecide answers POST .../:version/accept (accept) or
// .../:version/decline.
func (s *Server) handleAgreementDecide(accept bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req decisionRequest
		if err := decodeJSON(c, &req); err != nil {
			s.Error(c, err)
			return
		}
		decide := s.Service.DeclineAgreement
		if accept {
			decide = s.Service.AcceptAgreement
		}
		a, err := decide(c.Request.Context(), actorOf(c), c.Param("version"), req.SHA256)
		if err != nil {
			s.Error(c, err)
			return
		}
		writeJSON(c, http.StatusOK, a)
	}
}
