package web_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/internal/browser"
)

// TestUI_Screenshots writes the README's screenshots of the UI to docs/
// when CASEVAULT_SCREENSHOTS is set (they are committed; a normal test run
// leaves the repository alone).
func TestUI_Screenshots(t *testing.T) {
	if os.Getenv("CASEVAULT_SCREENSHOTS") == "" {
		t.Skip("set CASEVAULT_SCREENSHOTS=1 to rewrite docs/ui-*.png")
	}
	e := newEnv(t)
	owner, email, password := e.uiUser(t, "", "")
	for _, m := range [][2]string{{"Estate of Doe", "J. Doe"}, {"Harbour lease renewal", "Harbour Foods Ltd"}} {
		if _, err := e.Svc.CreateMatter(context.Background(), owner, m[0], m[1]); err != nil {
			t.Fatal(err)
		}
	}
	b := browser.New(t)
	if err := chromedp.Do(b.Ctx, chromedp.EmulateViewport(1100, 640)); err != nil {
		t.Fatal(err)
	}
	base := e.Server.URL()
	shot := func(name string) {
		t.Helper()
		if err := b.Screenshot(filepath.Join("..", "docs", name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(base+"/signin"), chromedp.WaitVisible(chromedp.ID("email"))); err != nil {
		t.Fatal(err)
	}
	shot("ui-signin.png")
	uiSignIn(t, b, base, email, password)
	noCSPViolations(t, b)
}
