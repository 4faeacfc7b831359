package web

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// The admin pages: the firm's users, grants and ethical walls, for owners
// and admins. Each handler calls the same vault.Service methods as the
// matching API handler (user.go, grant.go, wall.go); the service decides
// who may do what, and its refusals are shown with their message and code.

// adminPages registers the admin pages of the web UI.
func (s *Server) adminPages(g *gin.RouterGroup) {
	g.GET("/admin/users", s.handleAdminUsers)
	g.POST("/admin/users", s.handleAdminUserCreate)
	g.GET("/admin/users/:id", s.handleAdminUser)
	g.POST("/admin/users/:id/role", s.handleAdminUserRole)
	g.POST("/admin/users/:id/disable", s.handleAdminUserStatus(true))
	g.POST("/admin/users/:id/enable", s.handleAdminUserStatus(false))
	g.POST("/admin/users/:id/password-reset", s.handleAdminPasswordReset)
	g.GET("/admin/grants", s.handleAdminGrants)
	g.POST("/admin/grants/:id/revoke", s.handleAdminGrantRevoke)
	g.GET("/admin/walls", s.handleAdminWalls)
	g.GET("/admin/walls/:matter", s.handleAdminWall)
	g.POST("/admin/walls/:matter/add", s.handleAdminWallAdd)
	g.POST("/admin/walls/:matter/remove", s.handleAdminWallRemove)
	g.GET("/admin/access", s.handleAdminAccess)
}

// refuse shows a service refusal on the page it came from, with its
// message and code and the API's status: show renders that page. Internal
// errors, errors that say the page itself cannot be shown (not_found,
// unauthorized, rate_limited), and a page that cannot be shown any more,
// are error pages with the refusal instead.
func (s *Server) refuse(c *gin.Context, err error, show func(status int, message, code string) error) {
	code, message := publicError(err)
	switch code {
	case vault.EINTERNAL, vault.ECANNOTDECRYPT, vault.ENOTFOUND, vault.EUNAUTHORIZED, vault.ERATELIMITED:
		s.renderError(c, err)
		return
	}
	c.Set(ctxErrorCode, code)
	if show(ErrorStatusCode(code), message, code) != nil {
		s.renderError(c, err)
	}
}

// noStore marks an answer that carries a one-time password: no cache, no
// history copy may keep it.
func noStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
}

// handleAdminAccess answers GET /admin/access?document=ID: a redirect to
// the document's access explanation (/documents/ID/access), so an admin
// can ask about any document by its id. Only a well-formed document id is
// followed; the access page asks the service, which decides who may see
// it.
func (s *Server) handleAdminAccess(c *gin.Context) {
	id := c.Query("document")
	if !vault.ValidID(vault.PrefixDocument, id) {
		s.renderError(c, vault.Errorf(vault.ENOTFOUND, "Document not found."))
		return
	}
	c.Redirect(http.StatusSeeOther, "/documents/"+url.PathEscape(id)+"/access")
}

// assignable are the roles actor may give: an owner any, an admin all but
// owner. It only chooses what the forms offer; vault.CreateUser and
// UpdateUser decide (and refuse an admin's "owner" sent anyway).
func assignable(actor *vault.User) []vault.Role {
	if actor.Role == vault.RoleOwner {
		return []vault.Role{vault.RoleLawyer, vault.RoleAdmin, vault.RoleAuditor, vault.RoleOwner}
	}
	return []vault.Role{vault.RoleLawyer, vault.RoleAdmin, vault.RoleAuditor}
}

// people names the firm's users for a page: id → user.
type people map[string]*vault.User

// peopleOf indexes users by id.
func peopleOf(users []*vault.User) people {
	p := make(people, len(users))
	for _, u := range users {
		p[u.ID] = u
	}
	return p
}

// Label is how a page names the user id: name and email, or the id alone
// when the service did not give the user (or their fields do not open).
func (p people) Label(id string) string {
	u := p[id]
	switch {
	case id == vault.ActorOperator:
		return "the operator"
	case u == nil:
		return id
	case u.Name != "" && u.Email != "":
		return u.Name + " <" + u.Email + ">"
	case u.Email != "":
		return u.Email
	}
	return id
}

// Name is how a table names the user id: their name, else their email,
// else the id.
func (p people) Name(id string) string {
	if u := p[id]; u != nil && u.Name != "" {
		return u.Name
	}
	if u := p[id]; u != nil && u.Email != "" {
		return u.Email
	}
	return p.Label(id)
}

// Email is the user's email when the page has it and it is not already
// their Name, else "".
func (p people) Email(id string) string {
	if u := p[id]; u != nil && u.Name != "" {
		return u.Email
	}
	return ""
}
