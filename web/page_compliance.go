package web

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// complianceData is the compliance page's data.
type complianceData struct {
	HIPAA      bool
	Pending    bool // the Pending filter is on
	Agreements []*vault.Agreement
}

// handleCompliancePage answers GET /settings/security/compliance
// [?status=pending]: the BAA versions, as GET /api/v1/compliance/agreements,
// for the owner (others 403).
func (s *Server) handleCompliancePage(c *gin.Context) {
	status := c.Query("status")
	list, on, err := s.Service.Agreements(c.Request.Context(), actorOf(c), status)
	if err != nil {
		s.renderError(c, err)
		return
	}
	s.render(c, http.StatusOK, "compliance", pageData{Title: "Compliance",
		Data: complianceData{HIPAA: on, Pending: status == vault.BAAPending, Agreements: list}})
}

// handleAgreementPage answers GET /settings/security/compliance/:version:
// the full text, as served by the API, with Accept and Decline forms
// carrying its SHA-256.
func (s *Server) handleAgreementPage(c *gin.Context) {
	var d pageData
	switch c.Query("done") {
	case "accepted":
		d.Notice = "Agreement accepted. The acceptance is in the firm's audit trail."
	case "declined":
		d.Notice = "Agreement declined. The decision is in the firm's audit trail."
	}
	s.showAgreement(c, http.StatusOK, d)
}

func (s *Server) showAgreement(c *gin.Context, status int, d pageData) error {
	a, err := s.Service.Agreement(c.Request.Context(), actorOf(c), c.Param("version"))
	if err != nil {
		if d.Error == "" {
			s.renderError(c, err)
			return nil
		}
		return err
	}
	c.Header("Cache-Control", "no-store")
	d.Title, d.Data = a.Title, a
	s.render(c, status, "compliance_agreement", d)
	return nil
}

// handleAgreementDecidePage answers POST .../:version/accept and
// .../:version/decline (field sha256), as the API.
func (s *Server) handleAgreementDecidePage(accept bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		decide, done := s.Service.DeclineAgreement, "declined"
		if accept {
			decide, done = s.Service.AcceptAgreement, "accepted"
		}
		version := c.Param("version")
		if _, err := decide(c.Request.Context(), actorOf(c), version, c.PostForm("sha256")); err != nil {
			s.refuse(c, err, func(status int, message, code string) error {
				return s.showAgreement(c, status, pageData{Error: message, Code: code})
			})
			return
		}
		c.Redirect(http.StatusSeeOther, "/settings/security/compliance/"+url.PathEscape(version)+"?done="+done)
	}
}
