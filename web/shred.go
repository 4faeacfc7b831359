package web

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// shredRequestBody is the body of POST /api/v1/shred-request.
type shredRequestBody struct {
	Reason string `json:"reason"`
	// Confirm is the firm's name, typed by the owner.
	Confirm string `json:"confirm"`
}

// registerShredRoutes adds the routes of a firm's shred request.
func (s *Server) registerShredRoutes(auth *gin.RouterGroup) {
	auth.GET("/shred-request", s.handleShredRequestGet)
	auth.POST("/shred-request", s.handleShredRequestCreate)
	auth.DELETE("/shred-request/:id", s.handleShredRequestCancel)
}

// handleShredRequestGet answers GET /api/v1/shred-request: the firm's
// pending request that the operator shred it.
func (s *Server) handleShredRequestGet(c *gin.Context) {
	r, err := s.Service.PendingShred(c.Request.Context(), actorOf(c))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, r)
}

// handleShredRequestCreate answers POST /api/v1/shred-request: the owner
// asks the operator to shred the firm.
func (s *Server) handleShredRequestCreate(c *gin.Context) {
	var req shredRequestBody
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	r, err := s.Service.RequestShred(c.Request.Context(), actorOf(c), req.Reason, req.Confirm)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusCreated, r)
}

// handleShredRequestCancel answers DELETE /api/v1/shred-request/:id: the
// owner withdraws the pending request.
func (s *Server) handleShredRequestCancel(c *gin.Context) {
	if err := s.Service.CancelShred(c.Request.Context(), actorOf(c), c.Param("id")); err != nil {
		s.Error(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
