package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/internal/browser"
	"github.com/casevault/casevault/vault/vaulttest"
)

// BenchmarkUI_BrowserUpload uploads one file of 1 GiB (CASEVAULT_BENCH_SIZE)
// through the matter page in headless Chromium (dropped on the form, sent
// by upload.js as multipart with an XMLHttpRequest) and, in the same run
// against the same real binary, with `curl -T` as a raw POST body to
// /api/v1/matters/{id}/documents. The browser's time runs from the row's
// "uploading" state to its "done" state, both timed in the page; curl's is
// its process's wall time. It prints MB/s of each and their ratio (target
// ≥ 0.8), and the speed of curl -F sending the browser's multipart body.
func BenchmarkUI_BrowserUpload(b *testing.B) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		b.Skip("curl is not installed")
	}
	size := vaulttest.BenchSize(b, 1<<30)
	br := browser.New(b)
	srv := startServer(b, newDataDir(b), "")
	owner, matterID := firstRun(b, srv)
	path, _ := writeGenFile(b, b.TempDir(), "big.bin", 7, size)
	browserSignIn(b, br, srv.URL, "owner@maple.example", "correct horse battery staple")

	for i := 0; i < b.N; i++ {
		if err := chromedp.Do(br.Ctx, chromedp.Navigate(srv.URL+"/matters/"+matterID), chromedp.WaitVisible(chromedp.CSS("form[data-upload]"))); err != nil {
			b.Fatal(err)
		}
		if _, err := chromedp.Run(br.Ctx, chromedp.Evaluate[bool](uploadRecorder)); err != nil {
			b.Fatal(err)
		}
		dropOnUploadForm(b, br, path)
		rec := waitUploadsDone(b, br, 1, 10*time.Minute)["big.bin"]
		var from, to float64
		for _, s := range rec.States {
			switch s.State {
			case "uploading":
				from = s.T
			case "done":
				to = s.T
			}
		}
		browserTook := time.Duration((to - from) * float64(time.Millisecond))

		start := time.Now()
		out, err := exec.Command(curl, "-sS", "-f", "-o", "/dev/null", "-X", "POST", "-T", path,
			"-H", "Authorization: Bearer "+owner.token, "-H", "Content-Type: application/octet-stream",
			srv.URL+"/api/v1/matters/"+matterID+"/documents?name=curl-"+strconv.Itoa(i)+".bin").CombinedOutput()
		curlTook := time.Since(start)
		if err != nil {
			b.Fatalf("curl -T: %v\n%s", err, out)
		}
		// The same multipart body as the browser's, from curl: what the
		// multipart envelope costs the server, apart from the browser.
		start = time.Now()
		out, err = exec.Command(curl, "-sS", "-f", "-o", "/dev/null", "-F", "file=@"+path+";filename=curlf-"+strconv.Itoa(i)+".bin",
			"-H", "Authorization: Bearer "+owner.token, srv.URL+"/api/v1/matters/"+matterID+"/documents").CombinedOutput()
		curlFormTook := time.Since(start)
		if err != nil {
			b.Fatalf("curl -F: %v\n%s", err, out)
		}
		var docs []docJSON
		owner.json(b, "GET", "/api/v1/matters/"+matterID+"/documents", nil, http.StatusOK, &docs)
		stored := 0
		for _, d := range docs {
			if d.Size == size && (d.Name == "big.bin" || strings.HasPrefix(d.Name, "curl")) {
				stored++
			}
		}
		if stored < 3*(i+1) {
			b.Fatalf("documents of %d bytes: %d, want %d", size, stored, 3*(i+1))
		}
		mbps := func(d time.Duration) float64 { return float64(size) / d.Seconds() / 1e6 }
		b.ReportMetric(mbps(browserTook), "browser_MB/s")
		b.ReportMetric(mbps(curlTook), "curl_MB/s")
		b.ReportMetric(mbps(curlFormTook), "curl_form_MB/s")
		b.ReportMetric(mbps(browserTook)/mbps(curlTook), "ratio")
		fmt.Fprintf(os.Stderr, "upload %d MiB: browser %.0f MB/s (%v), curl -T %.0f MB/s (%v), ratio %.2f (target >= 0.8); curl -F multipart %.0f MB/s\n",
			size>>20, mbps(browserTook), browserTook.Round(time.Millisecond), mbps(curlTook), curlTook.Round(time.Millisecond), mbps(browserTook)/mbps(curlTook), mbps(curlFormTook))
	}
}
