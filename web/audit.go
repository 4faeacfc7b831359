package web

import (
	"bufio"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// auditFilter reads the audit filters of a query string: actor_id,
// document_id (or object_type and object_id), matter_id, action, outcome,
// from and to (RFC 3339), cursor and limit.
func auditFilter(c *gin.Context) (vault.AuditFilter, error) {
	f := vault.AuditFilter{
		ActorID: c.Query("actor_id"), ObjectType: c.Query("object_type"), ObjectID: c.Query("object_id"),
		MatterID: c.Query("matter_id"), Action: c.Query("action"), Outcome: c.Query("outcome"),
	}
	if id := c.Query("document_id"); id != "" {
		f.ObjectType, f.ObjectID = "document", id
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := c.Query(t.name); v != "" {
			at, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, vault.Errorf(vault.EINVALID, "Query parameter %s must be an RFC 3339 time.", t.name)
			}
			*t.dst = at.UTC()
		}
	}
	for _, n := range []struct {
		name string
		dst  *int64
	}{{"cursor", &f.AfterSeq}} {
		if v := c.Query(n.name); v != "" {
			x, err := strconv.ParseInt(v, 10, 64)
			if err != nil || x < 0 {
				return f, vault.Errorf(vault.EINVALID, "Query parameter %s must be a non-negative integer.", n.name)
			}
			*n.dst = x
		}
	}
	if v := c.Query("limit"); v != "" {
		x, err := strconv.Atoi(v)
		if err != nil || x < 1 || x > vault.MaxAuditPage {
			return f, vault.Errorf(vault.EINVALID, "Query parameter limit must be between 1 and %d.", vault.MaxAuditPage)
		}
		f.Limit = x
	}
	switch f.Outcome {
	case "", vault.OutcomeOK, vault.OutcomeDenied, vault.OutcomeError:
	default:
		return f, vault.Errorf(vault.EINVALID, "Query parameter outcome must be ok, denied or error.")
	}
	return f, nil
}

// auditPage is the answer of the audit event listings.
type auditPage struct {
	Events     []*vault.AuditRecord `json:"events"`
	NextCursor *int64               `json:"next_cursor"` // null on the last page
}

// handleAuditEvents answers GET /api/v1/audit/events.
func (s *Server) handleAuditEvents(c *gin.Context) {
	f, err := auditFilter(c)
	if err != nil {
		s.Error(c, err)
		return
	}
	s.auditPage(c, f)
}

// handleAuditDocument answers GET /api/v1/audit/documents/{id}: the access
// history of one document.
func (s *Server) handleAuditDocument(c *gin.Context) {
	f, err := auditFilter(c)
	if err != nil {
		s.Error(c, err)
		return
	}
	f.ObjectType, f.ObjectID = "document", c.Param("id")
	s.auditPage(c, f)
}

// handleAuditUser answers GET /api/v1/audit/users/{id}: the activity of
// one user.
func (s *Server) handleAuditUser(c *gin.Context) {
	f, err := auditFilter(c)
	if err != nil {
		s.Error(c, err)
		return
	}
	f.ActorID = c.Param("id")
	if f.ActorID == "" || f.ActorID == vault.ActorOperator {
		// The operator is not a user of the firm; filter on actor_id.
		s.Error(c, vault.Errorf(vault.ENOTFOUND, "User not found."))
		return
	}
	s.auditPage(c, f)
}

func (s *Server) auditPage(c *gin.Context, f vault.AuditFilter) {
	evs, next, err := s.Service.AuditEvents(c.Request.Context(), actorOf(c), f)
	if err != nil {
		s.Error(c, err)
		return
	}
	page := auditPage{Events: evs}
	if next > 0 {
		page.NextCursor = &next
	}
	writeJSON(c, http.StatusOK, page)
}

// exportTypes are the Content-Types of the export formats.
var exportTypes = map[string]string{
	vault.AuditFormatJSONL: "application/x-ndjson",
	vault.AuditFormatCSV:   "text/csv; charset=utf-8",
	vault.AuditFormatPDF:   "application/pdf",
}

// handleAuditExport answers GET /api/v1/audit/export?format=jsonl|csv|pdf,
// streamed. An error before the first byte is a JSON error; after it the
// connection is cut, which leaves a file that `casevault audit verify`
// reports as cut short.
func (s *Server) handleAuditExport(c *gin.Context) { s.exportAudit(c, s.Error) }

// exportAudit streams the export the query asks for; fail answers an error
// found before the first byte (the API's JSON error, or a page's).
func (s *Server) exportAudit(c *gin.Context, fail func(*gin.Context, error)) {
	f, err := auditFilter(c)
	if err != nil {
		fail(c, err)
		return
	}
	format := c.DefaultQuery("format", vault.AuditFormatJSONL)
	ctype, ok := exportTypes[format]
	if !ok {
		fail(c, vault.Errorf(vault.EINVALID, "Query parameter format must be jsonl, csv or pdf."))
		return
	}
	w := &lazyHeaderWriter{c: c, ctype: ctype, name: "casevault-audit-" + time.Now().UTC().Format("20060102T150405Z") + "." + format}
	bw := bufio.NewWriterSize(w, 64<<10)
	err = s.Service.ExportAudit(c.Request.Context(), actorOf(c), format, f, bw)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		if !w.started {
			fail(c, err)
			return
		}
		s.streamFailed(c, err)
	}
}

// lazyHeaderWriter sends the export's headers with its first bytes, so an
// error found before any output is still a JSON error.
type lazyHeaderWriter struct {
	c       *gin.Context
	ctype   string
	name    string
	started bool
}

func (w *lazyHeaderWriter) Write(p []byte) (int, error) {
	if !w.started {
		w.started = true
		h := w.c.Writer.Header()
		h.Set("Content-Type", w.ctype)
		h.Set("Content-Disposition", `attachment; filename="`+w.name+`"`)
		h.Set("Cache-Control", "no-store")
		w.c.Status(http.StatusOK)
	}
	return w.c.Writer.Write(p)
}

// handleAuditCheckpoint answers GET /api/v1/audit/checkpoint.
func (s *Server) handleAuditCheckpoint(c *gin.Context) {
	cp, err := s.Service.AuditCheckpoint(c.Request.Context(), actorOf(c))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, cp)
}

// handleAuditKeys answers GET /api/v1/audit/keys.
func (s *Server) handleAuditKeys(c *gin.Context) {
	ks, err := s.Service.AuditKeys(c.Request.Context(), actorOf(c))
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, map[string]any{"keys": ks})
}

// handleAuditProof answers GET /api/v1/audit/proof?seq=N.
func (s *Server) handleAuditProof(c *gin.Context) {
	seq, err := strconv.ParseInt(c.Query("seq"), 10, 64)
	if err != nil || seq < 1 {
		s.Error(c, vault.Errorf(vault.EINVALID, "Query parameter seq must be a positive integer."))
		return
	}
	p, err := s.Service.AuditProof(c.Request.Context(), actorOf(c), seq)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, p)
}

// handleAuditConsistency answers GET /api/v1/audit/consistency?from=N&to=M.
func (s *Server) handleAuditConsistency(c *gin.Context) {
	from, err := strconv.ParseInt(c.Query("from"), 10, 64)
	if err != nil || from < 1 {
		s.Error(c, vault.Errorf(vault.EINVALID, "Query parameter from must be a positive integer."))
		return
	}
	var to int64
	if v := c.Query("to"); v != "" {
		if to, err = strconv.ParseInt(v, 10, 64); err != nil || to < from {
			s.Error(c, vault.Errorf(vault.EINVALID, "Query parameter to must be an integer at least from."))
			return
		}
	}
	p, err := s.Service.AuditConsistency(c.Request.Context(), actorOf(c), from, to)
	if err != nil {
		s.Error(c, err)
		return
	}
	writeJSON(c, http.StatusOK, p)
}
