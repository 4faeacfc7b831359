package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// notifyRoutes registers the notification API (docs/API.md,
// "Notifications"): channels, deliveries with their attempts, dead letters.
func (s *Server) notifyRoutes(auth *gin.RouterGroup) {
	auth.GET("/notifications/channels", s.handleChannelList)
	auth.POST("/notifications/channels", s.handleChannelCreate)
	auth.DELETE("/notifications/channels/:id", s.handleChannelDelete)
	auth.POST("/notifications/channels/:id/test", s.handleChannelTest)
	auth.GET("/notifications/deliveries", s.handleDeliveryList)
	auth.GET("/notifications/dead-letters", s.handleDeadLetterList)
	auth.POST("/notifications/dead-letters/:id/redrive", s.handleRedrive)
}

// handleChannelList answers GET /api/v1/notifications/channels.
func (s *Server) handleChannelList(c *gin.Context) {
	cs, err := s.Service.Channels(c.Request.Context(), actorOf(c))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, cs)
}

// handleChannelCreate answers POST /api/v1/notifications/channels: a
// webhook's answer carries its secret, once.
func (s *Server) handleChannelCreate(c *gin.Context) {
	var req vault.ChannelInput
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	v, err := s.Service.CreateChannel(c.Request.Context(), actorOf(c), req)
	if err != nil {
		s.Error(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	writeJSON(c, http.StatusCreated, v)
}

// handleChannelDelete answers DELETE /api/v1/notifications/channels/:id.
func (s *Server) handleChannelDelete(c *gin.Context) {
	if err := s.Service.DeleteChannel(c.Request.Context(), actorOf(c), c.Param("id")); err != nil {
		s.Error(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// handleChannelTest answers POST /api/v1/notifications/channels/:id/test:
// a test notice is queued for the channel; its delivery is returned.
func (s *Server) handleChannelTest(c *gin.Context) {
	d, err := s.Service.TestChannel(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusAccepted, deliveryOf(d))
}

// deliveryFilter reads ?state= and ?limit=.
func deliveryFilter(c *gin.Context, state string) (vault.DeliveryFilter, error) {
	f := vault.DeliveryFilter{State: state}
	if f.State == "" {
		f.State = c.Query("state")
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return f, vault.Errorf(vault.EINVALID, "limit must be from 1 to 1000.")
		}
		f.Limit = n
	}
	return f, nil
}

// handleDeliveryList answers GET /api/v1/notifications/deliveries.
func (s *Server) handleDeliveryList(c *gin.Context) {
	s.listDeliveries(c, "")
}

// handleDeadLetterList answers GET /api/v1/notifications/dead-letters.
func (s *Server) handleDeadLetterList(c *gin.Context) {
	s.listDeliveries(c, vault.DeliveryDead)
}

func (s *Server) listDeliveries(c *gin.Context, state string) {
	f, err := deliveryFilter(c, state)
	if err != nil {
		s.Error(c, err)
		return
	}
	ds, err := s.Service.Deliveries(c.Request.Context(), actorOf(c), f)
	if err != nil {
		s.Error(c, err)
		return
	}
	out := make([]deliveryJSON, 0, len(ds))
	for _, d := range ds {
		out = append(out, deliveryOf(d))
	}
	writeJSON(c, http.StatusOK, out)
}

// deliveryJSON is a delivery in the API: its own fields and its notice's
// ids.
type deliveryJSON struct {
	*vault.Delivery
	Notice noticeJSON `json:"notice"`
}

// noticeJSON is a notice's ids and link path, as queued.
type noticeJSON struct {
	Kind     string    `json:"kind"`
	ObjectID string    `json:"object_id"`
	Seq      int64     `json:"seq"`
	Rule     string    `json:"rule,omitempty"`
	Severity string    `json:"severity,omitempty"`
	Time     time.Time `json:"time"`
	Path     string    `json:"path"`
}

func deliveryOf(d *vault.Delivery) deliveryJSON {
	n := d.Notice
	return deliveryJSON{Delivery: d, Notice: noticeJSON{Kind: n.Kind, ObjectID: n.ObjectID, Seq: n.Seq, Rule: n.Rule,
		Severity: n.Severity, Time: n.Time, Path: n.Path}}
}

// handleRedrive answers POST /api/v1/notifications/dead-letters/:id/redrive.
func (s *Server) handleRedrive(c *gin.Context) {
	d, err := s.Service.Redrive(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusAccepted, deliveryOf(d))
}
