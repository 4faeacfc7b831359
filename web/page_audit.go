package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// auditPages registers the audit pages of the web UI: the trail with its
// summary, a document's access history, a user's activity, the streamed
// exports and the latest signed checkpoint. The service decides who may
// read them (owners, admins and auditors), as for the API.
func (s *Server) auditPages(g *gin.RouterGroup) {
	g.GET("/audit", s.handleAuditTrailPage)
	g.GET("/audit/documents/:id", s.handleAuditDocumentPage)
	g.GET("/audit/users/:id", s.handleAuditUserPage)
	g.GET("/audit/export", s.handleAuditExportPage)
	g.GET("/audit/checkpoint", s.handleAuditCheckpointPage)
	g.GET("/audit/residency", s.handleAuditResidencyDownload)
}

// auditPageSize is how many events an audit page lists unless limit says.
const auditPageSize = 50

// auditBackMax is how many earlier cursors a page's "Previous" link keeps.
const auditBackMax = 50

// auditFilterNames are the query parameters of the audit filters that an
// export and the paging links carry over (the API's names).
var auditFilterNames = []string{"actor_id", "document_id", "object_type", "object_id", "matter_id", "action", "outcome", "from", "to"}

// auditOption is one choice of a select of the filter form.
type auditOption struct {
	Value, Label string
	Selected     bool
}

// auditRow is one event of an audit page, in words.
type auditRow struct {
	Seq      int64
	Time     time.Time
	Who      string
	UserHref string // the actor's activity page, when the actor is a user
	What     string
	DocHref  string // the document's access history, for document events
	Outcome  string
}

// auditLink is a labelled URL (paging, exports).
type auditLink struct{ Label, Href string }

// auditData is what the audit pages' template receives.
type auditData struct {
	Heading  string
	Intro    string
	Path     string            // the page's own path, the form's action
	Values   map[string]string // the filter form's values
	Fixed    string            // the filter the page fixes: "document" or "user"
	Filtered bool              // a filter of the form is set: the form starts open
	Actions  []auditOption
	Outcomes []auditOption
	Limits   []auditOption

	Summary  *vault.AuditSummary
	Rows     []auditRow
	First    string // link to the first page, when not on it
	Prev     string
	Next     string
	Exports  []auditLink
	ByAction []vault.AuditCount
	ByUser   []auditUserCount
	Docs     []auditDocCount
	Denials  []auditRow
}

type auditUserCount struct {
	vault.AuditCount
	Href string
}

type auditDocCount struct {
	vault.AuditCount
	Href string
}

// handleAuditTrailPage answers GET /audit: the firm's audit trail, with
// the API's filters and cursor.
func (s *Server) handleAuditTrailPage(c *gin.Context) {
	s.auditTrail(c, "/audit", "Audit trail", "Every sign-in, change, content read and refusal in the firm's signed audit log.", "")
}

// handleAuditDocumentPage answers GET /audit/documents/:id: a document's
// access history. A document of another firm is 404, as in the API.
func (s *Server) handleAuditDocumentPage(c *gin.Context) {
	s.auditTrail(c, "/audit/documents/"+url.PathEscape(c.Param("id")), "Access history", "", "document")
}

// handleAuditUserPage answers GET /audit/users/:id: a user's activity. A
// user of another firm, and the operator, are 404, as in the API.
func (s *Server) handleAuditUserPage(c *gin.Context) {
	s.auditTrail(c, "/audit/users/"+url.PathEscape(c.Param("id")), "User activity", "", "user")
}

// auditTrail renders an audit page: fixed is "" (the trail), "document" or
// "user" (the id in the path fixes that filter).
func (s *Server) auditTrail(c *gin.Context, path, heading, intro, fixed string) {
	d := &auditData{Heading: heading, Intro: intro, Path: path, Fixed: fixed, Values: map[string]string{}}
	for _, n := range append(auditFilterNames, "limit") {
		d.Values[n] = c.Query(n)
	}
	id := c.Param("id")
	switch fixed {
	case "document":
		d.Values["document_id"] = id
	case "user":
		d.Values["actor_id"] = id
	}
	for _, n := range auditFilterNames {
		if c.Query(n) != "" {
			d.Filtered = true
		}
	}
	d.options()
	f, err := auditFilter(c)
	if err == nil && c.Query("limit") == "" {
		f.Limit = auditPageSize
	}
	switch fixed {
	case "document":
		f.ObjectType, f.ObjectID = "document", id
	case "user":
		f.ActorID = id
		if id == vault.ActorOperator {
			err = vault.Errorf(vault.ENOTFOUND, "User not found.")
		}
	}
	if err != nil {
		s.auditFormError(c, d, err)
		return
	}
	o, err := s.Service.AuditOverview(c.Request.Context(), actorOf(c), f)
	if err != nil {
		if fixed != "" || !vault.IsCode(err, vault.EINVALID) && !vault.IsCode(err, vault.ENOTFOUND) {
			s.renderError(c, err)
			return
		}
		s.auditFormError(c, d, err)
		return
	}
	d.fill(o, c.Query("cursor"), c.Query("back"))
	switch fixed {
	case "document":
		d.Heading = "Access history of document " + id
		for _, r := range o.Events {
			if n := r.Private["name"]; n != "" {
				d.Heading = "Access history of \u201c" + n + "\u201d"
			}
		}
		d.Intro = "Uploads, new versions, views, downloads, refusals, renames, moves, trash and restore of this document."
	case "user":
		d.Heading = "Activity of user " + id
		if e := o.Summary.Email(id); e != "" && e != id {
			d.Heading = "Activity of " + e
		}
		d.Intro = "Everything this user did, as the audit log recorded it."
	}
	s.render(c, http.StatusOK, "audit", pageData{Title: d.Heading, Data: d})
}

// auditFormError re-renders the filter form with err's message and code,
// at the status the API answers.
func (s *Server) auditFormError(c *gin.Context, d *auditData, err error) {
	code, message := publicError(err)
	if code == vault.EINTERNAL {
		s.renderError(c, err)
		return
	}
	s.metrics.errors.WithLabelValues(code).Inc()
	c.Set(ctxErrorCode, code)
	s.render(c, ErrorStatusCode(code), "audit", pageData{Title: d.Heading, Error: message, Code: code, Data: d})
}

// options fills the selects of the filter form.
func (d *auditData) options() {
	d.Actions = []auditOption{{Value: "", Label: "Any action"}}
	for _, a := range vault.AuditActions() {
		d.Actions = append(d.Actions, auditOption{Value: a, Label: vault.ActionWording(a) + " (" + a + ")", Selected: a == d.Values["action"]})
	}
	for _, o := range [][2]string{{"", "Any outcome"}, {vault.OutcomeOK, "ok"}, {vault.OutcomeDenied, "denied"}, {vault.OutcomeError, "error"}} {
		d.Outcomes = append(d.Outcomes, auditOption{Value: o[0], Label: o[1], Selected: o[0] == d.Values["outcome"]})
	}
	lim := d.Values["limit"]
	if lim == "" {
		lim = strconv.Itoa(auditPageSize)
	}
	for _, n := range []string{"25", "50", "100", "500", "1000"} {
		d.Limits = append(d.Limits, auditOption{Value: n, Label: n, Selected: n == lim})
	}
}

// query returns the page's filters as a query string, with extra set.
func (d *auditData) query(extra map[string]string) string {
	q := url.Values{}
	for _, n := range auditFilterNames {
		if v := d.Values[n]; v != "" && !(n == "document_id" && d.Fixed == "document") && !(n == "actor_id" && d.Fixed == "user") {
			q.Set(n, v)
		}
	}
	for k, v := range extra {
		if v != "" {
			q.Set(k, v)
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// fill turns an overview into the page's rows, summary and links. cursor
// is this page's cursor; back lists the cursors of the pages before it.
func (d *auditData) fill(o *vault.AuditOverview, cursor, back string) {
	d.Summary = o.Summary
	for _, r := range o.Events {
		d.Rows = append(d.Rows, auditRowOf(r, o.Summary))
	}
	for _, r := range o.Summary.LatestDenials {
		d.Denials = append(d.Denials, auditRowOf(r, o.Summary))
	}
	d.ByAction = o.Summary.Actions()
	for _, u := range o.Summary.Users(10) {
		uc := auditUserCount{AuditCount: u}
		if vault.ValidID(vault.PrefixUser, u.Key) {
			uc.Href = "/audit/users/" + url.PathEscape(u.Key)
		}
		d.ByUser = append(d.ByUser, uc)
	}
	for _, doc := range o.Summary.Documents(10) {
		d.Docs = append(d.Docs, auditDocCount{AuditCount: doc, Href: "/audit/documents/" + url.PathEscape(doc.Key)})
	}
	limit := d.Values["limit"]
	var earlier []string
	for _, b := range strings.Split(back, ",") {
		if n, err := strconv.ParseInt(b, 10, 64); err == nil && n >= 0 {
			earlier = append(earlier, b)
		}
	}
	if cursor != "" && cursor != "0" {
		d.First = d.Path + d.query(map[string]string{"limit": limit})
		prev, rest := "", ""
		if len(earlier) > 0 {
			prev, rest = earlier[len(earlier)-1], strings.Join(earlier[:len(earlier)-1], ",")
		}
		if prev == "0" {
			prev = ""
		}
		d.Prev = d.Path + d.query(map[string]string{"limit": limit, "cursor": prev, "back": rest})
	}
	if o.Next > 0 {
		if cursor == "" {
			cursor = "0"
		}
		trail := append(earlier, cursor)
		if len(trail) > auditBackMax {
			trail = trail[len(trail)-auditBackMax:]
		}
		d.Next = d.Path + d.query(map[string]string{"limit": limit, "cursor": strconv.FormatInt(o.Next, 10), "back": strings.Join(trail, ",")})
	}
	extra := map[string]string{}
	switch d.Fixed {
	case "document":
		extra["document_id"] = d.Values["document_id"]
	case "user":
		extra["actor_id"] = d.Values["actor_id"]
	}
	for _, x := range [][2]string{{"csv", "Export CSV"}, {"jsonl", "Export JSONL bundle"}, {"pdf", "Export PDF report"}} {
		extra["format"] = x[0]
		d.Exports = append(d.Exports, auditLink{Label: x[1], Href: "/audit/export" + d.query(extra)})
	}
}

// auditRowOf says r in words for the page.
func auditRowOf(r *vault.AuditRecord, sum *vault.AuditSummary) auditRow {
	row := auditRow{Seq: r.Seq, Time: r.Time, Outcome: r.Outcome, What: vault.DescribeAuditEvent(r, sum.Email)}
	switch {
	case r.ActorID == vault.ActorOperator:
		row.Who = "operator (command line)"
	case r.ActorEmail != "":
		row.Who = r.ActorEmail
	case r.ActorID == "":
		row.Who = "anonymous"
	default:
		row.Who = r.ActorID
	}
	if vault.ValidID(vault.PrefixUser, r.ActorID) {
		row.UserHref = "/audit/users/" + url.PathEscape(r.ActorID)
	}
	if r.ObjectType == "document" && vault.ValidID(vault.PrefixDocument, r.ObjectID) {
		row.DocHref = "/audit/documents/" + url.PathEscape(r.ObjectID)
	}
	return row
}
