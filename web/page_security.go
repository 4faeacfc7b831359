package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// securitySection is one sub-page of Settings › Security & Compliance.
type securitySection struct {
	Href, Label, About string
	// Roles may open it (the page checks again, server side).
	Roles []vault.Role
}

// securitySections are the section's sub-pages, in order. A helper that
// adds a page under /settings/security adds its line here.
var securitySections = []securitySection{
	{Href: "/settings/security/compliance", Label: "Compliance",
		About: "The HIPAA business associate agreement: review its full text, accept or decline it.",
		Roles: []vault.Role{vault.RoleOwner}},
	{Href: "/settings/security/breaches", Label: "Breach register",
		About: "Incidents, their risk assessment and who was notified when; kept at least 24 months, exported as CSV or PDF.",
		Roles: []vault.Role{vault.RoleOwner, vault.RoleAdmin, vault.RoleAuditor}},
	{Href: "/settings/security/alerts", Label: "Alerts",
		About: "What the breach-detection rules raised, with the events behind each; acknowledge, resolve, release a contained user.",
		Roles: []vault.Role{vault.RoleOwner, vault.RoleAdmin, vault.RoleAuditor}},
	{Href: "/settings/security/notifications", Label: "Notifications",
		About: "The email addresses and signed webhooks that alerts, breach entries and failed drills are sent to; deliveries and dead letters.",
		Roles: []vault.Role{vault.RoleOwner, vault.RoleAdmin, vault.RoleAuditor}},
	{Href: "/settings/mfa", Label: "Multi-factor sign-in",
		About: "Who must have a second sign-in factor, and every user's live API tokens, with revoke.",
		Roles: []vault.Role{vault.RoleOwner, vault.RoleAdmin}},
}

// securityPages adds Settings › Security & Compliance to the UI's table.
func (s *Server) securityPages(in *gin.RouterGroup) {
	in.GET("/settings/security", s.handleSecurityIndex)
	in.GET("/settings/security/compliance", s.handleCompliancePage)
	in.GET("/settings/security/compliance/:version", s.handleAgreementPage)
	in.POST("/settings/security/compliance/:version/accept", s.handleAgreementDecidePage(true))
	in.POST("/settings/security/compliance/:version/decline", s.handleAgreementDecidePage(false))
	in.GET("/settings/security/breaches", s.handleBreachesPage)
	in.POST("/settings/security/breaches", s.handleBreachCreatePage)
	in.GET("/settings/security/breaches/export", s.handleBreachExport)
	in.GET("/settings/security/breaches/:id", s.handleBreachPage)
	in.POST("/settings/security/breaches/:id", s.handleBreachUpdatePage)
}

// handleSecurityIndex answers GET /settings/security: the section's
// sub-pages the user's role may open. Owners, admins and auditors; others
// 403.
func (s *Server) handleSecurityIndex(c *gin.Context) {
	u := actorOf(c)
	if u.Role != vault.RoleOwner && u.Role != vault.RoleAdmin && u.Role != vault.RoleAuditor {
		s.renderError(c, vault.Errorf(vault.EFORBIDDEN, "Only owners, admins and auditors can open Security & Compliance."))
		return
	}
	var links []securitySection
	for _, sec := range securitySections {
		for _, r := range sec.Roles {
			if r == u.Role {
				links = append(links, sec)
				break
			}
		}
	}
	s.render(c, http.StatusOK, "security", pageData{Title: "Security & Compliance", Data: links})
}
