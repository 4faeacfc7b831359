package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// alertPages registers Settings › Security › Alerts (docs/API.md, "Web
// UI"): the pages do what the alerts API does, and the service decides who
// may (owners, admins and auditors read; owners and admins act).
func (s *Server) alertPages(g *gin.RouterGroup) {
	g.GET("/settings/security/alerts", s.handleAlertsPage)
	g.GET("/settings/security/alerts/:id", s.handleAlertPage)
	g.POST("/settings/security/alerts/:id/acknowledge", s.handleAlertAcknowledgePage)
	g.POST("/settings/security/alerts/:id/resolve", s.handleAlertResolvePage)
	g.POST("/settings/security/alerts/:id/release", s.handleAlertReleasePage)
}

// alertsPageData is what the alerts list receives.
type alertsPageData struct {
	Status   string
	Statuses []string
	Alerts   []*vault.Alert
}

// handleAlertsPage answers GET /settings/security/alerts[?status=]: the
// firm's alerts, as GET /api/v1/alerts.
func (s *Server) handleAlertsPage(c *gin.Context) {
	status := c.Query("status")
	as, err := s.Service.Alerts(c.Request.Context(), actorOf(c), status)
	if err != nil {
		s.renderError(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	s.render(c, http.StatusOK, "alerts", pageData{Title: "Alerts", Data: alertsPageData{
		Status: status, Statuses: []string{vault.AlertOpen, vault.AlertAcknowledged, vault.AlertResolved}, Alerts: as}})
}

// alertPageData is what one alert's page receives.
type alertPageData struct {
	A *vault.Alert
	// Evidence are the evidence seqs with the audit page's cursor that
	// shows each (the events after seq-1).
	Evidence []evidenceLink
	CanAct   bool // an owner or admin: the forms are shown
	// Contained says the alert's user is contained now.
	Contained bool
}

// evidenceLink is one evidence seq and the cursor that shows it.
type evidenceLink struct{ Seq, After int64 }

// handleAlertPage answers GET /settings/security/alerts/{id}: the alert,
// its evidence linked to the audit trail, and the acknowledge, resolve and
// release forms for owners and admins.
func (s *Server) handleAlertPage(c *gin.Context) {
	actor := actorOf(c)
	a, err := s.Service.Alert(c.Request.Context(), actor, c.Param("id"))
	if err != nil {
		s.renderError(c, err)
		return
	}
	d := alertPageData{A: a, CanAct: actor.Role == vault.RoleOwner || actor.Role == vault.RoleAdmin}
	for _, q := range a.Evidence {
		d.Evidence = append(d.Evidence, evidenceLink{Seq: q, After: q - 1})
	}
	if a.UserID != "" && a.Contained {
		if _, err := s.Service.Containment(c.Request.Context(), actor, a.UserID); err == nil {
			d.Contained = true
		}
	}
	c.Header("Cache-Control", "no-store")
	s.render(c, http.StatusOK, "alert", pageData{Title: "Alert", Notice: c.Query("done"), Data: d})
}

// handleAlertAcknowledgePage answers POST …/acknowledge, as POST
// /api/v1/alerts/{id}/acknowledge, then 303 back.
func (s *Server) handleAlertAcknowledgePage(c *gin.Context) {
	if _, err := s.Service.AcknowledgeAlert(c.Request.Context(), actorOf(c), c.Param("id")); err != nil {
		s.renderError(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/settings/security/alerts/"+c.Param("id")+"?done=acknowledged")
}

// handleAlertResolvePage answers POST …/resolve (field note), as POST
// /api/v1/alerts/{id}/resolve, then 303 back.
func (s *Server) handleAlertResolvePage(c *gin.Context) {
	if _, err := s.Service.ResolveAlert(c.Request.Context(), actorOf(c), c.Param("id"), c.PostForm("note")); err != nil {
		s.renderError(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/settings/security/alerts/"+c.Param("id")+"?done=resolved")
}

// handleAlertReleasePage answers POST …/release: releases the alert's
// contained user, as POST /api/v1/users/{id}/release, then 303 back.
func (s *Server) handleAlertReleasePage(c *gin.Context) {
	ctx, actor := c.Request.Context(), actorOf(c)
	a, err := s.Service.Alert(ctx, actor, c.Param("id"))
	if err == nil {
		err = s.Service.ReleaseUser(ctx, actor, a.UserID)
	}
	if err != nil {
		s.renderError(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/settings/security/alerts/"+a.ID+"?done=released")
}
