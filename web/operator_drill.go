package web

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// DrillStatus is a region's restore drill as the operator API shows it.
type DrillStatus struct {
	Region string `json:"region"`
	// ID is the drill's id; Running is set while it runs.
	ID      string `json:"id"`
	Running bool   `json:"running"`
	// Drill is the drill's record (docs/DRILL-FORMAT.md §3) once it
	// finished; Record the same, signed (the file `casevault drill
	// verify` checks), when this process ran it.
	Drill  any    `json:"drill,omitempty"`
	Record string `json:"record,omitempty"`
	// ErrorCode and Error say why the drill could not be recorded (a
	// drill that fails its checks is recorded: see Drill).
	ErrorCode string `json:"error_code,omitempty"`
	Error     string `json:"error,omitempty"`
}

// DrillOperator runs restore drills of the regions this process serves
// (the operator API's /operator/v1/drills). Nothing in it reads a
// document out.
type DrillOperator interface {
	// StartDrill starts a drill of region in the background, or returns
	// the one running. Errors: invalid (a region not served, or whose
	// backups are off), unavailable.
	StartDrill(ctx context.Context, region string) (DrillStatus, error)
	// Drills returns each served region's drill, running or last.
	Drills(ctx context.Context) ([]DrillStatus, error)
	// Drill returns region's drill, running or last. Errors: not_found.
	Drill(ctx context.Context, region string) (DrillStatus, error)
}

// drillRequest is the body of POST /operator/v1/drills.
type drillRequest struct {
	Region string `json:"region"`
}

// drillsResponse is the body of GET /operator/v1/drills.
type drillsResponse struct {
	Drills []DrillStatus `json:"drills"`
}

// registerDrillRoutes adds the drills to the operator API's table.
func (s *Server) registerDrillRoutes(op *gin.RouterGroup) {
	op.POST("/drills", s.handleDrillStart)
	op.GET("/drills", s.handleDrillList)
	op.GET("/drills/:region", s.handleDrillGet)
}

// drills returns the drill operator, or answers unavailable when there is
// none.
func (s *Server) drills(c *gin.Context) DrillOperator {
	if s.Operator.Drills == nil {
		s.Error(c, vault.Errorf(vault.EUNAVAILABLE, "This server runs no restore drills."))
		return nil
	}
	return s.Operator.Drills
}

// handleDrillStart answers POST /operator/v1/drills: 202 with the drill's
// status, started (or already running) in the background.
func (s *Server) handleDrillStart(c *gin.Context) {
	d := s.drills(c)
	if d == nil {
		return
	}
	var req drillRequest
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	if req.Region == "" {
		s.Error(c, vault.Errorf(vault.EINVALID, "region is required."))
		return
	}
	st, err := d.StartDrill(c.Request.Context(), req.Region)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusAccepted, st)
}

// handleDrillList answers GET /operator/v1/drills.
func (s *Server) handleDrillList(c *gin.Context) {
	d := s.drills(c)
	if d == nil {
		return
	}
	list, err := d.Drills(c.Request.Context())
	if err != nil {
		s.Error(c, err)
		return
	}
	if list == nil {
		list = []DrillStatus{}
	}
	writeJSON(c, http.StatusOK, drillsResponse{Drills: list})
}

// handleDrillGet answers GET /operator/v1/drills/:region.
func (s *Server) handleDrillGet(c *gin.Context) {
	d := s.drills(c)
	if d == nil {
		return
	}
	st, err := d.Drill(c.Request.Context(), c.Param("region"))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, st)
}
