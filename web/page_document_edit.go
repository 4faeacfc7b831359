package web

import (
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// afterEdit answers a form that changed a document: 303 to to, or, when
// the service refused, the page the form was on again, with the refusal's
// message and code and the API's status.
func (s *Server) afterEdit(c *gin.Context, err error, to string, again func(status int, err error)) {
	if err == nil {
		c.Redirect(http.StatusSeeOther, to)
		return
	}
	code, _ := publicError(err)
	if code == vault.EINTERNAL || code == vault.ECANNOTDECRYPT || code == vault.EUNAVAILABLE {
		s.renderError(c, err)
		return
	}
	again(ErrorStatusCode(code), err)
}

// documentAgain re-renders the document page with a refusal.
func (s *Server) documentAgain(c *gin.Context) func(int, error) {
	return func(status int, err error) { s.showDocument(c, status, "", err) }
}

// handleDocumentRenamePage answers POST /documents/{id}/rename (field
// name): vault.Service.RenameDocument.
func (s *Server) handleDocumentRenamePage(c *gin.Context) {
	id := c.Param("id")
	_, err := s.Service.RenameDocument(c.Request.Context(), actorOf(c), id, c.PostForm("name"))
	s.afterEdit(c, err, "/documents/"+id+"?done=renamed", s.documentAgain(c))
}

// handleDocumentMovePage answers POST /documents/{id}/move (field
// matter_id): vault.Service.MoveDocument.
func (s *Server) handleDocumentMovePage(c *gin.Context) {
	id, to := c.Param("id"), c.PostForm("matter_id")
	var err error
	if to == "" {
		err = vault.Errorf(vault.EINVALID, "Choose the matter to move the document to.")
	} else {
		_, err = s.Service.MoveDocument(c.Request.Context(), actorOf(c), id, to)
	}
	s.afterEdit(c, err, "/documents/"+id+"?done=moved", s.documentAgain(c))
}

// handleDocumentTrashPage answers POST /documents/{id}/trash:
// vault.Service.TrashDocument.
func (s *Server) handleDocumentTrashPage(c *gin.Context) {
	id := c.Param("id")
	_, err := s.Service.TrashDocument(c.Request.Context(), actorOf(c), id)
	s.afterEdit(c, err, "/documents/"+id+"?done=trashed", s.documentAgain(c))
}

// handleDocumentRestorePage answers POST /documents/{id}/restore:
// vault.Service.RestoreDocument. From the trash page (field from=trash) it
// returns there; otherwise to the document page.
func (s *Server) handleDocumentRestorePage(c *gin.Context) {
	id, fromTrash := c.Param("id"), c.PostForm("from") == "trash"
	d, err := s.Service.RestoreDocument(c.Request.Context(), actorOf(c), id)
	to, again := "/documents/"+id+"?done=restored", s.documentAgain(c)
	if fromTrash {
		if d != nil {
			to = "/matters/" + d.MatterID + "/trash?done=restored"
		}
		matterID := c.PostForm("matter_id")
		again = func(status int, err error) { s.showTrash(c, matterID, status, "", err) }
	}
	s.afterEdit(c, err, to, again)
}

// trashPage is a matter's trash: its trashed documents the user may see.
type trashPage struct {
	Matter *vault.Matter
	Docs   []trashRow
}

// trashRow is one trashed document and whether the user may restore it.
type trashRow struct {
	*vault.Document
	Name       string
	CanRestore bool
}

// handleMatterTrash answers GET /matters/{id}/trash.
func (s *Server) handleMatterTrash(c *gin.Context) {
	notice := ""
	if c.Query("done") == "restored" {
		notice = documentNotices["restored"]
	}
	s.showTrash(c, c.Param("id"), http.StatusOK, notice, nil)
}

// showTrash renders a matter's trash: vault.Service.Documents with the
// trashed ones, keeping only those; each offers Restore when the user
// holds edit on it and the matter is open.
func (s *Server) showTrash(c *gin.Context, matterID string, status int, notice string, failed error) {
	ctx, actor := c.Request.Context(), actorOf(c)
	m, err := s.Service.Matter(ctx, actor, matterID)
	if err != nil {
		s.renderError(c, err)
		return
	}
	docs, err := s.Service.Documents(ctx, actor, m.ID, true)
	if err != nil {
		s.renderError(c, err)
		return
	}
	p := trashPage{Matter: m}
	for _, d := range docs {
		if !d.Trashed {
			continue
		}
		row := trashRow{Document: d, Name: d.Name}
		if !d.Readable("name") {
			row.Name = "(name unreadable)"
		}
		if !m.Closed {
			if _, perms, err := s.Service.DocumentPermissions(ctx, actor, d.ID); err == nil {
				row.CanRestore = slices.Contains(perms, vault.PermEdit)
			}
		}
		p.Docs = append(p.Docs, row)
	}
	title := "Trash"
	if m.Readable("name") {
		title = "Trash · " + m.Name
	}
	pd := pageData{Title: title, Notice: notice, Data: p}
	if failed != nil {
		code, message := publicError(failed)
		c.Set(ctxErrorCode, code)
		pd.Error, pd.Code = message, code
	}
	s.render(c, status, "document_trash", pd)
}
