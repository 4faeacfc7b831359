package web

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// matterPages registers the matter pages of the web UI: the list with its
// search and create form, a matter's documents, and the scripted upload
// into a matter (web/static/upload.js).
func (s *Server) matterPages(g *gin.RouterGroup) {
	g.GET("/matters", s.handleMattersPage)
	g.POST("/matters", s.handleMatterCreatePage)
	g.GET("/matters/:id", s.handleMatterPage)
	g.POST("/matters/:id/documents", s.limitUploads, s.guardUpload, s.handleMatterUpload)
}

// matterForm is what the create form shows back after a refusal.
type matterForm struct {
	Name, Client string
}

// matterListData is the matters page: what the service returned, narrowed
// by the search.
type matterListData struct {
	Matters   []*vault.Matter // those that match Q
	Total     int             // what the service returned
	Q         string
	Closed    bool // ?closed=1: closed matters too
	CanCreate bool
	Form      matterForm
}

// handleMattersPage answers GET /matters: the matters the user may see
// (vault.Service.Matters, closed ones with ?closed=1), those whose name or
// client contains ?q= when given, and the create form.
func (s *Server) handleMattersPage(c *gin.Context) {
	s.renderMatterList(c, http.StatusOK, matterForm{}, "", "")
}

// renderMatterList renders the matters page with the create form holding
// form, and the refusal message and code when the form was refused.
func (s *Server) renderMatterList(c *gin.Context, status int, form matterForm, message, code string) {
	u := actorOf(c)
	d := matterListData{
		Q:         strings.TrimSpace(c.Query("q")),
		Closed:    c.Query("closed") == "1",
		CanCreate: vault.CanCreateMatter(u.Role),
		Form:      form,
	}
	all, err := s.Service.Matters(c.Request.Context(), u, d.Closed)
	if err != nil {
		s.renderError(c, err)
		return
	}
	d.Total = len(all)
	d.Matters = matchMatters(all, d.Q)
	s.render(c, status, "matters", pageData{Title: "Matters", Error: message, Code: code, Data: d})
}

// matchMatters returns the matters whose name or client contains q, in any
// case; all of them when q is empty.
func matchMatters(ms []*vault.Matter, q string) []*vault.Matter {
	if q == "" {
		return ms
	}
	q = strings.ToLower(q)
	var out []*vault.Matter
	for _, m := range ms {
		if strings.Contains(strings.ToLower(m.Name), q) || strings.Contains(strings.ToLower(m.Client), q) {
			out = append(out, m)
		}
	}
	return out
}

// handleMatterCreatePage answers POST /matters (fields name, client):
// vault.Service.CreateMatter, then a 303 to the new matter. A refusal shows
// the list again with the form as typed and the API's message and code.
func (s *Server) handleMatterCreatePage(c *gin.Context) {
	form := matterForm{Name: c.PostForm("name"), Client: c.PostForm("client")}
	m, err := s.Service.CreateMatter(c.Request.Context(), actorOf(c), form.Name, form.Client)
	if err != nil {
		code, message := publicError(err)
		if code == vault.EINTERNAL || code == vault.ECANNOTDECRYPT || code == vault.EUNAVAILABLE {
			s.renderError(c, err)
			return
		}
		c.Set(ctxErrorCode, code)
		s.metrics.errors.WithLabelValues(code).Inc()
		s.renderMatterList(c, ErrorStatusCode(code), form, message, code)
		return
	}
	c.Redirect(http.StatusSeeOther, "/matters/"+m.ID)
}
