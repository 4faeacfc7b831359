package web

import (
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// documentPages registers the document pages of the web UI: a document's
// page, its inline view and downloads, a new version, rename, move, trash
// and restore, a matter's trash, sharing and the access explanation.
func (s *Server) documentPages(g *gin.RouterGroup) {
	g.GET("/documents/:id", s.handleDocumentShow)
	g.GET("/documents/:id/view", s.contentPage(vault.PermRead))
	g.GET("/documents/:id/download", s.contentPage(vault.PermDownload))
	g.POST("/documents/:id/versions", s.limitUploads, s.guardUpload, s.handleVersionUpload)
	g.POST("/documents/:id/rename", s.handleDocumentRenamePage)
	g.POST("/documents/:id/move", s.handleDocumentMovePage)
	g.POST("/documents/:id/trash", s.handleDocumentTrashPage)
	g.POST("/documents/:id/restore", s.handleDocumentRestorePage)
	g.GET("/matters/:id/trash", s.handleMatterTrash)
	g.POST("/documents/:id/shares", s.handleShareCreate)
	g.POST("/documents/:id/shares/:grant/revoke", s.handleShareRevoke)
	g.GET("/documents/:id/access", s.handleAccessShow)
}

// documentPage is the document page: what the service returned for the
// user, and the actions it would allow them.
type documentPage struct {
	Doc         *vault.Document
	Matter      *vault.Matter
	Name        string // the document's name, or a placeholder when it cannot be read
	MatterName  string
	Type        string // its content type in words
	Size        string
	Versions    []versionRow
	UploadedBy  string // who uploaded the current version
	CanView     bool   // read, and a type the browser can show inline
	CanDownload bool
	CanEdit     bool // edit, and the matter is open
	Closed      bool // the matter is closed: nothing changes in it
	MoveTargets []*vault.Matter
	Share       *shareForm
	Grants      []shareRow
	// AccessLink: the user is an owner or admin, whom DocumentAccess
	// answers (a walled one never gets this far).
	AccessLink bool
}

// versionRow is one line of the versions table.
type versionRow struct {
	*vault.Version
	By      string
	Size    string
	Current bool
}

// shareForm is the share form: the permissions the user may give.
type shareForm struct {
	DocumentID string
	Perms      []vault.Permission
	From       string // "access" when on the access page
}

// shareRow is one active grant on the document, with its people named.
type shareRow struct {
	*vault.Grant
	To, By    string
	Revocable bool
}

// documentNotices are the notices a page shows after a 303 (?done=…):
// fixed words, never text from the request.
var documentNotices = map[string]string{
	"renamed":   "The document is renamed.",
	"moved":     "The document is moved.",
	"trashed":   "The document is in the trash. Restore it to open it again.",
	"restored":  "The document is restored from the trash.",
	"shared":    "The document is shared.",
	"unchanged": "Your colleague already had this access; nothing changed.",
	"revoked":   "Access revoked.",
}

// handleDocumentShow answers GET /documents/{id}: the document page.
func (s *Server) handleDocumentShow(c *gin.Context) {
	s.showDocument(c, http.StatusOK, documentNotices[c.Query("done")], nil)
}

// showDocument renders the document page with status and a notice, or
// with the refusal failed of a form posted from it (its message and code
// shown above the page). An error loading the page is an error page.
func (s *Server) showDocument(c *gin.Context, status int, notice string, failed error) {
	ctx, actor, id := c.Request.Context(), actorOf(c), c.Param("id")
	d, perms, err := s.Service.DocumentPermissions(ctx, actor, id)
	if err != nil {
		s.renderError(c, err)
		return
	}
	m, err := s.Service.Matter(ctx, actor, d.MatterID)
	if err != nil {
		s.renderError(c, err)
		return
	}
	vs, err := s.Service.Versions(ctx, actor, id)
	if err != nil {
		s.renderError(c, err)
		return
	}
	p := documentPage{Doc: d, Matter: m, Name: d.Name, Closed: m.Closed,
		AccessLink: actor.Role == vault.RoleOwner || actor.Role == vault.RoleAdmin}
	if !d.Readable("name") {
		p.Name = "(name unreadable)"
	}
	p.MatterName = m.Name
	if !m.Readable("name") {
		p.MatterName = "(name unreadable)"
	}
	p.Type, p.Size = typeWords(d.ContentType), sizeWords(d.Size)
	has := func(q vault.Permission) bool { return slices.Contains(perms, q) }
	p.CanView = has(vault.PermRead) && !d.Trashed && viewable(d.ContentType)
	p.CanDownload = has(vault.PermDownload) && !d.Trashed
	p.CanEdit = has(vault.PermEdit) && !m.Closed
	if p.CanEdit && !d.Trashed {
		ms, err := s.Service.Matters(ctx, actor, false)
		if err != nil {
			s.renderError(c, err)
			return
		}
		for _, o := range ms {
			if o.ID != d.MatterID && !o.Closed {
				p.MoveTargets = append(p.MoveTargets, o)
			}
		}
	}
	if !d.Trashed {
		if p.Share, p.Grants, err = s.sharing(c, d.ID, ""); err != nil {
			s.renderError(c, err)
			return
		}
	}
	ids := []string{}
	for _, v := range vs {
		ids = append(ids, v.CreatedBy)
	}
	names, err := s.Service.Colleagues(ctx, actor, ids)
	if err != nil {
		s.renderError(c, err)
		return
	}
	for i := len(vs) - 1; i >= 0; i-- { // newest first
		v := vs[i]
		p.Versions = append(p.Versions, versionRow{Version: v, By: colleague(names, v.CreatedBy), Size: sizeWords(v.Size), Current: v.Number == d.CurrentVersion})
		if v.Number == d.CurrentVersion {
			p.UploadedBy = colleague(names, v.CreatedBy)
		}
	}
	pd := pageData{Title: p.Name, Notice: notice, Data: p}
	if p.CanEdit && !d.Trashed {
		pd.Scripts = []string{"upload.js"} // drives the new-version form
	}
	if failed != nil {
		code, message := publicError(failed)
		c.Set(ctxErrorCode, code)
		pd.Error, pd.Code = message, code
	}
	s.render(c, status, "document", pd)
}

// sharing returns the share form (nil when the user may share nothing)
// and the document's active grants that the user may see, with who may
// revoke each, as the service decides.
func (s *Server) sharing(c *gin.Context, documentID, from string) (*shareForm, []shareRow, error) {
	ctx, actor := c.Request.Context(), actorOf(c)
	perms, err := s.Service.SharePermissions(ctx, actor, documentID)
	if err != nil || len(perms) == 0 {
		return nil, nil, err
	}
	gs, err := s.Service.Grants(ctx, actor, vault.GrantFilter{DocumentID: documentID, ActiveAt: s.now()})
	if err != nil {
		return nil, nil, err
	}
	var ids []string
	for _, g := range gs {
		ids = append(ids, g.UserID, g.CreatedBy)
	}
	names, err := s.Service.Colleagues(ctx, actor, ids)
	if err != nil {
		return nil, nil, err
	}
	rows := make([]shareRow, 0, len(gs))
	for _, g := range gs {
		ok, err := s.Service.MayRevokeGrant(ctx, actor, g)
		if err != nil {
			return nil, nil, err
		}
		rows = append(rows, shareRow{Grant: g, To: colleague(names, g.UserID), By: colleague(names, g.CreatedBy), Revocable: ok})
	}
	return &shareForm{DocumentID: documentID, Perms: perms, From: from}, rows, nil
}

// colleague names a user id from Colleagues' answer, "a former
// colleague" when the firm has no such user.
func colleague(names map[string]vault.Colleague, id string) string {
	if n, ok := names[id]; ok {
		return n.Label()
	}
	return "a former colleague"
}

// viewable reports whether the browser can show a document of this type
// inline: PDF, images and text. Active types (HTML, SVG, XML, script) are
// shown as their source text, as the API's inline view serves them; any
// other type is offered as a download instead.
func viewable(ct string) bool {
	if ct == "" {
		return false
	}
	if isActive(ct) {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/pdf" || strings.HasPrefix(mt, "image/") || strings.HasPrefix(mt, "text/"))
}

// typeWords shows a content type, or says there is none.
func typeWords(ct string) string {
	if ct == "" {
		return "unknown type"
	}
	return ct
}

// sizeWords shows a size in bytes the way people read it.
func sizeWords(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " bytes"
	}
	f, suffix := float64(n), ""
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		f, suffix = f/unit, u
		if f < unit {
			break
		}
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " " + suffix
}
