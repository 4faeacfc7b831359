package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// SecurityTxt is what GET /.well-known/security.txt serves (RFC 9116).
type SecurityTxt struct {
	// Contact lists the URIs to report to, most preferred first; at least
	// one (RFC 9116 §2.5.3).
	Contact []string
	// Expires is when the file stops being valid; zero means ExpiresIn
	// after each request.
	Expires   time.Time
	ExpiresIn time.Duration
	// Policy, Canonical: URLs, "" for none. Languages: tags, none for none.
	Policy    string
	Canonical string
	Languages []string
}

// text renders the file at now, in RFC 9116's field order of §2.5.
func (t *SecurityTxt) text(now time.Time) string {
	var b strings.Builder
	b.WriteString("# Security contact for this CaseVault service (RFC 9116). How to report: see Policy.\n")
	for _, c := range t.Contact {
		b.WriteString("Contact: " + c + "\n")
	}
	exp := t.Expires
	if exp.IsZero() {
		exp = now.Add(t.ExpiresIn).Truncate(24 * time.Hour)
	}
	b.WriteString("Expires: " + exp.UTC().Format(time.RFC3339) + "\n")
	if len(t.Languages) > 0 {
		b.WriteString("Preferred-Languages: " + strings.Join(t.Languages, ", ") + "\n")
	}
	if t.Policy != "" {
		b.WriteString("Policy: " + t.Policy + "\n")
	}
	if t.Canonical != "" {
		b.WriteString("Canonical: " + t.Canonical + "\n")
	}
	return b.String()
}

// handleSecurityTxt answers GET /.well-known/security.txt: 404 when the
// server has no contact to give.
func (s *Server) handleSecurityTxt(c *gin.Context) {
	t := s.SecurityTxt
	if t == nil || len(t.Contact) == 0 {
		s.handleNoRoute(c)
		return
	}
	c.Header("Cache-Control", "max-age=3600")
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(t.text(s.Service.Now())))
}
