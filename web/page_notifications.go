package web

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// notificationPages registers Settings › Security & Compliance ›
// Notifications: the firm's channels, a test send, and the dead letters.
func (s *Server) notificationPages(in *gin.RouterGroup) {
	in.GET("/settings/security/notifications", s.handleNotificationsPage)
	in.POST("/settings/security/notifications/channels", s.handleNotificationsAdd)
	in.POST("/settings/security/notifications/channels/:id/delete", s.handleNotificationsDelete)
	in.POST("/settings/security/notifications/channels/:id/test", s.handleNotificationsTest)
	in.POST("/settings/security/notifications/dead-letters/:id/redrive", s.handleNotificationsRedrive)
}

// notificationsData is what the notifications page's template receives.
type notificationsData struct {
	Channels        []*vault.ChannelView
	Dead            []deadRow
	Recent          []*vault.Delivery
	CanManage       bool
	EmailConfigured bool
	// NewSecret is a webhook's secret, shown once, right after it was
	// added; NewChannel is that channel's id.
	NewSecret, NewChannel string
}

// deadRow is a dead letter with its last attempt's error in words.
type deadRow struct {
	*vault.Delivery
	LastError string
}

// showNotifications renders the page with status and d's notice or
// refusal; extra fills in what a POST adds (a new secret).
func (s *Server) showNotifications(c *gin.Context, status int, d pageData, extra func(*notificationsData)) error {
	ctx, actor := c.Request.Context(), actorOf(c)
	cs, err := s.Service.Channels(ctx, actor)
	if err != nil {
		return err
	}
	dead, err := s.Service.Deliveries(ctx, actor, vault.DeliveryFilter{State: vault.DeliveryDead, Limit: 100})
	if err != nil {
		return err
	}
	recent, err := s.Service.Deliveries(ctx, actor, vault.DeliveryFilter{Limit: 20})
	if err != nil {
		return err
	}
	nd := notificationsData{Channels: cs, Recent: recent,
		CanManage: actor.Role == vault.RoleOwner || actor.Role == vault.RoleAdmin}
	for _, d := range dead {
		r := deadRow{Delivery: d}
		if n := len(d.Attempts); n > 0 {
			a := d.Attempts[n-1]
			r.LastError = a.Error
			if a.Status != 0 {
				r.LastError += " (" + strconv.Itoa(a.Status) + ")"
			}
		}
		nd.Dead = append(nd.Dead, r)
	}
	if cn, ok := s.Service.Notifier.(vault.ChannelNotifier); ok {
		nd.EmailConfigured = cn.EmailConfigured()
	}
	if extra != nil {
		extra(&nd)
	}
	d.Title, d.Data = "Notifications", nd
	c.Header("Cache-Control", "no-store")
	s.render(c, status, "notifications", d)
	return nil
}

// handleNotificationsPage answers GET /settings/security/notifications
// for owners, admins (who manage) and auditors (who read); lawyers get the
// error page.
func (s *Server) handleNotificationsPage(c *gin.Context) {
	var d pageData
	switch c.Query("done") {
	case "deleted":
		d.Notice = "Channel deleted: nothing more is sent to it."
	case "tested":
		d.Notice = "Test notification queued: its delivery shows below within seconds."
	case "redriven":
		d.Notice = "Dead letter queued again."
	case "added":
		d.Notice = "Channel added."
	}
	if err := s.showNotifications(c, http.StatusOK, d, nil); err != nil {
		s.renderError(c, err)
	}
}

// handleNotificationsAdd answers POST /settings/security/notifications/channels
// (fields kind, recipients — one address a line or comma-separated — and
// url). A webhook's secret is shown on the answer, once.
func (s *Server) handleNotificationsAdd(c *gin.Context) {
	in := vault.ChannelInput{Kind: c.PostForm("kind")}
	if in.Kind == vault.ChannelEmail {
		in.Recipients = splitAddresses(c.PostForm("recipients"))
	} else {
		in.URL = c.PostForm("url")
	}
	v, err := s.Service.CreateChannel(c.Request.Context(), actorOf(c), in)
	if err != nil {
		s.refuse(c, err, func(status int, message, code string) error {
			return s.showNotifications(c, status, pageData{Error: message, Code: code}, nil)
		})
		return
	}
	if v.Secret == "" {
		c.Redirect(http.StatusSeeOther, "/settings/security/notifications?done=added")
		return
	}
	noStore(c)
	if err := s.showNotifications(c, http.StatusOK, pageData{Notice: "Webhook added. Copy its signing secret now: it is not shown again."},
		func(nd *notificationsData) { nd.NewSecret, nd.NewChannel = v.Secret, v.ID }); err != nil {
		s.renderError(c, err)
	}
}

// splitAddresses splits a textarea of addresses on commas and new lines.
func splitAddresses(s string) []string {
	var out []string
	field := ""
	for _, r := range s + "\n" {
		switch r {
		case ',', '\n', '\r', ';', ' ', '\t':
			if field != "" {
				out = append(out, field)
			}
			field = ""
		default:
			field += string(r)
		}
	}
	return out
}

// handleNotificationsDelete answers POST .../channels/:id/delete.
func (s *Server) handleNotificationsDelete(c *gin.Context) {
	s.notificationAction(c, "deleted", func() error {
		return s.Service.DeleteChannel(c.Request.Context(), actorOf(c), c.Param("id"))
	})
}

// handleNotificationsTest answers POST .../channels/:id/test.
func (s *Server) handleNotificationsTest(c *gin.Context) {
	s.notificationAction(c, "tested", func() error {
		_, err := s.Service.TestChannel(c.Request.Context(), actorOf(c), c.Param("id"))
		return err
	})
}

// handleNotificationsRedrive answers POST .../dead-letters/:id/redrive.
func (s *Server) handleNotificationsRedrive(c *gin.Context) {
	s.notificationAction(c, "redriven", func() error {
		_, err := s.Service.Redrive(c.Request.Context(), actorOf(c), c.Param("id"))
		return err
	})
}

// notificationAction runs do and redirects to the page saying done, or
// shows the refusal on it.
func (s *Server) notificationAction(c *gin.Context, done string, do func() error) {
	if err := do(); err != nil {
		s.refuse(c, err, func(status int, message, code string) error {
			return s.showNotifications(c, status, pageData{Error: message, Code: code}, nil)
		})
		return
	}
	c.Redirect(http.StatusSeeOther, "/settings/security/notifications?done="+done)
}
