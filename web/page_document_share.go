package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// handleShareCreate answers POST /documents/{id}/shares (fields email,
// perm (repeated: read, download, edit), expires (optional date, the last
// day of access, UTC), from): vault.Service.CreateGrant with the colleague
// named by email within the user's firm. The vault resolves the email;
// for a lawyer every address it cannot grant to (unknown, another firm's,
// an auditor, a disabled or walled colleague) gets the same answer.
func (s *Server) handleShareCreate(c *gin.Context) {
	id, back, again := c.Param("id"), "/documents/"+c.Param("id"), s.documentAgain(c)
	if c.PostForm("from") == "access" {
		back, again = back+"/access", s.accessAgain(c)
	}
	ng := vault.NewGrant{DocumentID: id, Email: strings.TrimSpace(c.PostForm("email"))}
	for _, p := range c.PostFormArray("perm") {
		ng.Permissions = append(ng.Permissions, vault.Permission(p))
	}
	var err error
	switch day := strings.TrimSpace(c.PostForm("expires")); {
	case ng.Email == "":
		err = vault.Errorf(vault.EINVALID, "Enter your colleague's email.")
	case len(ng.Permissions) == 0:
		err = vault.Errorf(vault.EINVALID, "Choose what your colleague may do: read, download or edit.")
	case day != "":
		t, perr := time.Parse(time.DateOnly, day)
		if perr != nil {
			err = vault.Errorf(vault.EINVALID, "The expiry must be a date, like 2026-12-31.")
			break
		}
		end := t.Add(24 * time.Hour) // access ends when that day does
		ng.ExpiresAt = &end
	}
	created := false
	if err == nil {
		_, created, err = s.Service.CreateGrant(c.Request.Context(), actorOf(c), ng)
	}
	done := "?done=shared"
	if !created {
		done = "?done=unchanged"
	}
	s.afterEdit(c, err, back+done, again)
}

// handleShareRevoke answers POST /documents/{id}/shares/{grant}/revoke:
// vault.Service.RevokeGrant, for a grant on this document.
func (s *Server) handleShareRevoke(c *gin.Context) {
	id, back, again := c.Param("id"), "/documents/"+c.Param("id"), s.documentAgain(c)
	if c.PostForm("from") == "access" {
		back, again = back+"/access", s.accessAgain(c)
	}
	ctx, actor := c.Request.Context(), actorOf(c)
	gs, err := s.Service.Grants(ctx, actor, vault.GrantFilter{DocumentID: id})
	if err == nil {
		err = vault.Errorf(vault.ENOTFOUND, "Grant not found.")
		for _, g := range gs {
			if g.ID == c.Param("grant") {
				_, err = s.Service.RevokeGrant(ctx, actor, g.ID)
			}
		}
	}
	s.afterEdit(c, err, back+"?done=revoked", again)
}

// accessPage is "who has access and why" for one document.
type accessPage struct {
	Report *vault.AccessReport
	Matter *vault.Matter
	Name   string // the document's name, only for a user who may see it
	People []accessRow
	Share  *shareForm
}

// accessRow is one person of the report, in words.
type accessRow struct {
	vault.UserAccess
	Label   string
	Reasons []reasonRow
	Blocked string // why their grounds give nothing, "" when they do not
}

// reasonRow is one ground of a person's access, in words.
type reasonRow struct {
	vault.AccessReason
	Words     string
	Revocable bool
}

// handleAccessShow answers GET /documents/{id}/access:
// vault.Service.DocumentAccess (owners and admins not walled off the
// matter), in words.
func (s *Server) handleAccessShow(c *gin.Context) {
	s.showAccess(c, http.StatusOK, documentNotices[c.Query("done")], nil)
}

// accessAgain re-renders the access page with a refusal.
func (s *Server) accessAgain(c *gin.Context) func(int, error) {
	return func(status int, err error) { s.showAccess(c, status, "", err) }
}

// showAccess renders the access page.
func (s *Server) showAccess(c *gin.Context, status int, notice string, failed error) {
	ctx, actor, id := c.Request.Context(), actorOf(c), c.Param("id")
	rep, err := s.Service.DocumentAccess(ctx, actor, id)
	if err != nil {
		s.renderError(c, err)
		return
	}
	m, err := s.Service.Matter(ctx, actor, rep.MatterID)
	if err != nil {
		s.renderError(c, err)
		return
	}
	p := accessPage{Report: rep, Matter: m}
	var ids []string
	for _, ua := range rep.Users {
		ids = append(ids, ua.UserID)
		for _, r := range ua.Reasons {
			ids = append(ids, r.GrantedBy)
		}
		if ua.Wall != nil {
			ids = append(ids, ua.Wall.CreatedBy)
		}
		// Only a user the report says may see the document is shown its
		// name (asking the service otherwise would be a refused read).
		if ua.UserID == actor.ID && len(ua.Permissions) > 0 {
			if d, _, err := s.Service.DocumentPermissions(ctx, actor, id); err == nil && d.Readable("name") {
				p.Name = d.Name
			}
		}
	}
	names, err := s.Service.Colleagues(ctx, actor, ids)
	if err != nil {
		s.renderError(c, err)
		return
	}
	for _, ua := range rep.Users {
		row := accessRow{UserAccess: ua, Label: colleague(names, ua.UserID)}
		switch ua.BlockedBy {
		case "wall":
			row.Blocked = "Walled off this matter"
			if ua.Wall != nil {
				row.Blocked += " by " + colleague(names, ua.Wall.CreatedBy) + " on " + ua.Wall.CreatedAt.UTC().Format("2 Jan 2006")
			}
			row.Blocked += ": the wall overrides every ground below."
		case "disabled":
			row.Blocked = "The account is disabled: its grounds give nothing."
		case "auditor":
			row.Blocked = "Auditors never see document contents: their grounds give nothing."
		}
		for _, r := range ua.Reasons {
			rr := reasonRow{AccessReason: r, Words: reasonWords(r, names)}
			if r.GrantID != "" && r.Kind == vault.ReasonDocumentGrant {
				g := &vault.Grant{ID: r.GrantID, DocumentID: id, CreatedBy: r.GrantedBy}
				if rr.Revocable, err = s.Service.MayRevokeGrant(ctx, actor, g); err != nil {
					s.renderError(c, err)
					return
				}
			}
			row.Reasons = append(row.Reasons, rr)
		}
		p.People = append(p.People, row)
	}
	if p.Share, _, err = s.sharing(c, id, "access"); err != nil {
		s.renderError(c, err)
		return
	}
	pd := pageData{Title: "Who has access", Notice: notice, Data: p}
	if failed != nil {
		code, message := publicError(failed)
		c.Set(ctxErrorCode, code)
		pd.Error, pd.Code = message, code
	}
	s.render(c, status, "document_access", pd)
}

// reasonWords says one ground of access in a sentence.
func reasonWords(r vault.AccessReason, names map[string]vault.Colleague) string {
	var w string
	switch r.Kind {
	case vault.ReasonUploader:
		return "Uploaded the document: holds every permission on it."
	case vault.ReasonDocumentGrant:
		w = "Granted " + permWords(r.Permissions) + " on this document by " + colleague(names, r.GrantedBy)
	case vault.ReasonMatterGrant:
		w = "Granted " + permWords(r.Permissions) + " on the whole matter by " + colleague(names, r.GrantedBy)
	default:
		w = "Granted " + permWords(r.Permissions)
	}
	if r.ExpiresAt != nil {
		return w + ", until " + r.ExpiresAt.UTC().Format("2 Jan 2006 15:04 UTC") + "."
	}
	return w + ", with no expiry."
}

// permWords says a list of permissions in words: "read, download and edit".
func permWords(ps []vault.Permission) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	switch len(s) {
	case 0:
		return "nothing"
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
