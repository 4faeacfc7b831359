package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// usersData is the users page: the firm's users (filtered), the roles the
// actor may give, and the create form's values after a refusal.
type usersData struct {
	Users      []*vault.User
	Total      int
	Role       string // the role filter, "" for all
	Status     string // "active", "disabled" or ""
	Roles      []vault.Role
	Assignable []vault.Role
	Form       struct{ Email, Name, Role string }
}

// userStatuses are the values of ?status= on GET /admin/users.
var userStatuses = map[string]bool{"": true, "active": true, "disabled": true}

// handleAdminUsers answers GET /admin/users: vault.Service.Users, filtered
// by ?role= and ?status=.
func (s *Server) handleAdminUsers(c *gin.Context) {
	if err := s.showUsers(c, http.StatusOK, pageData{}); err != nil {
		s.renderError(c, err)
	}
}

// showUsers renders the users page with status, the page's notice or
// refusal in d, and the create form's values (after a refusal) from the
// request.
func (s *Server) showUsers(c *gin.Context, status int, d pageData) error {
	actor := actorOf(c)
	users, err := s.Service.Users(c.Request.Context(), actor)
	if err != nil {
		return err
	}
	ud := usersData{Total: len(users), Role: c.Query("role"), Status: c.Query("status"),
		Roles: []vault.Role{vault.RoleOwner, vault.RoleAdmin, vault.RoleLawyer, vault.RoleAuditor}, Assignable: assignable(actor)}
	if ud.Role != "" && !vault.Role(ud.Role).Valid() {
		return vault.Errorf(vault.EINVALID, "Role %q is not one of owner, admin, lawyer, auditor.", ud.Role)
	}
	if !userStatuses[ud.Status] {
		return vault.Errorf(vault.EINVALID, "Status must be active or disabled.")
	}
	for _, u := range users {
		if (ud.Role == "" || string(u.Role) == ud.Role) &&
			(ud.Status == "" || u.Disabled == (ud.Status == "disabled")) {
			ud.Users = append(ud.Users, u)
		}
	}
	if c.Request.Method == http.MethodPost {
		ud.Form.Email, ud.Form.Name, ud.Form.Role = c.PostForm("email"), c.PostForm("name"), c.PostForm("role")
	}
	d.Title, d.Data = "Users", ud
	s.render(c, status, "admin_users", d)
	return nil
}

// handleAdminUserCreate answers POST /admin/users: vault.Service.CreateUser
// with a generated one-time password (the user must change it at the first
// sign-in), shown once on the answer (which no cache keeps), on the new
// user's page.
func (s *Server) handleAdminUserCreate(c *gin.Context) {
	u, password, err := s.Service.CreateUser(c.Request.Context(), actorOf(c), vault.NewUser{
		Email: c.PostForm("email"), Name: c.PostForm("name"), Role: vault.Role(c.PostForm("role")),
		OneTime: true,
	})
	if err != nil {
		s.refuse(c, err, func(status int, message, code string) error {
			return s.showUsers(c, status, pageData{Error: message, Code: code})
		})
		return
	}
	noStore(c)
	if err := s.showUser(c, http.StatusCreated, u.ID, userView{OneTime: password, Created: true}); err != nil {
		s.renderError(c, err)
	}
}

// userView is what the user page shows beyond the user: a one-time
// password just made (shown only in this answer) and a refusal.
type userView struct {
	OneTime string
	Created bool
	Notice  string
	Error   string
	Code    string
}

// userData is the user page.
type userData struct {
	U          *vault.User
	People     people
	Assignable []vault.Role
	Self       bool
	OneTime    string
	Created    bool
}

// handleAdminUser answers GET /admin/users/:id: vault.Service.User, with
// the firm's users (vault.Service.Users, which only owners and admins
// may list) to name who created the account.
func (s *Server) handleAdminUser(c *gin.Context) {
	v := userView{}
	switch c.Query("done") {
	case "role":
		v.Notice = "Role changed."
	case "disabled":
		v.Notice = "Account disabled: its sessions and API tokens are revoked."
	case "enabled":
		v.Notice = "Account enabled."
	}
	if err := s.showUser(c, http.StatusOK, c.Param("id"), v); err != nil {
		s.renderError(c, err)
	}
}

// showUser renders the page of user id with status.
func (s *Server) showUser(c *gin.Context, status int, id string, v userView) error {
	actor := actorOf(c)
	u, err := s.Service.User(c.Request.Context(), actor, id)
	if err != nil {
		return err
	}
	users, err := s.Service.Users(c.Request.Context(), actor)
	if err != nil {
		return err
	}
	d := userData{U: u, People: peopleOf(users), Assignable: assignable(actor), Self: u.ID == actor.ID,
		OneTime: v.OneTime, Created: v.Created}
	title := u.Email
	if title == "" {
		title = "User"
	}
	s.render(c, status, "admin_user", pageData{Title: title, Notice: v.Notice, Error: v.Error, Code: v.Code, Data: d})
	return nil
}

// updateUser applies up to user :id with vault.Service.UpdateUser and
// sends the browser back to the user's page with done, or shows the
// refusal there.
func (s *Server) updateUser(c *gin.Context, up vault.UserUpdate, done string) {
	id := c.Param("id")
	if _, err := s.Service.UpdateUser(c.Request.Context(), actorOf(c), id, up); err != nil {
		s.refuse(c, err, func(status int, message, code string) error {
			return s.showUser(c, status, id, userView{Error: message, Code: code})
		})
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/users/"+id+"?done="+done)
}

// handleAdminUserRole answers POST /admin/users/:id/role (field role).
func (s *Server) handleAdminUserRole(c *gin.Context) {
	role := vault.Role(c.PostForm("role"))
	s.updateUser(c, vault.UserUpdate{Role: &role}, "role")
}

// handleAdminUserStatus answers POST /admin/users/:id/disable and
// /enable.
func (s *Server) handleAdminUserStatus(disable bool) gin.HandlerFunc {
	done := "enabled"
	if disable {
		done = "disabled"
	}
	return func(c *gin.Context) {
		s.updateUser(c, vault.UserUpdate{Disabled: &disable}, done)
	}
}

// handleAdminPasswordReset answers POST /admin/users/:id/password-reset:
// vault.Service.ResetPassword, whose one-time password is shown once, in
// this answer only.
func (s *Server) handleAdminPasswordReset(c *gin.Context) {
	id := c.Param("id")
	_, password, err := s.Service.ResetPassword(c.Request.Context(), actorOf(c), id)
	if err != nil {
		s.refuse(c, err, func(status int, message, code string) error {
			return s.showUser(c, status, id, userView{Error: message, Code: code})
		})
		return
	}
	noStore(c)
	v := userView{OneTime: password, Notice: "Password reset: the user's sessions and API tokens are revoked."}
	if err := s.showUser(c, http.StatusOK, id, v); err != nil {
		s.renderError(c, err)
	}
}
