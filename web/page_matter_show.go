package web

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// documentsPerPage is how many documents a matter page lists.
const documentsPerPage = 50

// docRow is one document of a matter page, formatted for the table.
type docRow struct {
	ID      string
	Name    string // "" when it cannot be decrypted
	Type    string // the content type as stored
	Kind    string // and in words, for the common ones
	Size    string
	Bytes   int64
	Version int
	Updated string
	ISO     string // Updated as RFC 3339, for <time datetime>
	By      string
}

// sortColumn is a sortable column heading: a link that sorts by it, the
// other way round when it is the current one.
type sortColumn struct {
	Label, Href string
	Sort        string // "ascending", "descending" or "" (aria-sort)
}

// pageLink is one link of the pager; Gap stands for the pages left out.
type pageLink struct {
	N       int
	Href    string
	Current bool
	Gap     bool
}

// matterPageData is the matter page.
type matterPageData struct {
	Matter          *vault.Matter
	Rows            []docRow
	Total, From, To int
	Columns         []sortColumn
	Pages           []pageLink
	Prev, Next      string
	CanUpload       bool
}

// sortKeys are the orders of the matter page (?sort=), each ascending.
var sortKeys = map[string]func(a, b *vault.Document) int{
	"name": func(a, b *vault.Document) int { return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) },
	"type": func(a, b *vault.Document) int { return cmp.Compare(a.ContentType, b.ContentType) },
	"size": func(a, b *vault.Document) int { return cmp.Compare(a.Size, b.Size) },
	"updated": func(a, b *vault.Document) int {
		return a.UpdatedAt.Compare(b.UpdatedAt)
	},
}

// handleMatterPage answers GET /matters/:id: the matter
// (vault.Service.Matter: 404 for another firm's or an unknown one, 403
// behind a wall, as the API) and the documents the user may see
// (vault.Service.Documents), sorted by ?sort=name|type|size|updated and
// ?dir=asc|desc, 50 a page (?page=).
func (s *Server) handleMatterPage(c *gin.Context) {
	ctx, u, id := c.Request.Context(), actorOf(c), c.Param("id")
	m, err := s.Service.Matter(ctx, u, id)
	if err != nil {
		s.renderError(c, err)
		return
	}
	docs, err := s.Service.Documents(ctx, u, id, false)
	if err != nil {
		s.renderError(c, err)
		return
	}
	key, dir := c.Query("sort"), c.Query("dir")
	if sortKeys[key] == nil {
		key = "name"
	}
	if dir != "desc" {
		dir = "asc"
	}
	sortDocuments(docs, key, dir)

	d := matterPageData{Matter: m, Total: len(docs), CanUpload: vault.CanUpload(u.Role) && !m.Closed}
	pages := max(1, (len(docs)+documentsPerPage-1)/documentsPerPage)
	page, _ := strconv.Atoi(c.Query("page"))
	page = min(max(page, 1), pages)
	lo, hi := (page-1)*documentsPerPage, min(page*documentsPerPage, len(docs))
	if len(docs) > 0 {
		d.From, d.To = lo+1, hi
	}
	ids := make([]string, 0, hi-lo)
	for _, doc := range docs[lo:hi] {
		ids = append(ids, doc.CreatedBy)
	}
	names, err := s.Service.Colleagues(c.Request.Context(), u, ids)
	if err != nil {
		s.renderError(c, err)
		return
	}
	for _, doc := range docs[lo:hi] {
		row := docRow{
			ID: doc.ID, Name: doc.Name, Type: doc.ContentType, Kind: kindOf(doc.ContentType), Size: humanSize(doc.Size), Bytes: doc.Size,
			Version: doc.CurrentVersion, Updated: doc.UpdatedAt.UTC().Format("2 Jan 2006 15:04"),
			ISO: doc.UpdatedAt.UTC().Format(time.RFC3339),
		}
		if doc.CreatedBy == u.ID {
			row.By = "You"
		} else {
			row.By = colleague(names, doc.CreatedBy)
		}
		d.Rows = append(d.Rows, row)
	}
	base := "/matters/" + m.ID
	link := func(key, dir string, page int) string {
		v := url.Values{"sort": {key}, "dir": {dir}}
		if page > 1 {
			v.Set("page", strconv.Itoa(page))
		}
		return base + "?" + v.Encode()
	}
	for _, col := range []struct{ key, label string }{{"name", "Name"}, {"type", "Type"}, {"size", "Size"}, {"updated", "Updated"}} {
		sc := sortColumn{Label: col.label, Href: link(col.key, "asc", 1)}
		if col.key == key {
			sc.Sort = "ascending"
			if dir == "desc" {
				sc.Sort = "descending"
			} else {
				sc.Href = link(col.key, "desc", 1)
			}
		}
		d.Columns = append(d.Columns, sc)
	}
	if pages > 1 {
		d.Pages = pager(page, pages, func(n int) string { return link(key, dir, n) })
		if page > 1 {
			d.Prev = link(key, dir, page-1)
		}
		if page < pages {
			d.Next = link(key, dir, page+1)
		}
	}
	s.render(c, http.StatusOK, "matter", pageData{Title: m.Name, Scripts: []string{"upload.js"}, Data: d})
}

// sortDocuments sorts docs by key and dir, ties broken by name then id so
// that pages never overlap.
func sortDocuments(docs []*vault.Document, key, dir string) {
	by := sortKeys[key]
	slices.SortStableFunc(docs, func(a, b *vault.Document) int {
		r := by(a, b)
		if r == 0 && key != "name" {
			r = sortKeys["name"](a, b)
		}
		if r == 0 {
			r = cmp.Compare(a.ID, b.ID)
		}
		if dir == "desc" {
			r = -r
		}
		return r
	})
}

// pager returns the links to the first and last pages and to the two on
// each side of the current one, with gaps between.
func pager(page, pages int, href func(int) string) []pageLink {
	var out []pageLink
	for n := 1; n <= pages; n++ {
		if n != 1 && n != pages && (n < page-2 || n > page+2) {
			if len(out) > 0 && !out[len(out)-1].Gap {
				out = append(out, pageLink{Gap: true})
			}
			continue
		}
		out = append(out, pageLink{N: n, Href: href(n), Current: n == page})
	}
	return out
}

// humanSize writes n bytes for people: 812 B, 14.2 KiB, 3.0 MiB.
func humanSize(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	f, unit := float64(n)/1024, 0
	for f >= 1024 && unit < 3 {
		f, unit = f/1024, unit+1
	}
	return fmt.Sprintf("%.1f %s", f, []string{"KiB", "MiB", "GiB", "TiB"}[unit])
}

// kinds names the content types people meet most, in words.
var kinds = map[string]string{
	"application/pdf":    "PDF",
	"application/msword": "Word document",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word document",
	"application/vnd.ms-excel": "Excel spreadsheet",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         "Excel spreadsheet",
	"application/vnd.ms-powerpoint":                                             "PowerPoint",
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint",
	"application/zip":          "ZIP archive",
	"application/octet-stream": "Binary file",
	"message/rfc822":           "Email",
	"text/plain":               "Plain text",
	"text/markdown":            "Markdown",
	"text/csv":                 "CSV",
	"image/png":                "PNG image",
	"image/jpeg":               "JPEG image",
	"image/gif":                "GIF image",
	"image/tiff":               "TIFF image",
	"video/mp4":                "MP4 video",
	"audio/mpeg":               "MP3 audio",
}

// kindOf returns the content type ctype in words when it is a common one
// (parameters dropped), else ctype itself.
func kindOf(ctype string) string {
	base, _, _ := strings.Cut(ctype, ";")
	if k, ok := kinds[strings.ToLower(strings.TrimSpace(base))]; ok {
		return k
	}
	return ctype
}
