package web

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// documentResponse is a document as the API shows it: its metadata plus the
// region its ciphertext lives in.
type documentResponse struct {
	*vault.Document
	Region string `json:"region"`
}

// regionOf returns the region of the actor's firm.
func (s *Server) regionOf(ctx context.Context, actor *vault.User) (string, error) {
	t, err := s.Service.Tenant(ctx, actor.TenantID)
	if err != nil {
		return "", err
	}
	return t.Region, nil
}

// writeDocument answers with one document and its region.
func (s *Server) writeDocument(c *gin.Context, status int, d *vault.Document) {
	region, err := s.regionOf(c.Request.Context(), actorOf(c))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, status, documentResponse{Document: d, Region: region})
}

// handleDocumentCreate answers POST /api/v1/matters/{id}/documents: the
// body (raw, or the "file" part of a multipart form) streams into the
// vault's encrypter. When anything fails, including the client going away
// mid-upload, the vault leaves no document and no blob; the answer is then
// best-effort, since the client may be gone.
func (s *Server) handleDocumentCreate(c *gin.Context) {
	up, err := s.openUpload(c)
	if err != nil {
		s.Error(c, err)
		return
	}
	d, err := s.Service.PutDocument(c.Request.Context(), actorOf(c), vault.NewDocument{
		MatterID: c.Param("id"), Name: up.Name, ContentType: up.ContentType,
	}, up.Body, up.Size)
	if err != nil {
		s.Error(c, err)
		return
	}
	s.writeDocument(c, http.StatusCreated, d)
}

// handleVersionCreate answers PUT /api/v1/documents/{id}/content: the body,
// raw or multipart as for an upload, becomes the document's next version.
// A raw body without Content-Type keeps the current content type.
func (s *Server) handleVersionCreate(c *gin.Context) {
	up, err := s.openUpload(c)
	if err != nil {
		s.Error(c, err)
		return
	}
	d, err := s.Service.PutVersion(c.Request.Context(), actorOf(c), c.Param("id"), up.ContentType, up.Body, up.Size)
	if err != nil {
		s.Error(c, err)
		return
	}
	s.writeDocument(c, http.StatusOK, d)
}

// handleDocumentList answers GET /api/v1/matters/{id}/documents; trashed
// documents are included with ?trashed=true.
func (s *Server) handleDocumentList(c *gin.Context) {
	trashed, err := boolQuery(c, "trashed")
	if err != nil {
		s.Error(c, err)
		return
	}
	actor := actorOf(c)
	docs, err := s.Service.Documents(c.Request.Context(), actor, c.Param("id"), trashed)
	if err != nil {
		s.Error(c, err)
		return
	}
	region, err := s.regionOf(c.Request.Context(), actor)
	if err != nil {
		s.Error(c, err)
		return
	}
	out := make([]documentResponse, len(docs))
	for i, d := range docs {
		out[i] = documentResponse{Document: d, Region: region}
	}
	writeJSON(c, http.StatusOK, out)
}

// documentDetail is the answer of GET /api/v1/documents/{id}: the document
// plus what the caller may do with it, so a UI can offer only those actions.
type documentDetail struct {
	documentResponse
	Permissions []vault.Permission `json:"permissions"`
}

// handleDocumentGet answers GET /api/v1/documents/{id} with the document and
// the caller's permissions on it.
func (s *Server) handleDocumentGet(c *gin.Context) {
	ctx, actor, id := c.Request.Context(), actorOf(c), c.Param("id")
	d, perms, err := s.Service.DocumentPermissions(ctx, actor, id)
	if err != nil {
		s.Error(c, err)
		return
	}
	region, err := s.regionOf(ctx, actor)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, documentDetail{
		documentResponse: documentResponse{Document: d, Region: region},
		Permissions:      nonNil(perms),
	})
}

// handleVersionList answers GET /api/v1/documents/{id}/versions, oldest
// first.
func (s *Server) handleVersionList(c *gin.Context) {
	vs, err := s.Service.Versions(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, nonNil(vs))
}

// documentUpdateRequest is the body of PATCH /api/v1/documents/{id}: a new
// name, a new matter, or both.
type documentUpdateRequest struct {
	Name     *string `json:"name"`
	MatterID *string `json:"matter_id"`
}

// handleDocumentUpdate answers PATCH /api/v1/documents/{id}: rename and/or
// move to another matter of the firm. With both, the target matter is
// checked, then the document renamed, then moved.
func (s *Server) handleDocumentUpdate(c *gin.Context) {
	var req documentUpdateRequest
	if err := decodeJSON(c, &req); err != nil {
		s.Error(c, err)
		return
	}
	if req.Name == nil && req.MatterID == nil {
		s.Error(c, vault.Errorf(vault.EINVALID, "Nothing to change: give name, matter_id or both."))
		return
	}
	d, err := s.Service.UpdateDocument(c.Request.Context(), actorOf(c), c.Param("id"), vault.DocumentUpdate{Name: req.Name, MatterID: req.MatterID})
	if err != nil {
		s.Error(c, err)
		return
	}
	s.writeDocument(c, http.StatusOK, d)
}

// handleDocumentTrash answers DELETE /api/v1/documents/{id}: the document
// moves to the trash (restorable) and is returned.
func (s *Server) handleDocumentTrash(c *gin.Context) {
	d, err := s.Service.TrashDocument(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.Error(c, err)
		return
	}
	s.writeDocument(c, http.StatusOK, d)
}

// handleDocumentRestore answers POST /api/v1/documents/{id}/restore.
func (s *Server) handleDocumentRestore(c *gin.Context) {
	d, err := s.Service.RestoreDocument(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.Error(c, err)
		return
	}
	s.writeDocument(c, http.StatusOK, d)
}
