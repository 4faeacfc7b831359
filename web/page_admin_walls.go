package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// wallsRow is one matter on the walls page and who is walled off it.
type wallsRow struct {
	*vault.Matter
	Walled []string // labels of the walled users
}

// handleAdminWalls answers GET /admin/walls: the firm's matters the actor
// is not walled off (vault.Service.Matters, closed ones too), each with
// its walls (vault.Service.Walls).
func (s *Server) handleAdminWalls(c *gin.Context) {
	ctx, actor := c.Request.Context(), actorOf(c)
	users, err := s.Service.Users(ctx, actor)
	if err != nil {
		s.renderError(c, err)
		return
	}
	matters, err := s.Service.Matters(ctx, actor, true)
	if err != nil {
		s.renderError(c, err)
		return
	}
	names := peopleOf(users)
	rows := make([]wallsRow, 0, len(matters))
	for _, m := range matters {
		ws, err := s.Service.Walls(ctx, actor, m.ID)
		if err != nil {
			s.renderError(c, err)
			return
		}
		r := wallsRow{Matter: m}
		for _, w := range ws {
			r.Walled = append(r.Walled, names.Name(w.UserID))
		}
		rows = append(rows, r)
	}
	s.render(c, http.StatusOK, "admin_walls", pageData{Title: "Ethical walls", Data: rows})
}

// wallRow is one wall on a matter's walls page.
type wallRow struct {
	*vault.Wall
	User, Email, By, Via string
}

// wallData is a matter's walls page.
type wallData struct {
	Matter     *vault.Matter
	Walls      []wallRow
	Candidates []*vault.User // users not walled off the matter, but the actor
	Documents  []*vault.Document
}

// handleAdminWall answers GET /admin/walls/:matter: who is walled off the
// matter, by whom and when (vault.Service.Walls), with forms to add and
// lift walls.
func (s *Server) handleAdminWall(c *gin.Context) {
	var d pageData
	switch c.Query("done") {
	case "added":
		d.Notice = "Wall added: the matter and its documents are gone from that user's pages."
	case "removed":
		d.Notice = "Wall lifted."
	}
	if err := s.showWall(c, http.StatusOK, d); err != nil {
		s.renderError(c, err)
	}
}

// showWall renders the walls page of matter :matter with status and d's
// notice or refusal.
func (s *Server) showWall(c *gin.Context, status int, d pageData) error {
	ctx, actor, id := c.Request.Context(), actorOf(c), c.Param("matter")
	m, err := s.Service.Matter(ctx, actor, id)
	if err != nil {
		return err
	}
	ws, err := s.Service.Walls(ctx, actor, id)
	if err != nil {
		return err
	}
	users, err := s.Service.Users(ctx, actor)
	if err != nil {
		return err
	}
	docs, err := s.Service.Documents(ctx, actor, id, false)
	if err != nil {
		return err
	}
	names, walled := peopleOf(users), map[string]bool{}
	wd := wallData{Matter: m, Documents: docs}
	for _, w := range ws {
		walled[w.UserID] = true
		r := wallRow{Wall: w, User: names.Name(w.UserID), Email: names.Email(w.UserID), By: names.Name(w.CreatedBy)}
		if w.Via != "" {
			r.Via = names.Name(w.Via)
		}
		wd.Walls = append(wd.Walls, r)
	}
	for _, u := range users {
		if !walled[u.ID] && u.ID != actor.ID {
			wd.Candidates = append(wd.Candidates, u)
		}
	}
	d.Title, d.Data = "Walls: "+m.Name, wd
	s.render(c, status, "admin_wall", d)
	return nil
}

// handleAdminWallAdd answers POST /admin/walls/:matter/add (field
// user_id): vault.Service.AddWall.
func (s *Server) handleAdminWallAdd(c *gin.Context) {
	id := c.Param("matter")
	if _, _, err := s.Service.AddWall(c.Request.Context(), actorOf(c), id, c.PostForm("user_id")); err != nil {
		s.refuse(c, err, func(status int, message, code string) error {
			return s.showWall(c, status, pageData{Error: message, Code: code})
		})
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/walls/"+id+"?done=added")
}

// handleAdminWallRemove answers POST /admin/walls/:matter/remove (field
// user_id): vault.Service.RemoveWall, whose independence refusals are
// shown on the page.
func (s *Server) handleAdminWallRemove(c *gin.Context) {
	id := c.Param("matter")
	if err := s.Service.RemoveWall(c.Request.Context(), actorOf(c), id, c.PostForm("user_id")); err != nil {
		s.refuse(c, err, func(status int, message, code string) error {
			return s.showWall(c, status, pageData{Error: message, Code: code})
		})
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/walls/"+id+"?done=removed")
}
