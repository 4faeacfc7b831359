package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// The web UI: server-rendered pages at /, beside the JSON API under
// /api/v1, calling the same vault.Service methods. Templates and static
// assets are embedded; every asset URL carries a hash of its content, so
// assets are cached for a year and a new build never serves a stale one.

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// uiCSP is the Content-Security-Policy of every UI page: scripts, styles,
// fonts and fetches from this origin only, no inline script or style and
// no eval, forms post only here, and no framing. Images may be data: URLs,
// which the vendored CSS uses for its icons.
const uiCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// staticMaxAge is how long browsers keep an asset: its URL changes with
// its content.
const staticMaxAge = 365 * 24 * time.Hour

// ui holds the parsed pages and the asset table.
type ui struct {
	pages  map[string]*template.Template
	assets map[string]string // file name under static/ → its hashed URL
	files  map[string]string // hashed URL → file name under static/
}

// newUI parses every page with the layout and hashes every asset.
func newUI() *ui {
	u := &ui{pages: map[string]*template.Template{}, assets: map[string]string{}, files: map[string]string{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		name := strings.TrimPrefix(p, "static/")
		url := "/static/" + hex.EncodeToString(sum[:6]) + "/" + name
		u.assets[name], u.files[url] = url, name
		return nil
	})
	if err != nil {
		panic(err)
	}
	funcs := template.FuncMap{
		"asset": func(name string) string {
			if url, ok := u.assets[name]; ok {
				return url
			}
			panic("web: no asset " + name)
		},
		"date": func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") },
	}
	// Every page is the layout, the partials (*.partial.html: pieces
	// several pages share) and its own file.
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/*.partial.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" || strings.HasSuffix(base, ".partial.html") {
			continue
		}
		t := template.Must(template.Must(layout.Clone()).ParseFS(templateFS, n))
		u.pages[strings.TrimSuffix(base, ".html")] = t
	}
	return u
}

// navItem is one link of the navigation bar.
type navItem struct {
	Href, Label string
	Current     bool
}

// pageData is what every page's template receives: the layout's parts and
// the page's own Data.
type pageData struct {
	Title   string
	User    *vault.User
	Firm    string
	CSRF    string
	Nav     []navItem
	Notice  string
	Error   string // a failure's human message
	Code    string // and its API error code
	Version string
	// Scripts are the static/ files of the page's scripts, loaded with
	// defer after the layout's own.
	Scripts []string
	Data    any
}

// uiHeaders sets the security headers of every UI page (on top of
// secureHeaders, which every response carries).
func uiHeaders(c *gin.Context) {
	setUIHeaders(c)
	c.Next()
}

// setUIHeaders marks the request as a page's and sets the UI's headers;
// also for the error pages of unknown paths, which no route's middleware
// reaches.
func setUIHeaders(c *gin.Context) {
	c.Set(ctxPage, true)
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", uiCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// render writes page with status, filling in the layout's user, firm,
// navigation and CSRF token from the request.
func (s *Server) render(c *gin.Context, status int, page string, d pageData) {
	t, ok := s.ui.pages[page]
	if !ok {
		panic("web: no page " + page)
	}
	if u := actorOf(c); u != nil {
		d.User = u
		d.Nav = navFor(u, c.Request.URL.Path)
		if t, err := s.Service.Tenant(c.Request.Context(), u.TenantID); err == nil {
			d.Firm = t.Name
		}
	}
	if d.CSRF == "" {
		d.CSRF = csrfOf(c)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", d); err != nil {
		withFirm(s.Log.Error(), c).Err(err).Str("request_id", requestID(c)).Str("page", page).Msg("cannot render page")
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte(msgInternal))
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// renderError shows err as a human error page with its API code and the
// status the API would answer. Causes of internal errors are logged, never
// shown.
func (s *Server) renderError(c *gin.Context, err error) {
	code, message := publicError(err)
	if code == vault.EINTERNAL || code == vault.ECANNOTDECRYPT {
		withFirm(s.Log.Error(), c).Err(err).Str("request_id", requestID(c)).Str("code", code).Str("route", routeOf(c)).Msg("page failed")
	}
	s.metrics.errors.WithLabelValues(code).Inc()
	c.Set(ctxErrorCode, code)
	if d := vault.RetryAfter(err); code == vault.ERATELIMITED && d > 0 {
		c.Header("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
	}
	s.render(c, ErrorStatusCode(code), "error", pageData{Title: "Error", Error: message, Code: code})
	c.Abort()
}

// navFor is the navigation bar of u's role: only what the service lets the
// role do.
func navFor(u *vault.User, current string) []navItem {
	var items []navItem
	switch u.Role {
	case vault.RoleOwner, vault.RoleAdmin:
		items = []navItem{
			{Href: "/matters", Label: "Matters"},
			{Href: "/admin/users", Label: "Users"},
			{Href: "/admin/grants", Label: "Grants"},
			{Href: "/admin/walls", Label: "Walls"},
			{Href: "/audit", Label: "Audit"},
		}
	case vault.RoleAuditor:
		items = []navItem{
			{Href: "/audit", Label: "Audit trail"},
			{Href: "/audit/checkpoint", Label: "Checkpoint"},
			{Href: "/audit/verify", Label: "Verify a bundle"},
		}
	default:
		items = []navItem{{Href: "/matters", Label: "Matters"}}
	}
	if u.Role == vault.RoleOwner || u.Role == vault.RoleAuditor {
		items = append(items, navItem{Href: "/durability", Label: "Durability"})
	}
	if u.Role == vault.RoleOwner || u.Role == vault.RoleAdmin || u.Role == vault.RoleAuditor {
		items = append(items, navItem{Href: "/settings/security", Label: "Security"})
	}
	items = append(items, navItem{Href: "/account/password", Label: "Password"})
	items = append(items, navItem{Href: "/account/security", Label: "Sign-in security"})
	for i := range items {
		items[i].Current = items[i].Href == current ||
			(items[i].Href != "/audit" && strings.HasPrefix(current, items[i].Href+"/"))
	}
	return items
}

// handleStatic answers GET /static/{hash}/{file}: an embedded asset whose
// URL matches its content, cached for a year.
func (s *Server) handleStatic(c *gin.Context) {
	name, ok := s.ui.files[c.Request.URL.Path]
	if !ok {
		c.Data(http.StatusNotFound, "text/plain; charset=utf-8", []byte("Not found.\n"))
		return
	}
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil {
		s.renderError(c, err)
		return
	}
	ctype := "application/octet-stream"
	switch path.Ext(name) {
	case ".css":
		ctype = "text/css; charset=utf-8"
	case ".js":
		ctype = "text/javascript; charset=utf-8"
	case ".svg":
		ctype = "image/svg+xml"
	case ".md", "":
		ctype = "text/plain; charset=utf-8"
	}
	c.Header("Cache-Control", "public, max-age="+strconv.FormatInt(int64(staticMaxAge/time.Second), 10)+", immutable")
	c.Data(http.StatusOK, ctype, b)
}

// uiPrefixes are the path prefixes of the web UI's pages; the JSON API
// lives under /api/v1 and never under these.
var uiPrefixes = []string{"/static/", "/matters", "/documents/", "/trash", "/admin/", "/audit", "/account/", "/settings/", "/signin/"}

// IsUIRoute reports whether a registered path is a page of the web UI
// (HTML, described in docs/API.md) rather than an endpoint of the JSON API.
func IsUIRoute(path string) bool {
	switch path {
	case "/", "/setup", "/signin", "/signout", "/durability":
		return true
	}
	for _, p := range uiPrefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}
