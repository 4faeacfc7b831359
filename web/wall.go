package web

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// wallRequest is the body of POST /api/v1/matters/{id}/walls.
type wallRequest struct {
	UserID string `json:"user_id"`
}

// handleWallCreate answers POST /api/v1/matters/{id}/walls: 201 with a new
// ethical wall between the user and the matter, or 200 with the one that
// already stands.
func (s *Server) handleWallCreate(c *gin.Context) {
	var req wallRequest
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	w, created, err := s.Service.AddWall(c.Request.Context(), actorOf(c), c.Param("id"), req.UserID)
	if err != nil {
		s.Error(c, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(c, status, w)
}

// handleWallList answers GET /api/v1/matters/{id}/walls with the matter's
// walls.
func (s *Server) handleWallList(c *gin.Context) {
	ws, err := s.Service.Walls(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, nonNil(ws))
}

// handleWallDelete answers DELETE /api/v1/matters/{id}/walls/{user_id}: the
// wall is lifted.
func (s *Server) handleWallDelete(c *gin.Context) {
	if err := s.Service.RemoveWall(c.Request.Context(), actorOf(c), c.Param("id"), c.Param("user_id")); err != nil {
		s.Error(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
