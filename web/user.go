package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// handleMe answers GET /api/v1/me with the signed-in user, through the
// service like every other call (so a one-time password must be changed
// first).
func (s *Server) handleMe(c *gin.Context) {
	actor := actorOf(c)
	u, err := s.Service.User(c.Request.Context(), actor, actor.ID)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, u)
}

// passwordRequest is the body of POST /api/v1/me/password.
type passwordRequest struct {
	OldPassword string `json:"old_password"`
	NewPassword string `json:"new_password"`
}

// handlePasswordChange answers POST /api/v1/me/password.
func (s *Server) handlePasswordChange(c *gin.Context) {
	var req passwordRequest
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	if err := s.Service.ChangePassword(c.Request.Context(), actorOf(c), req.OldPassword, req.NewPassword); err != nil {
		s.Error(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// handleUserList answers GET /api/v1/users with the firm's users.
func (s *Server) handleUserList(c *gin.Context) {
	users, err := s.Service.Users(c.Request.Context(), actorOf(c))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, nonNil(users))
}

// userRequest is the body of POST /api/v1/users.
type userRequest struct {
	Email    string     `json:"email"`
	Name     string     `json:"name"`
	Role     vault.Role `json:"role"`
	Password string     `json:"password"`
}

// newUserResponse is a created user and, when the server generated it, the
// password: shown only in this response.
type newUserResponse struct {
	*vault.User
	Password string `json:"password,omitempty"`
}

// handleUserCreate answers POST /api/v1/users.
func (s *Server) handleUserCreate(c *gin.Context) {
	var req userRequest
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	u, password, err := s.Service.CreateUser(c.Request.Context(), actorOf(c), vault.NewUser{
		Email: req.Email, Name: req.Name, Role: req.Role, Password: req.Password,
	})
	if err != nil {
		s.Error(c, err)
		return
	}
	resp := newUserResponse{User: u}
	if req.Password == "" {
		resp.Password = password
	}
	writeJSON(c, http.StatusCreated, resp)
}

// handleUserGet answers GET /api/v1/users/{id}.
func (s *Server) handleUserGet(c *gin.Context) {
	u, err := s.Service.User(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, u)
}

// userUpdateRequest is the body of PATCH /api/v1/users/{id}: absent fields
// stay as they are.
type userUpdateRequest struct {
	Name     *string     `json:"name"`
	Role     *vault.Role `json:"role"`
	Disabled *bool       `json:"disabled"`
}

// handleUserUpdate answers PATCH /api/v1/users/{id}.
func (s *Server) handleUserUpdate(c *gin.Context) {
	var req userUpdateRequest
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	if req.Name == nil && req.Role == nil && req.Disabled == nil {
		s.Error(c, vault.Errorf(vault.EINVALID, "Nothing to change: give name, role or disabled."))
		return
	}
	u, err := s.Service.UpdateUser(c.Request.Context(), actorOf(c), c.Param("id"), vault.UserUpdate{
		Name: req.Name, Role: req.Role, Disabled: req.Disabled,
	})
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, u)
}

// passwordResetResponse is the user whose password was reset and the
// one-time password, shown only in this response.
type passwordResetResponse struct {
	*vault.User
	Password string `json:"password"`
}

// handlePasswordReset answers POST /api/v1/users/{id}/password-reset: the
// user gets a new one-time password, and all their sessions and API tokens
// end.
func (s *Server) handlePasswordReset(c *gin.Context) {
	u, password, err := s.Service.ResetPassword(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, passwordResetResponse{User: u, Password: password})
}
