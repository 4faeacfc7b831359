package web

import (
	"bufio"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/vault"
)

// breachRequest is the body of POST /api/v1/breaches and PATCH
// /api/v1/breaches/:id: absent fields are left as they are. A notification
// date is RFC 3339 or YYYY-MM-DD; "" clears it.
type breachRequest struct {
	AlertID               *string   `json:"alert_id"`
	Description           *string   `json:"description"`
	MatterIDs             *[]string `json:"matter_ids"`
	UserIDs               *[]string `json:"user_ids"`
	RealRisk              *bool     `json:"real_risk_of_significant_harm"`
	RiskAssessment        *string   `json:"risk_assessment"`
	Status                *string   `json:"status"`
	RegulatorNotifiedAt   *string   `json:"regulator_notified_at"`
	ClientsNotifiedAt     *string   `json:"clients_notified_at"`
	IndividualsNotifiedAt *string   `json:"individuals_notified_at"`
}

// breachesResponse is the body of GET /api/v1/breaches.
type breachesResponse struct {
	Breaches []*vault.Breach `json:"breaches"`
}

// parseNotified reads a notification date: nil (absent), the zero time
// ("", clear) or the time. Errors: invalid.
func parseNotified(field string, v *string) (*time.Time, error) {
	if v == nil {
		return nil, nil
	}
	s := strings.TrimSpace(*v)
	if s == "" {
		return &time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			return &t, nil
		}
	}
	return nil, vault.Errorf(vault.EINVALID, "%s must be a date (YYYY-MM-DD) or an RFC 3339 time, or empty.", field)
}

// change turns the request into a vault.BreachChange. Errors: invalid.
func (r breachRequest) change() (vault.BreachChange, error) {
	ch := vault.BreachChange{AlertID: r.AlertID, Description: r.Description, MatterIDs: r.MatterIDs, UserIDs: r.UserIDs,
		RealRisk: r.RealRisk, RiskAssessment: r.RiskAssessment, Status: r.Status}
	var err error
	if ch.RegulatorNotifiedAt, err = parseNotified("regulator_notified_at", r.RegulatorNotifiedAt); err != nil {
		return ch, err
	}
	if ch.ClientsNotifiedAt, err = parseNotified("clients_notified_at", r.ClientsNotifiedAt); err != nil {
		return ch, err
	}
	ch.IndividualsNotifiedAt, err = parseNotified("individuals_notified_at", r.IndividualsNotifiedAt)
	return ch, err
}

// breachRoutes adds the breach register's API to the table.
func (s *Server) breachRoutes(auth *gin.RouterGroup) {
	auth.GET("/breaches", s.handleBreachList)
	auth.POST("/breaches", s.handleBreachCreate)
	auth.GET("/breaches/export", s.handleBreachExport)
	auth.GET("/breaches/:id", s.handleBreachGet)
	auth.PATCH("/breaches/:id", s.handleBreachUpdate)
	auth.DELETE("/breaches/:id", s.handleBreachDelete)
}

// handleBreachList answers GET /api/v1/breaches.
func (s *Server) handleBreachList(c *gin.Context) {
	list, err := s.Service.Breaches(c.Request.Context(), actorOf(c))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, breachesResponse{Breaches: list})
}

// handleBreachGet answers GET /api/v1/breaches/:id.
func (s *Server) handleBreachGet(c *gin.Context) {
	b, err := s.Service.Breach(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, b)
}

// handleBreachCreate answers POST /api/v1/breaches: 201 with the entry.
func (s *Server) handleBreachCreate(c *gin.Context) {
	var req breachRequest
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	ch, err := req.change()
	if err != nil {
		s.Error(c, err)
		return
	}
	b, err := s.Service.CreateBreach(c.Request.Context(), actorOf(c), ch)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusCreated, b)
}

// handleBreachUpdate answers PATCH /api/v1/breaches/:id.
func (s *Server) handleBreachUpdate(c *gin.Context) {
	var req breachRequest
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	ch, err := req.change()
	if err != nil {
		s.Error(c, err)
		return
	}
	b, err := s.Service.UpdateBreach(c.Request.Context(), actorOf(c), c.Param("id"), ch)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, b)
}

// handleBreachDelete answers DELETE /api/v1/breaches/:id: 204, or 409
// retention for an entry younger than 24 months.
func (s *Server) handleBreachDelete(c *gin.Context) {
	if err := s.Service.DeleteBreach(c.Request.Context(), actorOf(c), c.Param("id")); err != nil {
		s.Error(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// handleBreachExport answers GET /api/v1/breaches/export?format=csv|pdf.
func (s *Server) handleBreachExport(c *gin.Context) {
	format := c.DefaultQuery("format", "csv")
	ctx, actor := c.Request.Context(), actorOf(c)
	list, err := s.Service.ExportBreaches(ctx, actor, format)
	if err != nil {
		s.Error(c, err)
		return
	}
	now := s.Service.Now().UTC()
	w := &lazyHeaderWriter{c: c, ctype: exportTypes[format], name: "casevault-breaches-" + now.Format("20060102T150405Z") + "." + format}
	bw := bufio.NewWriterSize(w, 64<<10)
	if format == "pdf" {
		firm := ""
		if t, err := s.Service.Store.Tenant(ctx, actor.TenantID); err == nil {
			firm = t.Name
		}
		err = audit.WriteBreachPDF(bw, now, firm, list)
	} else {
		err = audit.WriteBreachCSV(bw, list)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		if !w.started {
			s.Error(c, err)
			return
		}
		s.streamFailed(c, err)
	}
}
