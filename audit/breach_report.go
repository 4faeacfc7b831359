package audit

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/casevault/casevault/vault"
)

// The breach register's exports (issue #15, item 4): a CSV of one entry a
// row, and a PDF written by the audit report's own writer (pdfWriter).

// BreachCSVHeader is the header row of WriteBreachCSV.
var BreachCSVHeader = []string{"id", "created_at", "created_by", "updated_at", "updated_by", "status", "alert_id",
	"description", "matter_ids", "user_ids", "real_risk_of_significant_harm", "risk_assessment",
	"regulator_notified_at", "clients_notified_at", "individuals_notified_at"}

func breachDate(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// WriteBreachCSV writes the register as CSV (RFC 4180): BreachCSVHeader,
// then one entry a row, lists joined by spaces, times in RFC 3339.
func WriteBreachCSV(w io.Writer, list []*vault.Breach) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(BreachCSVHeader); err != nil {
		return err
	}
	for _, b := range list {
		if err := cw.Write([]string{b.ID, b.CreatedAt.UTC().Format(time.RFC3339), b.CreatedBy, b.UpdatedAt.UTC().Format(time.RFC3339),
			b.UpdatedBy, b.Status, b.AlertID, csvSafe(b.Description), strings.Join(b.MatterIDs, " "), strings.Join(b.UserIDs, " "),
			yesNo(b.RealRisk), csvSafe(b.RiskAssessment), breachDate(b.RegulatorNotifiedAt), breachDate(b.ClientsNotifiedAt),
			breachDate(b.IndividualsNotifiedAt)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteBreachPDF writes the register as a PDF report prepared at now for
// firm (its name, or "").
func WriteBreachPDF(w io.Writer, now time.Time, firm string, list []*vault.Breach) error {
	footer := "CaseVault breach register"
	if firm != "" {
		footer += " \u2013 " + firm
	}
	pw := newPDFWriter(w, now, "CaseVault breach register", footer)
	pw.line(fontBold, 20, 0, "Breach register")
	if firm != "" {
		pw.line(fontBold, 14, 0, firm)
	}
	pw.gap(6)
	pw.para(fontBody, 10, 0, fmt.Sprintf("Prepared on %s by CaseVault: %d entries. Entries are kept at least %d months after they are made.",
		day(now), len(list), vault.BreachRetention))
	pw.gap(10)
	notified := func(t *time.Time) string {
		if t == nil {
			return "not notified"
		}
		return day(*t)
	}
	for _, b := range list {
		pw.need(120)
		pw.line(fontBold, 12, 0, fmt.Sprintf("%s (%s)", b.ID, b.Status))
		pw.para(fontBody, 9, 10, "Entered "+day(b.CreatedAt)+" by "+b.CreatedBy+"; last changed "+day(b.UpdatedAt)+" by "+b.UpdatedBy+".")
		if b.AlertID != "" {
			pw.para(fontBody, 9, 10, "From alert "+b.AlertID+".")
		}
		if b.Damaged() {
			pw.para(fontBody, 9, 10, "This entry's sealed fields cannot be decrypted.")
		}
		pw.para(fontBold, 9, 10, "Description")
		pw.para(fontBody, 9, 20, b.Description)
		pw.para(fontBold, 9, 10, "Real risk of significant harm: "+yesNo(b.RealRisk))
		if b.RiskAssessment != "" {
			pw.para(fontBody, 9, 20, b.RiskAssessment)
		}
		pw.para(fontBody, 9, 10, "Affected matters: "+idsOrNone(b.MatterIDs))
		pw.para(fontBody, 9, 10, "Affected users: "+idsOrNone(b.UserIDs))
		pw.para(fontBody, 9, 10, "Regulator: "+notified(b.RegulatorNotifiedAt)+". Clients: "+notified(b.ClientsNotifiedAt)+
			". Individuals: "+notified(b.IndividualsNotifiedAt)+".")
		pw.gap(8)
	}
	if len(list) == 0 {
		pw.para(fontBody, 10, 0, "The register holds no entries.")
	}
	return pw.close()
}

func idsOrNone(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}
