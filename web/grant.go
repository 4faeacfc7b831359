package web

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// grantResponse is a grant as the API shows it: the grant plus its state
// (active, expired or revoked) at the time of the answer, so clients need not
// compare clocks.
type grantResponse struct {
	*vault.Grant
	Status string `json:"status"`
}

// grantJSON returns g with its status at now.
func grantJSON(g *vault.Grant, now time.Time) grantResponse {
	return grantResponse{Grant: g, Status: g.Status(now)}
}

// now is the service's clock, in UTC: grant states are computed with the
// same clock the service decides access with.
func (s *Server) now() time.Time { return s.Service.Now().UTC() }

// grantRequest is the body of POST /api/v1/grants: exactly one of
// document_id and matter_id.
type grantRequest struct {
	UserID      string             `json:"user_id"`
	DocumentID  string             `json:"document_id"`
	MatterID    string             `json:"matter_id"`
	Permissions []vault.Permission `json:"permissions"`
	ExpiresAt   *time.Time         `json:"expires_at"`
}

// handleGrantCreate answers POST /api/v1/grants: 201 with a new grant, or
// 200 with the active grant that already gives as much.
func (s *Server) handleGrantCreate(c *gin.Context) {
	var req grantRequest
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	g, created, err := s.Service.CreateGrant(c.Request.Context(), actorOf(c), vault.NewGrant{
		UserID: req.UserID, DocumentID: req.DocumentID, MatterID: req.MatterID,
		Permissions: req.Permissions, ExpiresAt: req.ExpiresAt,
	})
	if err != nil {
		s.Error(c, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(c, status, grantJSON(g, s.now()))
}

// grantStatuses are the values of ?status= on GET /api/v1/grants.
var grantStatuses = map[string]bool{vault.GrantActive: true, vault.GrantExpired: true, vault.GrantRevoked: true}

// handleGrantList answers GET /api/v1/grants, filtered by any of
// ?document_id=, ?matter_id=, ?user_id= and ?status=.
func (s *Server) handleGrantList(c *gin.Context) {
	status := c.Query("status")
	if status != "" && !grantStatuses[status] {
		s.Error(c, vault.Errorf(vault.EINVALID, "Query parameter status must be active, expired or revoked."))
		return
	}
	gs, err := s.Service.Grants(c.Request.Context(), actorOf(c), vault.GrantFilter{
		DocumentID: c.Query("document_id"), MatterID: c.Query("matter_id"), UserID: c.Query("user_id"),
	})
	if err != nil {
		s.Error(c, err)
		return
	}
	now := s.now()
	out := make([]grantResponse, 0, len(gs))
	for _, g := range gs {
		if r := grantJSON(g, now); status == "" || r.Status == status {
			out = append(out, r)
		}
	}
	writeJSON(c, http.StatusOK, out)
}

// handleGrantRevoke answers DELETE /api/v1/grants/{id} with the revoked
// grant, which stays on record.
func (s *Server) handleGrantRevoke(c *gin.Context) {
	g, err := s.Service.RevokeGrant(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, grantJSON(g, s.now()))
}
