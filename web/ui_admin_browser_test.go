package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/internal/browser"
	"github.com/casevault/casevault/vault"
)

// TestUIAdmin_Browser walks the admin pages in Chromium as an admin:
// creates a user on the users page and reads the one-time password, opens
// the grants page, walls a lawyer off a matter on its walls page. No page
// shows a CSP violation.
func TestUIAdmin_Browser(t *testing.T) {
	e := newEnv(t)
	owner, _, _ := e.uiUser(t, "", "")
	_, email, password := e.uiUser(t, owner.TenantID, vault.RoleAdmin)
	lawyer, _, _ := e.uiUser(t, owner.TenantID, vault.RoleLawyer)
	m, err := e.Svc.CreateMatter(context.Background(), owner, "Harbour lease "+adminHostile, "Harbour Foods Ltd")
	if err != nil {
		t.Fatal(err)
	}
	b := browser.New(t)
	base := e.Server.URL()
	uiSignIn(t, b, base, email, password)

	err = chromedp.Do(b.Ctx,
		chromedp.Navigate(base+"/admin/users"),
		chromedp.WaitVisible(chromedp.ID("new-email")),
		chromedp.SendKeys(chromedp.ID("new-email"), "ada@hale.example"),
		chromedp.SendKeys(chromedp.ID("new-name"), "Ada "+adminHostile),
		chromedp.SetValue(chromedp.ID("new-role"), "auditor"),
	)
	if err == nil {
		err = b.ClickAndLoad("#create-user")
	}
	if err != nil {
		t.Fatal(err)
	}
	pw := text(t, b, "#one-time-password")
	if len(pw) < 12 {
		t.Fatalf("one-time password %q, want a long one", pw)
	}
	if got := text(t, b, "main h1"); got != "Ada "+adminHostile {
		t.Errorf("new user's page: h1 %q, want the name as text", got)
	}
	if strings.Contains(location(t, b), pw) {
		t.Error("the one-time password is in the URL")
	}
	if err := chromedp.Do(b.Ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
		t.Fatal(err)
	}
	if body := text(t, b, "main"); strings.Contains(body, pw) {
		t.Error("reloaded page shows the one-time password")
	}

	for _, path := range []string{"/admin/grants", "/admin/walls"} {
		if err := chromedp.Do(b.Ctx, chromedp.Navigate(base+path), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.ClickAndLoad(`a[href="/admin/walls/` + m.ID + `"]`); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(b.Ctx, chromedp.SetValue(chromedp.ID("wall-user"), lawyer.ID)); err != nil {
		t.Fatal(err)
	}
	if err := b.ClickAndLoad("#add-wall"); err != nil {
		t.Fatal(err)
	}
	if got := text(t, b, "#wall-list"); !strings.Contains(got, lawyer.Email) {
		t.Errorf("walls after adding: %q, want the lawyer", got)
	}
	if got := text(t, b, "main h1"); !strings.Contains(got, "Harbour lease "+adminHostile) {
		t.Errorf("walls page h1 %q", got)
	}
	noCSPViolations(t, b)
}

// TestUIAdmin_Screenshots writes docs/ui-admin-users.png and
// docs/ui-admin-walls.png when CASEVAULT_SCREENSHOTS is set.
func TestUIAdmin_Screenshots(t *testing.T) {
	if os.Getenv("CASEVAULT_SCREENSHOTS") == "" {
		t.Skip("set CASEVAULT_SCREENSHOTS=1 to rewrite docs/ui-admin-*.png")
	}
	e := newEnv(t)
	ctx := context.Background()
	owner, email, password := e.uiUser(t, "", "")
	var lawyers []*vault.User
	for _, n := range []struct {
		email, name string
		role        vault.Role
	}{
		{"ada@hale.example", "Ada Lovelace", vault.RoleAdmin},
		{"ben@hale.example", "Ben Okafor", vault.RoleLawyer},
		{"chloe@hale.example", "Chloé Martin", vault.RoleLawyer},
		{"dev@hale.example", "Dev Patel", vault.RoleAuditor},
	} {
		u, _, err := e.Svc.CreateUser(ctx, owner, vault.NewUser{Email: n.email, Name: n.name, Role: n.role})
		if err != nil {
			t.Fatal(err)
		}
		if n.role == vault.RoleLawyer {
			lawyers = append(lawyers, u)
		}
	}
	m, err := e.Svc.CreateMatter(ctx, owner, "Harbour lease renewal", "Harbour Foods Ltd")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Svc.CreateMatter(ctx, owner, "Estate of Doe", "J. Doe"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Svc.AddWall(ctx, owner, m.ID, lawyers[0].ID); err != nil {
		t.Fatal(err)
	}
	b := browser.New(t)
	if err := chromedp.Do(b.Ctx, chromedp.EmulateViewport(1100, 700)); err != nil {
		t.Fatal(err)
	}
	base := e.Server.URL()
	uiSignIn(t, b, base, email, password)
	for _, s := range []struct{ path, file string }{
		{"/admin/users", "ui-admin-users.png"},
		{"/admin/walls/" + m.ID, "ui-admin-walls.png"},
	} {
		if err := chromedp.Do(b.Ctx, chromedp.Navigate(base+s.path), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
			t.Fatal(err)
		}
		if err := b.Screenshot(filepath.Join("..", "docs", s.file)); err != nil {
			t.Fatal(err)
		}
	}
	noCSPViolations(t, b)
}
