package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// MoveStatus is one firm's move as the operator API shows it.
type MoveStatus struct {
	TenantID string `json:"tenant_id"`
	From     string `json:"from"`
	To       string `json:"to"`
	// Step is the last step completed ("" before the first), "done" once
	// the move finished.
	Step string `json:"step"`
	// Running is set while this process runs the move.
	Running bool `json:"running"`
	// ErrorCode and Error say why the move stopped, when it failed: a
	// vault error code and its message. POST the move again to resume.
	ErrorCode string `json:"error_code,omitempty"`
	Error     string `json:"error,omitempty"`
	// Result is what the move's run did, once it finished.
	Result any `json:"result,omitempty"`
}

// Operator is what the operator API does: it moves firms between the
// regions this process serves. Nothing in it reads a document.
type Operator interface {
	// StartMove starts the move of firm tenantID to region to in the
	// background, or resumes the one in progress, and returns its status.
	// Errors: not_found (unknown firm), invalid (an unknown or unserved
	// region), conflict (a move to another region in progress),
	// unavailable.
	StartMove(ctx context.Context, tenantID, to string) (MoveStatus, error)
	// Moves returns the moves in progress and those finished since the
	// process started, by firm id.
	Moves(ctx context.Context) ([]MoveStatus, error)
	// Move returns firm tenantID's move. Errors: not_found (no move in
	// progress or finished since start).
	Move(ctx context.Context, tenantID string) (MoveStatus, error)
}

// OperatorListener configures the operator API's own listener: never the
// firm users' one, which answers 404 for its paths as for any path that
// does not exist.
type OperatorListener struct {
	// Addr, host:port, is where it listens; empty: no operator API.
	Addr string
	// TLS serves it with the main listener's TLS settings (when it has
	// any); without it it speaks plain HTTP, as suits a loopback address.
	TLS bool
	// Token is the bearer token every request must carry (Authorization:
	// Bearer TOKEN); others answer 401. Firm tokens and sessions mean
	// nothing here. Required when Addr is set.
	Token string
	// Moves does the work; Drills runs restore drills (nil: the drill
	// routes answer unavailable).
	Moves  Operator
	Drills DrillOperator
	// Shreds shreds firms (nil: the shred routes answer unavailable).
	Shreds ShredOperator

	side *sideListener
}

// moveRequest is the body of POST /operator/v1/moves.
type moveRequest struct {
	TenantID string `json:"tenant_id"`
	To       string `json:"to"`
}

// movesResponse is the body of GET /operator/v1/moves.
type movesResponse struct {
	Moves []MoveStatus `json:"moves"`
}

// registerOperatorRoutes is the table of the operator API (docs/API.md,
// "Operator API").
func (s *Server) registerOperatorRoutes(r *gin.Engine) {
	op := r.Group("/operator/v1", s.authenticateOperator)
	op.POST("/moves", s.handleMoveStart)
	op.GET("/moves", s.handleMoveList)
	op.GET("/moves/:tenant_id", s.handleMoveGet)
	s.registerDrillRoutes(op)
	s.registerShredOperatorRoutes(op)
	s.registerAddonRoutes(op)
}

// authenticateOperator lets through requests that carry the operator
// token. The comparison takes the same time whatever the token sent (both
// are hashed first, so not even its length shows).
func (s *Server) authenticateOperator(c *gin.Context) {
	scheme, secret, ok := strings.Cut(c.GetHeader("Authorization"), " ")
	got, want := sha256.Sum256([]byte(strings.TrimSpace(secret))), sha256.Sum256([]byte(s.Operator.Token))
	match := subtle.ConstantTimeCompare(got[:], want[:]) == 1
	if !ok || !strings.EqualFold(scheme, "Bearer") || !match || s.Operator.Token == "" {
		s.Error(c, vault.Errorf(vault.EUNAUTHORIZED, "The operator API needs the operator token: send an Authorization: Bearer token."))
		return
	}
	c.Next()
}

// handleMoveStart answers POST /operator/v1/moves: 202 with the move's
// status, started or resumed in the background.
func (s *Server) handleMoveStart(c *gin.Context) {
	var req moveRequest
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	if req.TenantID == "" || req.To == "" {
		s.Error(c, vault.Errorf(vault.EINVALID, "tenant_id and to are required."))
		return
	}
	st, err := s.Operator.Moves.StartMove(c.Request.Context(), req.TenantID, req.To)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusAccepted, st)
}

// handleMoveList answers GET /operator/v1/moves.
func (s *Server) handleMoveList(c *gin.Context) {
	moves, err := s.Operator.Moves.Moves(c.Request.Context())
	if err != nil {
		s.Error(c, err)
		return
	}
	if moves == nil {
		moves = []MoveStatus{}
	}
	writeJSON(c, http.StatusOK, movesResponse{Moves: moves})
}

// handleMoveGet answers GET /operator/v1/moves/:tenant_id.
func (s *Server) handleMoveGet(c *gin.Context) {
	st, err := s.Operator.Moves.Move(c.Request.Context(), c.Param("tenant_id"))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, st)
}

// listenOperator opens the operator listener when Operator.Addr is set,
// with tlsConfig when Operator.TLS asks for it. Close shuts it down with
// the main listener.
func (s *Server) listenOperator(tlsConfig *tls.Config) error {
	o := &s.Operator
	if o.Addr == "" {
		return nil
	}
	if o.Token == "" || o.Moves == nil {
		return errors.New("operator: the operator listener needs a token and its operator")
	}
	l, err := s.openSide("operator", o.Addr, o.TLS, tlsConfig, nil, s.registerOperatorRoutes)
	if err != nil {
		return err
	}
	o.side = l
	return nil
}

// closeOperator shuts the operator listener down, if it is open.
func (s *Server) closeOperator(ctx context.Context) error { return s.Operator.side.shutdown(ctx) }

// OperatorURL returns the operator API's base URL (after Open), or ""
// when it is off.
func (s *Server) OperatorURL() string {
	return s.Operator.side.url()
}
