package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// alertRoutes registers the breach-detection API (docs/API.md, "Breach
// detection").
func (s *Server) alertRoutes(auth *gin.RouterGroup) {
	auth.GET("/alerts", s.handleAlertList)
	auth.GET("/alerts/:id", s.handleAlertGet)
	auth.POST("/alerts/:id/acknowledge", s.handleAlertAcknowledge)
	auth.POST("/alerts/:id/resolve", s.handleAlertResolve)
	auth.GET("/detection/settings", s.handleDetectionSettingsGet)
	auth.PUT("/detection/settings", s.handleDetectionSettingsPut)
	auth.POST("/users/:id/release", s.handleUserRelease)
}

// handleAlertList answers GET /api/v1/alerts, filtered by ?status=.
func (s *Server) handleAlertList(c *gin.Context) {
	as, err := s.Service.Alerts(c.Request.Context(), actorOf(c), c.Query("status"))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, as)
}

// handleAlertGet answers GET /api/v1/alerts/{id}.
func (s *Server) handleAlertGet(c *gin.Context) {
	a, err := s.Service.Alert(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, a)
}

// handleAlertAcknowledge answers POST /api/v1/alerts/{id}/acknowledge.
func (s *Server) handleAlertAcknowledge(c *gin.Context) {
	a, err := s.Service.AcknowledgeAlert(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, a)
}

// resolveRequest is the body of POST /api/v1/alerts/{id}/resolve.
type resolveRequest struct {
	Note string `json:"note"`
}

// handleAlertResolve answers POST /api/v1/alerts/{id}/resolve.
func (s *Server) handleAlertResolve(c *gin.Context) {
	var req resolveRequest
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	a, err := s.Service.ResolveAlert(c.Request.Context(), actorOf(c), c.Param("id"), req.Note)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, a)
}

// handleDetectionSettingsGet answers GET /api/v1/detection/settings.
func (s *Server) handleDetectionSettingsGet(c *gin.Context) {
	st, err := s.Service.DetectionSettingsOf(c.Request.Context(), actorOf(c))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, st)
}

// handleDetectionSettingsPut answers PUT /api/v1/detection/settings with
// the settings as stored (rules left out take their defaults).
func (s *Server) handleDetectionSettingsPut(c *gin.Context) {
	var req vault.DetectionSettings
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	st, err := s.Service.SetDetectionSettings(c.Request.Context(), actorOf(c), req)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, st)
}

// handleUserRelease answers POST /api/v1/users/{id}/release: 204 once the
// contained user's sessions and tokens work again.
func (s *Server) handleUserRelease(c *gin.Context) {
	if err := s.Service.ReleaseUser(c.Request.Context(), actorOf(c), c.Param("id")); err != nil {
		s.Error(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
