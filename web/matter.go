package web

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// handleMatterList answers GET /api/v1/matters with the firm's open
// matters, and its closed ones too with ?closed=true.
func (s *Server) handleMatterList(c *gin.Context) {
	closed, err := boolQuery(c, "closed")
	if err != nil {
		s.Error(c, err)
		return
	}
	ms, err := s.Service.Matters(c.Request.Context(), actorOf(c), closed)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, nonNil(ms))
}

// boolQuery reads the optional query parameter name as true or false;
// absent is false.
func boolQuery(c *gin.Context, name string) (bool, error) {
	v, ok := c.GetQuery(name)
	if !ok {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, vault.Errorf(vault.EINVALID, "Query parameter %s must be true or false.", name)
	}
	return b, nil
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

// matterUpdateRequest is the body of PATCH /api/v1/matters/{id}: any of a
// new name, a new client and the closed state.
type matterUpdateRequest struct {
	Name   *string `json:"name"`
	Client *string `json:"client"`
	Closed *bool   `json:"closed"`
}

// handleMatterUpdate answers PATCH /api/v1/matters/{id}: rename, close or
// reopen a matter.
func (s *Server) handleMatterUpdate(c *gin.Context) {
	var req matterUpdateRequest
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	m, err := s.Service.UpdateMatter(c.Request.Context(), actorOf(c), c.Param("id"),
		vault.MatterUpdate{Name: req.Name, Client: req.Client, Closed: req.Closed})
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, m)
}
