package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// grantRow is one grant on the grants page, with the names the service
// gives this actor: a document's name only when vault.Service.Documents
// lists the document to the actor, a matter's when vault.Service.Matters
// does; otherwise the grant's ids alone, as the API shows them.
type grantRow struct {
	*vault.Grant
	Status       string
	DocumentName string
	MatterName   string // the grant's matter, or the document's
	DocMatterID  string // the matter of a document the actor may see
}

// grantsData is the grants page: its filters, their choices, and the rows.
type grantsData struct {
	Rows        []grantRow
	Users       []*vault.User
	People      people
	Matters     []*vault.Matter
	Permissions []vault.Permission
	Statuses    []string
	Filter      struct{ UserID, MatterID, DocumentID, Permission, Status string }
}

// handleAdminGrants answers GET /admin/grants: vault.Service.Grants with
// the API's filters (?user_id=, ?matter_id=, ?document_id=, ?status=),
// and ?permission= keeping the grants that list it.
func (s *Server) handleAdminGrants(c *gin.Context) {
	var d pageData
	if c.Query("revoked") != "" {
		d.Notice = "Grant revoked. It stays on record."
	}
	if err := s.showGrants(c, http.StatusOK, d); err != nil {
		s.renderError(c, err)
	}
}

// showGrants renders the grants page with status and d's notice or
// refusal.
func (s *Server) showGrants(c *gin.Context, status int, d pageData) error {
	ctx, actor := c.Request.Context(), actorOf(c)
	var gd grantsData
	gd.Filter.UserID, gd.Filter.MatterID, gd.Filter.DocumentID = c.Query("user_id"), c.Query("matter_id"), c.Query("document_id")
	gd.Filter.Permission, gd.Filter.Status = c.Query("permission"), c.Query("status")
	gd.Permissions = []vault.Permission{vault.PermRead, vault.PermDownload, vault.PermEdit}
	gd.Statuses = []string{vault.GrantActive, vault.GrantExpired, vault.GrantRevoked}
	if gd.Filter.Status != "" && !grantStatuses[gd.Filter.Status] {
		return vault.Errorf(vault.EINVALID, "Query parameter status must be active, expired or revoked.")
	}
	if p := vault.Permission(gd.Filter.Permission); p != "" && !p.Valid() {
		return vault.Errorf(vault.EINVALID, "Query parameter permission must be read, download or edit.")
	}
	// Users first: only owners and admins may list them, so the page is
	// refused to every other role before anything else is read.
	users, err := s.Service.Users(ctx, actor)
	if err != nil {
		return err
	}
	gs, err := s.Service.Grants(ctx, actor, vault.GrantFilter{
		UserID: gd.Filter.UserID, MatterID: gd.Filter.MatterID, DocumentID: gd.Filter.DocumentID,
	})
	if err != nil {
		return err
	}
	matters, err := s.Service.Matters(ctx, actor, true)
	if err != nil {
		return err
	}
	docs, err := s.Service.Documents(ctx, actor, "", true)
	if err != nil {
		return err
	}
	gd.Users, gd.Matters, gd.People = users, matters, peopleOf(users)
	matterNames, docOf := map[string]string{}, map[string]*vault.Document{}
	for _, m := range matters {
		matterNames[m.ID] = m.Name
	}
	for _, doc := range docs {
		docOf[doc.ID] = doc
	}
	now := s.now()
	for _, g := range gs {
		r := grantRow{Grant: g, Status: g.Status(now), MatterName: matterNames[g.MatterID]}
		if gd.Filter.Status != "" && r.Status != gd.Filter.Status {
			continue
		}
		if p := vault.Permission(gd.Filter.Permission); p != "" && !g.Has(p) {
			continue
		}
		if doc := docOf[g.DocumentID]; doc != nil {
			r.DocumentName, r.DocMatterID, r.MatterName = doc.Name, doc.MatterID, matterNames[doc.MatterID]
		}
		gd.Rows = append(gd.Rows, r)
	}
	d.Title, d.Data = "Grants", gd
	s.render(c, status, "admin_grants", d)
	return nil
}

// handleAdminGrantRevoke answers POST /admin/grants/:id/revoke:
// vault.Service.RevokeGrant, then back to the grants page.
func (s *Server) handleAdminGrantRevoke(c *gin.Context) {
	if _, err := s.Service.RevokeGrant(c.Request.Context(), actorOf(c), c.Param("id")); err != nil {
		s.refuse(c, err, func(status int, message, code string) error {
			return s.showGrants(c, status, pageData{Error: message, Code: code})
		})
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/grants?revoked=1")
}
