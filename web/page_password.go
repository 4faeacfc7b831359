package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// handlePasswordShow answers GET /account/password: the form to change
// one's own password (where a user with a one-time password is sent).
func (s *Server) handlePasswordShow(c *gin.Context) {
	d := pageData{Title: "Change your password"}
	if actorOf(c).MustChangePassword {
		d.Notice = "Your password was reset. Choose a new one before you continue: type the one-time password as your current password."
	}
	if c.Query("changed") != "" {
		d.Notice = "Your password is changed. Your other sessions are signed out."
	}
	s.render(c, http.StatusOK, "password", d)
}

// handlePasswordChangePage answers POST /account/password:
// vault.Service.ChangePassword, which keeps this session and ends the
// others.
func (s *Server) handlePasswordChangePage(c *gin.Context) {
	next, confirm := c.PostForm("new_password"), c.PostForm("confirm_password")
	var err error
	if next != confirm {
		err = vault.Errorf(vault.EINVALID, "The new password and its confirmation differ.")
	} else {
		err = s.Service.ChangePassword(c.Request.Context(), actorOf(c), c.PostForm("old_password"), next)
	}
	if err != nil {
		code, message := publicError(err)
		if code == vault.EINTERNAL {
			s.renderError(c, err)
			return
		}
		c.Set(ctxErrorCode, code)
		s.render(c, ErrorStatusCode(code), "password", pageData{Title: "Change your password", Error: message, Code: code})
		return
	}
	c.Redirect(http.StatusSeeOther, "/account/password?changed=1")
}
