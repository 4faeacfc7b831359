package web_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/internal/browser"
)

// verdict is how a verifier judged a bundle: ok, or failed at seq (0: no
// event named) for a reason of a category.
type verdict struct {
	ok       bool
	input    bool // the verifier refused its inputs (keys, options)
	seq      int64
	reason   string
	category string
}

func (v verdict) String() string {
	if v.ok {
		return "verified"
	}
	return fmt.Sprintf("failed at seq %d (%s): %s", v.seq, v.category, v.reason)
}

// failureCategories name what a failure that names no event is about, in
// the order web/static/verify-page.js tries them.
var failureCategories = []struct {
	name string
	re   *regexp.Regexp
}{
	{"line", regexp.MustCompile(`not a JSON object of the bundle format|has unknown type|is a second header|follows the end line|is longer than`)},
	{"witness", regexp.MustCompile(`witness`)},
	{"retired key", regexp.MustCompile(`retired key`)},
	{"signature", regexp.MustCompile(`not signed by|signature`)},
	{"time", regexp.MustCompile(`timestamp|proves no time`)},
	{"export", regexp.MustCompile(`export`)},
	{"header", regexp.MustCompile(`header|trusted key|verifier key`)},
	{"checkpoint", regexp.MustCompile(`checkpoint|consistency`)},
	{"end", regexp.MustCompile(`end line|cut short|empty`)},
}

func categoryOf(seq int64, reason string) string {
	if seq != 0 {
		return "event"
	}
	for _, c := range failureCategories {
		if c.re.MatchString(reason) {
			return c.name
		}
	}
	return "event"
}

// goVerdict runs audit.Verify as `casevault audit verify` does.
func goVerdict(t *testing.T, fx *verifyFixture, c verifyCase) verdict {
	t.Helper()
	keys := c.keys
	if keys == nil {
		keys = []string{fx.key}
	}
	opts := audit.VerifyOptions{TrustedKeys: keys, Witnesses: c.witnesses, MinWitnesses: c.min}
	if c.maxAge != "" {
		d, err := time.ParseDuration(c.maxAge)
		if err != nil {
			t.Fatal(err)
		}
		opts.MaxAge, opts.At = d, time.Now()
	}
	if c.at != "" {
		at, err := time.Parse(time.RFC3339, c.at)
		if err != nil {
			t.Fatal(err)
		}
		opts.At = at
	}
	_, err := audit.Verify(bytes.NewReader(c.b), opts)
	var ve *audit.VerifyError
	switch {
	case err == nil:
		return verdict{ok: true}
	case errors.As(err, &ve):
		return verdict{seq: ve.Seq, reason: ve.Reason, category: categoryOf(ve.Seq, ve.Reason)}
	}
	return verdict{input: true, reason: err.Error()}
}

// verifyPage is the verify page open in Chromium.
type verifyPage struct {
	b   *browser.Browser
	dir string
}

func openVerifyPage(t *testing.T, fx *verifyFixture) *verifyPage {
	t.Helper()
	b := browser.New(t)
	uiSignIn(t, b, fx.e.Server.URL(), fx.auditorEmail, fx.auditorPassword)
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(fx.e.Server.URL()+"/audit/verify"), chromedp.WaitVisible(chromedp.ID("bundle"))); err != nil {
		t.Fatal(err)
	}
	return &verifyPage{b: b, dir: t.TempDir()}
}

// run verifies b on the page: it chooses the file, sets the keys, clicks
// Verify and waits for the result's data-state.
func (p *verifyPage) run(t *testing.T, fx *verifyFixture, c verifyCase) verdict {
	t.Helper()
	file := filepath.Join(p.dir, strings.NewReplacer("/", "_", " ", "_").Replace(c.name)+".jsonl")
	if err := os.WriteFile(file, c.b, 0o600); err != nil {
		t.Fatal(err)
	}
	keys := fx.key
	if c.keys != nil {
		keys = strings.Join(c.keys, "\n")
	}
	min := ""
	if c.min > 0 {
		min = strconv.Itoa(c.min)
	}
	if err := chromedp.Do(p.b.Ctx, chromedp.SetUploadFiles(chromedp.ID("bundle"), []string{file})); err != nil {
		t.Fatal(err)
	}
	// The fields (some inside a closed <details>) are set as a user
	// would leave them; the result is reset so the wait sees this run's.
	set, _ := json.Marshal(map[string]string{"keys": keys, "witness-keys": strings.Join(c.witnesses, "\n"), "witnesses": min, "max-age": c.maxAge, "at": c.at})
	js := `(function (v) { for (var id in v) document.getElementById(id).value = v[id]; document.getElementById('result').dataset.state = 'idle'; return true; })(` + string(set) + `)`
	if _, err := chromedp.Run(p.b.Ctx, chromedp.Evaluate[bool](js)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(p.b.Ctx, chromedp.Click(chromedp.ID("verify"))); err != nil {
		t.Fatal(err)
	}
	state, err := chromedp.Run(p.b.Ctx, chromedp.Poll[string](`(function () { var s = document.getElementById('result').dataset.state; return s === 'ok' || s === 'fail' || s === 'error' ? s : false; })()`,
		chromedp.WithPollingTimeout(60*time.Second)))
	if err != nil {
		t.Fatalf("%s: waiting for the verdict: %v", c.name, err)
	}
	read := func(js string) string {
		s, err := chromedp.Run(p.b.Ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	text := read(`document.getElementById('verdict').textContent`)
	if state == "error" {
		if !strings.HasPrefix(text, "Cannot verify: ") {
			t.Errorf("%s: verdict %q, want Cannot verify: …", c.name, text)
		}
		return verdict{input: true, reason: text}
	}
	if state == "ok" {
		if !strings.HasPrefix(text, "Verified: ") {
			t.Errorf("%s: verdict %q, want Verified: …", c.name, text)
		}
		return verdict{ok: true, reason: text}
	}
	seq, err := strconv.ParseInt(read(`document.getElementById('result').dataset.seq`), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	want := "Failed at seq " + strconv.FormatInt(seq, 10) + ": "
	if seq == 0 {
		want = "Failed ("
	}
	if !strings.HasPrefix(text, want) {
		t.Errorf("%s: verdict %q, want it to start with %q", c.name, text, want)
	}
	return verdict{seq: seq, reason: text, category: read(`document.getElementById('result').dataset.category`)}
}

// TestUIVerify_Corpus runs every bundle of the corpus through audit.Verify
// and through the page in Chromium: both verify the untampered bundles,
// and fail each tampered one naming the same seq (and, when they name no
// event, a failure of the same category).
func TestUIVerify_Corpus(t *testing.T) {
	fx := newVerifyFixture(t)
	cases := verifyCorpus(t, fx)
	if len(cases) < 30 {
		t.Fatalf("%d cases, want at least 30", len(cases))
	}
	p := openVerifyPage(t, fx)
	for _, c := range cases {
		g := goVerdict(t, fx, c)
		if g.input || c.input {
			if w := p.run(t, fx, c); !g.input || !c.input || !w.input {
				t.Errorf("%s: audit.Verify %v, page %v, want both to refuse the inputs (%t)", c.name, g, w, c.input)
			}
			continue
		}
		if g.ok != c.ok {
			t.Errorf("%s: audit.Verify %v, want ok=%t", c.name, g, c.ok)
			continue
		}
		w := p.run(t, fx, c)
		t.Logf("%s: audit.Verify %v; page %v", c.name, g, w)
		switch {
		case w.ok != g.ok:
			t.Errorf("%s: page %v, audit.Verify %v", c.name, w, g)
		case !g.ok && w.seq != g.seq:
			t.Errorf("%s: page names seq %d (%s), audit.Verify seq %d (%s)", c.name, w.seq, w.reason, g.seq, g.reason)
		case !g.ok && w.category != g.category:
			t.Errorf("%s: page says %s (%s), audit.Verify %s (%s)", c.name, w.category, w.reason, g.category, g.reason)
		}
	}
	noCSPViolations(t, p.b)
}

// TestUIVerify_NoRequest checks that verifying sends nothing to the server:
// the server logs every request it answers, and logs none while the page
// verifies a bundle (good or tampered).
func TestUIVerify_NoRequest(t *testing.T) {
	fx := newVerifyFixture(t)
	p := openVerifyPage(t, fx)
	requests := func() int { return strings.Count(fx.e.Log.String(), `"message":"request"`) }
	time.Sleep(300 * time.Millisecond) // the page's own assets are logged
	before := requests()
	ok := p.run(t, fx, verifyCase{name: "complete", b: fx.complete, ok: true})
	bad := p.run(t, fx, verifyCase{name: "tampered", b: editLeaf(t, fx.complete, 3, strings.NewReplacer(`"outcome":"ok"`, `"outcome":"denied"`).Replace)})
	time.Sleep(300 * time.Millisecond)
	if got := requests(); got != before {
		t.Errorf("the server answered %d requests while the page verified, want 0:\n%s", got-before, fx.e.Log.String())
	}
	if !ok.ok || bad.ok {
		t.Errorf("verdicts %v and %v, want verified then failed", ok, bad)
	}
}

// TestUIVerify_RandomEdits runs bundles edited at random places (a
// character of any line changed, a line dropped, repeated or moved; seeded,
// so a failure repeats) through audit.Verify and the page: both agree on
// each, as on the corpus.
func TestUIVerify_RandomEdits(t *testing.T) {
	fx := newVerifyFixture(t)
	p := openVerifyPage(t, fx)
	r := rand.New(rand.NewPCG(12, 2026))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\",:{}[] \\"
	for i := range 40 {
		src := fx.complete
		if i%3 == 2 {
			src = fx.filtered
		}
		ls := bundleLines(src)
		j := r.IntN(len(ls))
		var what string
		switch r.IntN(5) {
		case 0, 1:
			l := []byte(ls[j])
			at := r.IntN(len(l))
			l[at] = alphabet[r.IntN(len(alphabet))]
			ls[j] = string(l)
			what = fmt.Sprintf("line %d byte %d", j+1, at)
		case 2:
			ls = append(ls[:j:j], ls[j+1:]...)
			what = fmt.Sprintf("line %d dropped", j+1)
		case 3:
			ls = append(ls[:j+1:j+1], ls[j:]...)
			what = fmt.Sprintf("line %d repeated", j+1)
		case 4:
			k := r.IntN(len(ls))
			ls[j], ls[k] = ls[k], ls[j]
			what = fmt.Sprintf("lines %d and %d swapped", j+1, k+1)
		}
		c := verifyCase{name: fmt.Sprintf("random %d: %s", i, what), b: joinLines(ls)}
		g, w := goVerdict(t, fx, c), p.run(t, fx, c)
		t.Logf("%s: audit.Verify %v; page %v", c.name, g, w)
		switch {
		case w.ok != g.ok:
			t.Errorf("%s: page %v, audit.Verify %v", c.name, w, g)
		case !g.ok && w.seq != g.seq:
			t.Errorf("%s: page names seq %d (%s), audit.Verify seq %d (%s)", c.name, w.seq, w.reason, g.seq, g.reason)
		case !g.ok && w.category != g.category:
			t.Errorf("%s: page says %s (%s), audit.Verify %s (%s)", c.name, w.category, w.reason, g.category, g.reason)
		}
	}
}
