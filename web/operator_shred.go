package web

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// ShredStatus is a firm's shred as the operator API shows it.
type ShredStatus struct {
	TenantID string `json:"tenant_id"`
	// Running is set while the shred runs.
	Running bool `json:"running"`
	// Certificate is the signed destruction certificate
	// (docs/SHRED-FORMAT.md, the file `casevault shred verify` checks)
	// once the shred finished.
	Certificate string `json:"certificate,omitempty"`
	// ErrorCode and Error say why the shred stopped.
	ErrorCode string `json:"error_code,omitempty"`
	Error     string `json:"error,omitempty"`
}

// ShredRequest is the body of POST /operator/v1/shreds.
type ShredRequest struct {
	TenantID string `json:"tenant_id"`
	// Confirm is the firm's name, typed by the operator.
	Confirm string `json:"confirm"`
	// BundlePath is the absolute path, on the server's machine, of the
	// final audit bundle it writes (a new file); NoBundle: none.
	BundlePath string `json:"bundle_path,omitempty"`
	NoBundle   bool   `json:"no_bundle,omitempty"`
}

// ShredOperator shreds firms whose owner requested it (the operator API's
// /operator/v1/shreds). Nothing in it reads a document.
type ShredOperator interface {
	// StartShred checks the request (pending request, name, bundle path)
	// and starts the shred in the background. Errors: not_found, conflict
	// (no pending request, or a shred of the firm running), invalid.
	StartShred(ctx context.Context, req ShredRequest) (ShredStatus, error)
	// Shred returns firm tenantID's shred, running or finished since the
	// process started. Errors: not_found.
	Shred(ctx context.Context, tenantID string) (ShredStatus, error)
}

// registerShredOperatorRoutes adds the shreds to the operator API's table.
func (s *Server) registerShredOperatorRoutes(op *gin.RouterGroup) {
	op.POST("/shreds", s.handleShredStart)
	op.GET("/shreds/:tenant_id", s.handleShredGet)
}

func (s *Server) shreds(c *gin.Context) ShredOperator {
	if s.Operator.Shreds == nil {
		s.Error(c, vault.Errorf(vault.EUNAVAILABLE, "This server shreds no firms."))
		return nil
	}
	return s.Operator.Shreds
}

// handleShredStart answers POST /operator/v1/shreds: 202 with the shred's
// status, started in the background.
func (s *Server) handleShredStart(c *gin.Context) {
	o := s.shreds(c)
	if o == nil {
		return
	}
	var req ShredRequest
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	if req.TenantID == "" || req.Confirm == "" || (req.BundlePath == "") == !req.NoBundle {
		s.Error(c, vault.Errorf(vault.EINVALID, "tenant_id, confirm, and one of bundle_path and no_bundle are required."))
		return
	}
	st, err := o.StartShred(c.Request.Context(), req)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusAccepted, st)
}

// handleShredGet answers GET /operator/v1/shreds/:tenant_id.
func (s *Server) handleShredGet(c *gin.Context) {
	o := s.shreds(c)
	if o == nil {
		return
	}
	st, err := o.Shred(c.Request.Context(), c.Param("tenant_id"))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, st)
}
