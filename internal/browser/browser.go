// Package browser starts headless Chromium for the web UI's tests and
// collects what its console says, so that a test can assert that no page
// broke its Content-Security-Policy.
package browser

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// cspProbe runs in every document before its own scripts (the DevTools
// protocol injects it, so the page's CSP does not apply to it) and reports
// each securitypolicyviolation event on the console, where Browser reads it.
const cspProbe = `document.addEventListener('securitypolicyviolation', function (e) {
  console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' in ' + e.documentURI);
});`

// Browser is one headless Chromium with one tab, and the console messages
// of every page the tab opened.
type Browser struct {
	// Ctx is the tab's chromedp context: pass it to chromedp.Do and Run.
	Ctx context.Context

	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

// Path returns the Chromium executable, or "" when none is installed.
func Path() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New starts Chromium headless with a fresh profile under tb.TempDir();
// tb.Cleanup stops it. Without Chromium the test is skipped, or fails when
// the CI environment variable is set (make test installs Debian's chromium).
func New(tb testing.TB) *Browser {
	tb.Helper()
	exe := Path()
	if exe == "" {
		if os.Getenv("CI") != "" {
			tb.Fatal("chromium is not installed (make debs installs it)")
		}
		tb.Skip("chromium is not installed (make debs installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	b := &Browser{Ctx: ctx}
	tb.Cleanup(func() { cancelTab(); cancelAlloc() })

	err := chromedp.Do(ctx, chromedp.Action[chromedp.Void](func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspProbe})
		return chromedp.Void{}, err
	}))
	if err != nil {
		tb.Fatalf("start chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.msgs = append(b.msgs, m)
			b.mu.Unlock()
		}
	}()
	return b
}

// Messages returns the console messages seen so far, after giving the
// browser a moment to deliver the last ones.
func (b *Browser) Messages() []chromedp.ConsoleMessage {
	time.Sleep(200 * time.Millisecond)
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), b.msgs...)
}

// CSPViolations returns the console messages that report a
// Content-Security-Policy violation: those of the probe, and the browser's
// own "Refused to …" errors.
func (b *Browser) CSPViolations() []string {
	var out []string
	for _, m := range b.Messages() {
		if strings.Contains(m.Text, "CSP violation") || strings.Contains(m.Text, "Content Security Policy") {
			out = append(out, m.String())
		}
	}
	return out
}

// Errors returns every console message of type error or exception.
func (b *Browser) Errors() []string {
	var out []string
	for _, m := range b.Messages() {
		if m.Type == chromedp.ConsoleError || m.IsException() {
			out = append(out, m.String())
		}
	}
	return out
}

// ClickAndLoad clicks the element sel (a form's submit button, a link) and
// waits until the page it leads to has loaded.
func (b *Browser) ClickAndLoad(sel string) error {
	return b.DoAndLoad(chromedp.Click(chromedp.CSS(sel)))
}

// SignIn signs in on base's sign-in page (fields #email and #password,
// button #signin) and waits until the page it leads to has loaded.
func (b *Browser) SignIn(base, email, password string) error {
	err := chromedp.Do(b.Ctx,
		chromedp.Navigate(base+"/signin"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
	)
	if err != nil {
		return err
	}
	return b.ClickAndLoad("#signin")
}

// DropFiles drops the files at paths on the page's upload form
// (form[data-upload]) the way a person's drag arrives. Headless Chromium
// cannot drag from the desktop, so the files are set on an auxiliary file
// input (DOM.setFileInputFiles), their File objects put in a DataTransfer,
// and dragenter, dragover and drop DragEvents carrying it dispatched on the
// form: the page's script sees what a real drop gives it,
// e.dataTransfer.files, and the browser streams each File from disk.
func (b *Browser) DropFiles(paths ...string) error {
	_, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](`(() => {
  const src = document.createElement('input');
  src.type = 'file'; src.multiple = true; src.id = 'test-drop-src'; src.hidden = true;
  document.body.appendChild(src);
  return true;
})()`))
	if err == nil {
		err = chromedp.Do(b.Ctx, chromedp.SetUploadFiles(chromedp.ID("test-drop-src"), paths))
	}
	if err == nil {
		_, err = chromedp.Run(b.Ctx, chromedp.Evaluate[int](`(() => {
  const src = document.getElementById('test-drop-src');
  const dt = new DataTransfer();
  for (const f of src.files) dt.items.add(f);
  const form = document.querySelector('form[data-upload]');
  for (const type of ['dragenter', 'dragover', 'drop']) {
    form.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: dt}));
  }
  src.remove();
  return dt.files.length;
})()`))
	}
	return err
}

// DoAndLoad runs the actions (a click, an Enter key) and waits until the
// page they lead to has loaded.
func (b *Browser) DoAndLoad(actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.Ctx, 30*time.Second)
	defer cancel()
	loaded := chromedp.Events(ctx, page.LoadEventFired)
	if err := chromedp.Do(ctx, actions...); err != nil {
		return err
	}
	for _, err := range loaded {
		return err
	}
	return ctx.Err()
}

// Screenshot writes a PNG of the whole page to file.
func (b *Browser) Screenshot(file string) error {
	png, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return err
	}
	return os.WriteFile(file, png, 0o644)
}
