package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// addonRequest is the body of POST /operator/v1/tenants/:tenant_id/addons.
type addonRequest struct {
	Addon   string `json:"addon"`
	Enabled *bool  `json:"enabled"`
}

// registerAddonRoutes adds the firms' add-ons to the operator API's table.
func (s *Server) registerAddonRoutes(op *gin.RouterGroup) {
	op.POST("/tenants/:tenant_id/addons", s.handleAddonSet)
}

// handleAddonSet answers POST /operator/v1/tenants/:tenant_id/addons:
// vault.Service.SetTenantAddon, so that `casevault tenant addon` does not
// write the database behind the running server.
func (s *Server) handleAddonSet(c *gin.Context) {
	var req addonRequest
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	if req.Addon == "" || req.Enabled == nil {
		s.Error(c, vault.Errorf(vault.EINVALID, "addon and enabled are required."))
		return
	}
	st, err := s.Service.SetTenantAddon(c.Request.Context(), c.Param("tenant_id"), req.Addon, *req.Enabled)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, st)
}
