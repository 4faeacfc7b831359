package web

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// handleMatterList answers GET /api/v1/matters with the firm's matters.
func (s *Server) handleMatterList(c *gin.Context) {
	ms, err := s.Service.Matters(c.Request.Context(), actorOf(c))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, nonNil(ms))
}

// matterRequest is the body of POST /api/v1/matters.
type matterRequest struct {
	Name   string `json:"name"`
	Client string `json:"client"`
}

// handleMatterCreate answers POST /api/v1/matters.
func (s *Server) handleMatterCreate(c *gin.Context) {
	var req matterRequest
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	m, err := s.Service.CreateMatter(c.Request.Context(), actorOf(c), req.Name, req.Client)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusCreated, m)
}

// handleMatterGet answers GET /api/v1/matters/{id}.
func (s *Server) handleMatterGet(c *gin.Context) {
	m, err := s.Service.Matter(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, m)
}
