package web_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/internal/browser"
	"github.com/casevault/casevault/vault"
)

// TestUIMatters_Screenshots writes docs/ui-matters-list.png and
// docs/ui-matters-matter.png (the matter page after two uploads) when
// CASEVAULT_SCREENSHOTS is set.
func TestUIMatters_Screenshots(t *testing.T) {
	if os.Getenv("CASEVAULT_SCREENSHOTS") == "" {
		t.Skip("set CASEVAULT_SCREENSHOTS=1 to rewrite docs/ui-matters-*.png")
	}
	e := newEnv(t)
	ctx := context.Background()
	owner, email, password := e.uiUser(t, "", "")
	var first *vault.Matter
	for _, m := range [][2]string{{"Estate of Doe", "J. Doe"}, {"Harbour lease renewal", "Harbour Foods Ltd"}, {"Smith v. Jones", "Acme Corp"}, {"Northwind acquisition", "Northwind Traders"}} {
		got, err := e.Svc.CreateMatter(ctx, owner, m[0], m[1])
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = got
		}
	}
	for _, d := range []struct {
		name, ctype string
		size        int
	}{{"Will and testament (signed).pdf", "application/pdf", 412 << 10}, {"Probate application.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 58 << 10}, {"Inventory of assets.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 23 << 10}} {
		body := bytes.Repeat([]byte("x"), d.size)
		if _, err := e.Svc.PutDocument(ctx, owner, vault.NewDocument{MatterID: first.ID, Name: d.name, ContentType: d.ctype}, bytes.NewReader(body), int64(len(body))); err != nil {
			t.Fatal(err)
		}
	}
	b := browser.New(t)
	if err := chromedp.Do(b.Ctx, chromedp.EmulateViewport(1100, 700)); err != nil {
		t.Fatal(err)
	}
	base := e.Server.URL()
	uiSignIn(t, b, base, email, password)
	shot := func(name string) {
		t.Helper()
		if err := b.Screenshot(filepath.Join("..", "docs", name)); err != nil {
			t.Fatal(err)
		}
	}
	text(t, b, "#matters")
	shot("ui-matters-list.png")

	if err := chromedp.Do(b.Ctx, chromedp.Navigate(base+"/matters/"+first.ID), chromedp.WaitVisible(chromedp.ID("documents"))); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dropFiles(t, b, writeFile(t, dir, "Letter to executor.pdf", strings.Repeat("l", 96<<10)), writeFile(t, dir, "Death certificate.png", strings.Repeat("c", 1<<20)))
	waitUploads(t, b, 2, 30*time.Second)
	time.Sleep(time.Second) // the progress bars' transition to full
	shot("ui-matters-matter.png")
	noCSPViolations(t, b)
}
