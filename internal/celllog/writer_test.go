package celllog_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/internal/celllog"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

// env is a Writer over two served cells, us and ca, and a directory that
// knows two firms (and a third in a region this process does not serve).
type env struct {
	w                      *celllog.Writer
	service                *vaulttest.SyncBuffer
	log                    zerolog.Logger
	dirs                   map[string]string
	usFirm, caFirm, euFirm string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	root := t.TempDir()
	e := &env{
		service: &vaulttest.SyncBuffer{},
		dirs:    map[string]string{"us": filepath.Join(root, "regions", "us"), "ca": filepath.Join(root, "elsewhere", "ca")},
		usFirm:  vault.NewID(vault.PrefixTenant), caFirm: vault.NewID(vault.PrefixTenant), euFirm: vault.NewID(vault.PrefixTenant),
	}
	e.w = celllog.New(e.service, func(region string) (string, bool) {
		d, ok := e.dirs[region]
		return d, ok
	})
	regions := map[string]string{e.usFirm: "us", e.caFirm: "ca", e.euFirm: "eu"}
	e.w.SetResolver(func(tenant string) (string, bool) {
		r, ok := regions[tenant]
		return r, ok
	})
	t.Cleanup(func() { e.w.Close() })
	e.log = zerolog.New(e.w).With().Timestamp().Str("component", "test").Logger()
	return e
}

func (e *env) cellLog(t *testing.T, region string) string {
	t.Helper()
	b, err := os.ReadFile(celllog.Path(e.dirs[region]))
	if os.IsNotExist(err) {
		return ""
	} else if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// serviceLines decodes every service line, failing on one that is not
// valid JSON.
func (e *env) serviceLines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(e.service.String(), "\n"), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("service line %q is not JSON: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestWriter_FirmLine(t *testing.T) {
	e := newEnv(t)
	user, doc := vault.NewID(vault.PrefixUser), vault.NewID(vault.PrefixDocument)
	blob := e.usFirm + "/" + vault.NewID(vault.PrefixBlob)
	e.log.Warn().Str("tenant_id", e.usFirm).Str("user_id", user).Str("document_id", doc).Str("blob_key", blob).
		Str("source", "203.0.113.9").Str("email", "jane.doe@maple.example").
		Err(fmt.Errorf("cannot read %s of %s for owner@maple.example", blob, doc)).Int("status", 500).Msg("request")

	cell := e.cellLog(t, "us")
	for _, want := range []string{e.usFirm, user, doc, blob, "203.0.113.9", "jane.doe@maple.example", "owner@maple.example"} {
		if !strings.Contains(cell, want) {
			t.Errorf("us cell log %q lacks %q", cell, want)
		}
	}
	if got := e.cellLog(t, "ca"); got != "" {
		t.Errorf("ca cell log = %q, want nothing", got)
	}
	svc := e.service.String()
	for _, leak := range []string{e.usFirm, user, doc, blob, "203.0.113.9", "maple.example", "jane.doe"} {
		if strings.Contains(svc, leak) {
			t.Errorf("service line %q holds %q", svc, leak)
		}
	}
	lines := e.serviceLines(t)
	if len(lines) != 1 {
		t.Fatalf("got %d service lines, want 1", len(lines))
	}
	l := lines[0]
	for key, want := range map[string]any{
		"cell": "us", "tenant_id": celllog.Placeholder, "user_id": celllog.Placeholder, "document_id": celllog.Placeholder,
		"blob_key": celllog.Placeholder, "source": celllog.Placeholder, "email": celllog.Placeholder,
		"status": float64(500), "message": "request", "level": "warn", "component": "test",
		"error": celllog.Placeholder,
	} {
		if got := l[key]; got != want {
			t.Errorf("service line %s = %v, want %v", key, got, want)
		}
	}
}

func TestWriter_ServiceLine(t *testing.T) {
	e := newEnv(t)
	e.log.Warn().Str("setup_token", "ABCDEFGHIJKLMNOPQRSTUVWXYZ").Str("source", "198.51.100.7").Msg("no firm exists yet")
	e.log.Info().Str("url", "http://127.0.0.1:8080").Strs("regions", []string{"us", "ca"}).Msg("casevault serving")
	got := e.service.String()
	want := "no firm exists yet"
	if !strings.Contains(got, `"setup_token":"ABCDEFGHIJKLMNOPQRSTUVWXYZ","source":"198.51.100.7"`) || !strings.Contains(got, want) ||
		!strings.Contains(got, `"regions":["us","ca"]`) || strings.Contains(got, `"cell"`) {
		t.Errorf("service stream = %q, want both lines as they were", got)
	}
	if e.cellLog(t, "us")+e.cellLog(t, "ca") != "" {
		t.Errorf("a service line reached a cell file")
	}
}

func TestWriter_Routing(t *testing.T) {
	e := newEnv(t)
	e.log.Info().Str("tenant_id", e.caFirm).Str("user_id", "usr_ca").Msg("ca line")
	e.log.Info().Str("tenant_id", e.usFirm).Msg("us line")
	e.log.Info().Str("tenant_id", e.euFirm).Msg("eu line")                             // region not served here
	e.log.Info().Str("tenant_id", vault.NewID(vault.PrefixTenant)).Msg("unknown line") // not in the directory
	e.log.Info().Str("tenant_id", e.usFirm).Str("tenant_id", e.caFirm).Msg("two firms")

	us, ca := e.cellLog(t, "us"), e.cellLog(t, "ca")
	if !strings.Contains(us, "us line") || strings.Count(us, "\n") != 1 {
		t.Errorf("us cell log = %q, want the us line alone", us)
	}
	if !strings.Contains(ca, "ca line") || !strings.Contains(ca, `"user_id":"usr_ca"`) || strings.Count(ca, "\n") != 1 {
		t.Errorf("ca cell log = %q, want the ca line alone", ca)
	}
	cells := map[string]any{}
	for _, l := range e.serviceLines(t) {
		cells[l["message"].(string)] = l["cell"]
	}
	for msg, want := range map[string]any{"ca line": "ca", "us line": "us", "eu line": "eu", "unknown line": nil, "two firms": nil} {
		if got := cells[msg]; got != want {
			t.Errorf("service line %q: cell = %v, want %v", msg, got, want)
		}
	}
	svc := e.service.String()
	for _, id := range []string{e.usFirm, e.caFirm, e.euFirm, "usr_ca"} {
		if strings.Contains(svc, id) {
			t.Errorf("service stream holds %s: %q", id, svc)
		}
	}
}

func TestWriter_NoResolverYet(t *testing.T) {
	service := &vaulttest.SyncBuffer{}
	dir := t.TempDir()
	w := celllog.New(service, func(string) (string, bool) { return dir, true })
	id := vault.NewID(vault.PrefixTenant)
	fmt.Fprintf(w, `{"level":"info","tenant_id":%q,"message":"early"}`+"\n", id)
	if got, want := service.String(), `{"level":"info","tenant_id":"redacted","message":"early"}`+"\n"; got != want {
		t.Errorf("service = %q, want %q", got, want)
	}
	if _, err := os.Stat(celllog.Path(dir)); !os.IsNotExist(err) {
		t.Errorf("cell file exists before the directory is known: %v", err)
	}
}

func TestWriter_FileModes(t *testing.T) {
	e := newEnv(t)
	e.log.Info().Str("tenant_id", e.usFirm).Msg("x")
	for path, want := range map[string]os.FileMode{celllog.Path(e.dirs["us"]): 0o600, filepath.Dir(celllog.Path(e.dirs["us"])): 0o700} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s mode = %v, want %v", path, got, want)
		}
	}
}

func TestWriter_HugeLine(t *testing.T) {
	e := newEnv(t)
	e.w.MaxLine = 4 << 10
	big := strings.Repeat("x", 100<<10) + " " + vault.NewID(vault.PrefixDocument)
	e.log.Error().Str("tenant_id", e.usFirm).Msg(big)
	lines := e.serviceLines(t)
	if len(lines) != 1 {
		t.Fatalf("got %d service lines, want 1", len(lines))
	}
	if got, want := lines[0]["message"], "log line too long for the service log"; got != want {
		t.Errorf("message = %v, want %v", got, want)
	}
	if got, want := lines[0]["cell"], "us"; got != want {
		t.Errorf("cell = %v, want %v", got, want)
	}
	if got := len(e.service.String()); got > 4<<10 {
		t.Errorf("service line is %d bytes, want at most %d", got, 4<<10)
	}
	cell := e.cellLog(t, "us")
	if !strings.Contains(cell, big) || strings.Count(cell, "\n") != 1 {
		t.Errorf("cell log does not hold the whole line once (%d bytes)", len(cell))
	}
}

func TestWriter_Rotation(t *testing.T) {
	e := newEnv(t)
	e.w.MaxFileBytes, e.w.Keep = 1000, 2
	for i := range 50 {
		e.log.Info().Str("tenant_id", e.usFirm).Int("n", i).Msg(strings.Repeat("m", 100))
	}
	path := celllog.Path(e.dirs["us"])
	var total int
	for _, p := range []string{path, path + ".1", path + ".2"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 1000 {
			t.Errorf("%s is %d bytes, want at most 1000", p, fi.Size())
		}
		b, _ := os.ReadFile(p)
		total += strings.Count(string(b), "\n")
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Errorf("%s.3 exists (Keep 2): %v", path, err)
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), `"n":49`) {
		t.Errorf("the current file lacks the last line: %q", b)
	}
	if total == 0 || total >= 50 {
		t.Errorf("kept %d lines over three files, want some, not all 50", total)
	}
}

func TestWriter_Concurrent(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			firm := []string{e.usFirm, e.caFirm}[g%2]
			for i := range 200 {
				e.log.Info().Str("tenant_id", firm).Int("g", g).Int("i", i).Msg("concurrent")
				e.log.Info().Int("g", g).Msg("service")
			}
		}()
	}
	wg.Wait()
	if got, want := len(e.serviceLines(t)), 8*200*2; got != want {
		t.Errorf("got %d service lines, want %d", got, want)
	}
	for region, firm := range map[string]string{"us": e.usFirm, "ca": e.caFirm} {
		cell := e.cellLog(t, region)
		if got, want := strings.Count(cell, "\n"), 4*200; got != want {
			t.Errorf("%s cell: got %d lines, want %d", region, got, want)
		}
		if got, want := strings.Count(cell, firm), 4*200; got != want {
			t.Errorf("%s cell: got %d lines of its firm, want %d", region, got, want)
		}
	}
}

func TestScrub(t *testing.T) {
	id := vault.NewID(vault.PrefixMatter)
	for _, tt := range []struct{ in, want string }{
		{`{"error":"GET /api/v1/matters/` + id + `/documents"}`, `{"error":"GET /api/v1/matters/mat_redacted/documents"}`},
		{`{"m":"a@b"}`, `{"m":"a@b"}`}, // no domain dot: not an email
		{`{"m":"mail x.y+z@sub.maple.example now"}`, `{"m":"mail redacted now"}`},
		{`{"m":"firms_us ten_short"}`, `{"m":"firms_us ten_short"}`},
		{`{"m":"` + id + `x"}`, `{"m":"` + id + `x"}`}, // runs on: not an id
		{`{"request_id":"ABCDEFGHIJKLMNOPQRSTUVWXYZ"}`, `{"request_id":"ABCDEFGHIJKLMNOPQRSTUVWXYZ"}`},
		{`not json ` + id, `not json mat_redacted`},
	} {
		service := &bytes.Buffer{}
		w := celllog.New(service, func(string) (string, bool) { return "", false })
		fmt.Fprintln(w, tt.in)
		if got := strings.TrimSuffix(service.String(), "\n"); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.in, got, tt.want)
		}
	}
}

func BenchmarkWriter(b *testing.B) {
	service := &bytes.Buffer{}
	dir := b.TempDir()
	tenant := vault.NewID(vault.PrefixTenant)
	w := celllog.New(service, func(string) (string, bool) { return dir, true })
	w.SetResolver(func(string) (string, bool) { return "us", true })
	defer w.Close()
	plain := []byte(`{"level":"info","component":"http","request_id":"ABCDEFGHIJKLMNOPQRSTUVWXYZ","method":"GET","route":"/healthz","status":200,"duration_ms":0.1,"message":"request"}` + "\n")
	firm := []byte(`{"level":"info","component":"http","request_id":"ABCDEFGHIJKLMNOPQRSTUVWXYZ","method":"GET","route":"/api/v1/documents/:id","status":200,"user_id":"` +
		vault.NewID(vault.PrefixUser) + `","tenant_id":"` + tenant + `","message":"request"}` + "\n")
	b.Run("ServiceLine", func(b *testing.B) {
		for b.Loop() {
			service.Reset()
			w.Write(plain)
		}
	})
	b.Run("FirmLine", func(b *testing.B) {
		for b.Loop() {
			service.Reset()
			w.Write(firm)
		}
	})
}

// TestWriter_MoveTenant moves a firm's lines from one cell's log files
// (the current one and a rotated one) to another cell's log: the old cell
// keeps only other firms' lines, the new one gets the firm's, and a rerun
// moves nothing.
func TestWriter_MoveTenant(t *testing.T) {
	from, to := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Dir(celllog.Path(from)), 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(celllog.Path(from), `{"tenant_id":"ten_moved","message":"a"}`+"\n"+`{"tenant_id":"ten_stays","message":"b"}`+"\n")
	write(celllog.Path(from)+".1", `{"message":"c","error":"log of ten_moved"}`+"\n")
	w := celllog.New(io.Discard, func(string) (string, bool) { return "", false })
	n, err := w.MoveTenant(from, to, "ten_moved")
	if err != nil || n != 2 {
		t.Fatalf("MoveTenant = %d, %v; want 2 lines", n, err)
	}
	for _, p := range []string{celllog.Path(from), celllog.Path(from) + ".1"} {
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), "ten_moved") {
			t.Errorf("%s still holds the moved firm: %q", p, b)
		}
	}
	if b, _ := os.ReadFile(celllog.Path(from)); !strings.Contains(string(b), "ten_stays") {
		t.Errorf("the other firm's line is gone: %q", b)
	}
	b, _ := os.ReadFile(celllog.Path(to))
	if strings.Count(string(b), "ten_moved") != 2 {
		t.Errorf("new cell's log = %q, want both lines", b)
	}
	if n, err := w.MoveTenant(from, to, "ten_moved"); err != nil || n != 0 {
		t.Errorf("rerun = %d, %v; want nothing", n, err)
	}
}
