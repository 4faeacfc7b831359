package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// handleAuditSinkGet answers GET /api/v1/audit/sink: the firm's checkpoint
// sink without its secrets, with its delivery status.
func (s *Server) handleAuditSinkGet(c *gin.Context) {
	v, err := s.Service.AuditSink(c.Request.Context(), actorOf(c))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, v)
}

// handleAuditSinkPut answers PUT /api/v1/audit/sink: the owner names the
// firm's checkpoint sink, replacing any earlier one.
func (s *Server) handleAuditSinkPut(c *gin.Context) {
	var req vault.AuditSinkConfig
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	v, err := s.Service.SetAuditSink(c.Request.Context(), actorOf(c), req)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, v)
}

// handleAuditSinkDelete answers DELETE /api/v1/audit/sink: the owner stops
// the delivery of checkpoints.
func (s *Server) handleAuditSinkDelete(c *gin.Context) {
	if err := s.Service.RemoveAuditSink(c.Request.Context(), actorOf(c)); err != nil {
		s.Error(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
