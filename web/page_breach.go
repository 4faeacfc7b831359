package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// breachesData is the breach register page's data.
type breachesData struct {
	Breaches []*vault.Breach
	CanWrite bool
	Form     breachForm // the create form, as typed after a refusal
}

// breachData is one entry's page.
type breachData struct {
	Breach   *vault.Breach
	CanWrite bool
	Form     breachForm
}

// breachForm is the create and edit form's fields, as text.
type breachForm struct {
	AlertID, Description, MatterIDs, UserIDs, RiskAssessment, Status string
	RealRisk                                                         bool
	Regulator, Clients, Individuals                                  string // YYYY-MM-DD or ""
}

func canWriteBreachPages(u *vault.User) bool {
	return u.Role == vault.RoleOwner || u.Role == vault.RoleAdmin
}

func formDay(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

// formOf fills the form from an entry.
func formOf(b *vault.Breach) breachForm {
	return breachForm{AlertID: b.AlertID, Description: b.Description, MatterIDs: strings.Join(b.MatterIDs, " "),
		UserIDs: strings.Join(b.UserIDs, " "), RiskAssessment: b.RiskAssessment, Status: b.Status, RealRisk: b.RealRisk,
		Regulator: formDay(b.RegulatorNotifiedAt), Clients: formDay(b.ClientsNotifiedAt), Individuals: formDay(b.IndividualsNotifiedAt)}
}

// postedBreach reads the form: every field is set, as on the page.
func postedBreach(c *gin.Context) (breachForm, breachRequest) {
	f := breachForm{AlertID: strings.TrimSpace(c.PostForm("alert_id")), Description: c.PostForm("description"),
		MatterIDs: c.PostForm("matter_ids"), UserIDs: c.PostForm("user_ids"), RiskAssessment: c.PostForm("risk_assessment"),
		Status: c.DefaultPostForm("status", vault.BreachOpen), RealRisk: c.PostForm("real_risk") == "yes",
		Regulator: c.PostForm("regulator_notified_at"), Clients: c.PostForm("clients_notified_at"),
		Individuals: c.PostForm("individuals_notified_at")}
	ids := func(s string) *[]string {
		l := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
		if l == nil {
			l = []string{}
		}
		return &l
	}
	return f, breachRequest{AlertID: &f.AlertID, Description: &f.Description, MatterIDs: ids(f.MatterIDs), UserIDs: ids(f.UserIDs),
		RiskAssessment: &f.RiskAssessment, Status: &f.Status, RealRisk: &f.RealRisk,
		RegulatorNotifiedAt: &f.Regulator, ClientsNotifiedAt: &f.Clients, IndividualsNotifiedAt: &f.Individuals}
}

// handleBreachesPage answers GET /settings/security/breaches: the register
// (owners, admins, auditors; others 403) and, for owners and admins, the
// form to enter an incident.
func (s *Server) handleBreachesPage(c *gin.Context) {
	if err := s.showBreaches(c, http.StatusOK, pageData{}, breachForm{Status: vault.BreachOpen}); err != nil {
		s.renderError(c, err)
	}
}

func (s *Server) showBreaches(c *gin.Context, status int, d pageData, f breachForm) error {
	u := actorOf(c)
	list, err := s.Service.Breaches(c.Request.Context(), u)
	if err != nil {
		return err
	}
	d.Title, d.Data = "Breach register", breachesData{Breaches: list, CanWrite: canWriteBreachPages(u), Form: f}
	c.Header("Cache-Control", "no-store")
	s.render(c, status, "breaches", d)
	return nil
}

// handleBreachCreatePage answers POST /settings/security/breaches, as POST
// /api/v1/breaches; 303 to the new entry.
func (s *Server) handleBreachCreatePage(c *gin.Context) {
	f, req := postedBreach(c)
	ch, err := req.change()
	if err == nil {
		var b *vault.Breach
		if b, err = s.Service.CreateBreach(c.Request.Context(), actorOf(c), ch); err == nil {
			c.Redirect(http.StatusSeeOther, "/settings/security/breaches/"+b.ID+"?done=created")
			return
		}
	}
	s.refuse(c, err, func(status int, message, code string) error {
		return s.showBreaches(c, status, pageData{Error: message, Code: code}, f)
	})
}

// handleBreachPage answers GET /settings/security/breaches/:id: the entry
// and, for owners and admins, its edit form.
func (s *Server) handleBreachPage(c *gin.Context) {
	var d pageData
	switch c.Query("done") {
	case "created":
		d.Notice = "Incident entered in the breach register."
	case "updated":
		d.Notice = "Entry saved."
	}
	if err := s.showBreach(c, http.StatusOK, d, nil); err != nil {
		s.renderError(c, err)
	}
}

func (s *Server) showBreach(c *gin.Context, status int, d pageData, f *breachForm) error {
	u := actorOf(c)
	b, err := s.Service.Breach(c.Request.Context(), u, c.Param("id"))
	if err != nil {
		return err
	}
	form := formOf(b)
	if f != nil {
		form = *f
	}
	d.Title, d.Data = "Breach "+b.ID, breachData{Breach: b, CanWrite: canWriteBreachPages(u), Form: form}
	c.Header("Cache-Control", "no-store")
	s.render(c, status, "breach", d)
	return nil
}

// handleBreachUpdatePage answers POST /settings/security/breaches/:id, as
// PATCH /api/v1/breaches/:id with every field of the form.
func (s *Server) handleBreachUpdatePage(c *gin.Context) {
	f, req := postedBreach(c)
	ch, err := req.change()
	if err == nil {
		if _, err = s.Service.UpdateBreach(c.Request.Context(), actorOf(c), c.Param("id"), ch); err == nil {
			c.Redirect(http.StatusSeeOther, "/settings/security/breaches/"+c.Param("id")+"?done=updated")
			return
		}
	}
	s.refuse(c, err, func(status int, message, code string) error {
		return s.showBreach(c, status, pageData{Error: message, Code: code}, &f)
	})
}
