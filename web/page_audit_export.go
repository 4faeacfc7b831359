package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// handleAuditExportPage answers GET /audit/export?format=csv|jsonl|pdf
// with the API's filters: the same export as GET /api/v1/audit/export
// (Service.ExportAudit), streamed as an attachment. An error before the
// first byte is an error page; after it the connection is cut, as in the
// API.
func (s *Server) handleAuditExportPage(c *gin.Context) { s.exportAudit(c, s.renderError) }

// auditCheckpointData is the checkpoint page: the latest signed checkpoint
// and the region's verifier keys.
type auditCheckpointData struct {
	Checkpoint *vault.AuditCheckpoint
	Keys       []vault.AuditKey
	Command    string
}

// handleAuditCheckpointPage answers GET /audit/checkpoint: the latest
// signed checkpoint (Service.AuditCheckpoint), the firm's verifier keys
// (Service.AuditKeys) and the command line that checks a bundle with them.
func (s *Server) handleAuditCheckpointPage(c *gin.Context) {
	ctx, u := c.Request.Context(), actorOf(c)
	var d auditCheckpointData
	cp, err := s.Service.AuditCheckpoint(ctx, u)
	if err != nil && !vault.IsCode(err, vault.ENOTFOUND) {
		s.renderError(c, err)
		return
	}
	d.Checkpoint = cp
	if d.Keys, err = s.Service.AuditKeys(ctx, u); err != nil {
		s.renderError(c, err)
		return
	}
	d.Command = "casevault audit verify"
	for _, k := range d.Keys {
		d.Command += " --key '" + k.VerifierKey + "'"
	}
	d.Command += " casevault-audit-<time>.jsonl"
	s.render(c, http.StatusOK, "audit_checkpoint", pageData{Title: "Signed checkpoint", Data: d})
}
