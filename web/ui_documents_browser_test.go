package web_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/internal/browser"
	"github.com/casevault/casevault/vault"
)

// richDocFirm is a docFirm whose document has two versions, a grant, a
// matter grant and a walled colleague, for pages worth looking at.
func richDocFirm(tb testing.TB) *docFirm {
	tb.Helper()
	f := newDocFirm(tb, "Last will and testament – J. Doe.txt")
	ctx := context.Background()
	v2 := []byte("Amended: clause 4 struck out.\n")
	if _, err := f.e.Svc.PutVersion(ctx, f.lawyer, f.doc.ID, "text/plain; charset=utf-8", bytes.NewReader(v2), int64(len(v2))); err != nil {
		tb.Fatal(err)
	}
	exp := f.e.Clock.Now().Add(30 * 24 * time.Hour)
	if _, _, err := f.e.Svc.CreateGrant(ctx, f.lawyer, vault.NewGrant{Email: f.colleague.Email, DocumentID: f.doc.ID, Permissions: []vault.Permission{vault.PermRead, vault.PermDownload}, ExpiresAt: &exp}); err != nil {
		tb.Fatal(err)
	}
	walled := f.e.mustLawyer(tb, f)
	for u, name := range map[*vault.User]string{f.lawyer: "Lena Marsh", f.colleague: "Colin Reyes", walled: "Walter Price"} {
		if _, err := f.e.Svc.UpdateUser(ctx, f.owner, u.ID, vault.UserUpdate{Name: &name}); err != nil {
			tb.Fatal(err)
		}
	}
	if _, _, err := f.e.Svc.CreateGrant(ctx, f.owner, vault.NewGrant{UserID: walled.ID, MatterID: f.matter.ID, Permissions: []vault.Permission{vault.PermRead}}); err != nil {
		tb.Fatal(err)
	}
	if _, _, err := f.e.Svc.AddWall(ctx, f.owner, f.matter.ID, walled.ID); err != nil {
		tb.Fatal(err)
	}
	return f
}

// TestUIDocuments_Accessible opens the document, trash and access pages
// in Chromium on a phone-sized screen: every field labelled, nothing
// scrolls sideways, no CSP violation.
func TestUIDocuments_Accessible(t *testing.T) {
	f := richDocFirm(t)
	b := browser.New(t)
	if err := chromedp.Do(b.Ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	check := func(path, wait string) {
		t.Helper()
		if err := chromedp.Do(b.Ctx, chromedp.Navigate(f.base+path), chromedp.WaitVisible(chromedp.CSS(wait))); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if got, err := chromedp.Run(b.Ctx, chromedp.Evaluate[[]string](unlabelled)); err != nil || len(got) != 0 {
			t.Errorf("%s: fields without a label %q (%v), want none", path, got, err)
		}
		if got, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](overflows)); err != nil || got {
			t.Errorf("%s: wider than a 390px phone (%v)", path, err)
		}
	}
	uiSignIn(t, b, f.base, f.lawyer.Email, f.pw[f.lawyer.Email])
	check("/documents/"+f.doc.ID, "#doc-name")
	check("/matters/"+f.matter.ID+"/trash", "#empty-trash")
	uiSignIn(t, b, f.base, f.owner.Email, f.pw[f.owner.Email])
	check("/documents/"+f.doc.ID+"/access", "#access")
	noCSPViolations(t, b)
}

// TestUIDocuments_Screenshots writes docs/ui-documents-document.png and
// docs/ui-documents-access.png when CASEVAULT_SCREENSHOTS is set.
func TestUIDocuments_Screenshots(t *testing.T) {
	if os.Getenv("CASEVAULT_SCREENSHOTS") == "" {
		t.Skip("set CASEVAULT_SCREENSHOTS=1 to rewrite docs/ui-documents-*.png")
	}
	f := richDocFirm(t)
	b := browser.New(t)
	if err := chromedp.Do(b.Ctx, chromedp.EmulateViewport(1100, 700)); err != nil {
		t.Fatal(err)
	}
	shot := func(path, wait, name string) {
		t.Helper()
		if err := chromedp.Do(b.Ctx, chromedp.Navigate(f.base+path), chromedp.WaitVisible(chromedp.CSS(wait))); err != nil {
			t.Fatal(err)
		}
		png, err := chromedp.Run(b.Ctx, chromedp.CaptureScreenshot())
		if err == nil {
			err = os.WriteFile(filepath.Join("..", "docs", name), png, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	uiSignIn(t, b, f.base, f.lawyer.Email, f.pw[f.lawyer.Email])
	shot("/documents/"+f.doc.ID, "#doc-name", "ui-documents-document.png")
	uiSignIn(t, b, f.base, f.owner.Email, f.pw[f.owner.Email])
	shot("/documents/"+f.doc.ID+"/access", "#access", "ui-documents-access.png")
	noCSPViolations(t, b)
}
