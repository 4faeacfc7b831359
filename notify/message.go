package notify

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/casevault/casevault/vault"
)

// Payload is the JSON body of a webhook delivery (docs/WEBHOOKS.md): the
// notice's ids and a link, never a name or content.
type Payload struct {
	ID       string    `json:"id"` // the delivery id, as in CaseVault-Delivery
	NoticeID string    `json:"notice_id"`
	Kind     string    `json:"kind"`
	TenantID string    `json:"tenant_id"`
	ObjectID string    `json:"object_id"`
	Seq      int64     `json:"seq"`
	Rule     string    `json:"rule,omitempty"`
	Severity string    `json:"severity,omitempty"`
	Time     time.Time `json:"time"`
	URL      string    `json:"url"`
	Test     bool      `json:"test"`
}

// link joins a notice's UI path to the public URL.
func (w *Worker) link(path string) string {
	if path != "" && !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return strings.TrimSuffix(w.opts.PublicURL, "/") + path
}

// payload is the webhook body of d.
func (w *Worker) payload(d *vault.Delivery) []byte {
	n := d.Notice
	b, _ := json.Marshal(Payload{ID: d.ID, NoticeID: d.NoticeID, Kind: n.Kind, TenantID: d.TenantID, ObjectID: n.ObjectID,
		Seq: n.Seq, Rule: n.Rule, Severity: n.Severity, Time: n.Time.UTC(), URL: w.link(n.Path), Test: n.Kind == vault.NoticeTest})
	return b
}

// kindTitles are the subjects' words for each kind of notice.
var kindTitles = map[string]string{
	vault.NoticeAlertRaised:   "Alert raised",
	vault.NoticeBreachCreated: "Breach register: new entry",
	vault.NoticeBreachUpdated: "Breach register: entry changed",
	vault.NoticeDrillFailed:   "Backup drill failed or backup late",
	vault.NoticeContainment:   "User contained",
	vault.NoticeTest:          "Test notification",
}

// subject is an email's subject: fixed words, the rule id and severity.
func subject(n vault.Notice) string {
	title, ok := kindTitles[n.Kind]
	if !ok {
		title = "Notice " + n.Kind
	}
	s := "[CaseVault] " + title
	if n.Rule != "" {
		s += ": " + n.Rule
	}
	if n.Severity != "" {
		s += " (" + n.Severity + ")"
	}
	return s
}

// body is an email's text: the notice's ids and its link, nothing else.
func (w *Worker) body(d *vault.Delivery) string {
	n := d.Notice
	var b strings.Builder
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-10s %s\n", k+":", v)
		}
	}
	title := kindTitles[n.Kind]
	if title == "" {
		title = n.Kind
	}
	b.WriteString("CaseVault: " + title + "\n\n")
	line("Kind", n.Kind)
	line("Firm", d.TenantID)
	line("Object", n.ObjectID)
	line("Rule", n.Rule)
	line("Severity", n.Severity)
	if n.Seq > 0 {
		line("Audit seq", strconv.FormatInt(n.Seq, 10))
	}
	line("Time", n.Time.UTC().Format(time.RFC3339))
	line("Open", w.link(n.Path))
	b.WriteString("\n")
	line("Notice", d.NoticeID)
	line("Delivery", d.ID)
	b.WriteString("\nThis message carries ids and a link only. Sign in to CaseVault to see what happened.\n")
	return b.String()
}
