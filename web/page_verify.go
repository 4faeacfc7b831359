package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// verifyPages registers the verify pages of the web UI.
func (s *Server) verifyPages(g *gin.RouterGroup) {
	g.GET("/audit/verify", s.handleVerifyPage)
}

// verifyPage is what the verify page shows besides its form.
type verifyPage struct {
	Keys    string // the firm's verifier keys, one a line: the textarea's default
	Current string // the current one
}

// handleVerifyPage answers GET /audit/verify: the in-browser bundle
// verifier (static/verify*.js). The page is prefilled with the firm's
// verifier keys from vault.Service.AuditKeys, the same call (and the same
// audit.read event, the same refusals) as GET /api/v1/audit/keys; the
// bundle itself never reaches the server.
func (s *Server) handleVerifyPage(c *gin.Context) {
	ks, err := s.Service.AuditKeys(c.Request.Context(), actorOf(c))
	if err != nil {
		s.renderError(c, err)
		return
	}
	var d verifyPage
	for _, k := range ks {
		if k.Region == "service" {
			continue
		}
		if d.Keys != "" {
			d.Keys += "\n"
		}
		d.Keys += k.VerifierKey
		if k.State == vault.AuditKeyCurrent {
			d.Current = k.VerifierKey
		}
	}
	s.render(c, http.StatusOK, "verify", pageData{
		Title:   "Verify a bundle",
		Scripts: []string{"verify-format.js", "verify.js", "verify-event.js", "verify-page.js"},
		Data:    d,
	})
}
