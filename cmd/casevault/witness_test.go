package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/torchwood"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/internal/refverify"
	"github.com/casevault/casevault/internal/witnesstest"
)

// witnessEnv is anchorEnv's two firms with two real litewitness processes,
// each with its own key, that witness every log of the server.
type witnessEnv struct {
	*anchorEnv
	ws     []*witnesstest.Witness
	config string // the server's config file naming the witnesses
	key    string // the firms' region verifier key
}

func newWitnessEnv(t *testing.T) *witnessEnv {
	t.Helper()
	ws := witnesstest.Start(t, "witness-a.example", "witness-b.example")
	e := &witnessEnv{anchorEnv: newAnchorEnv(t), ws: ws}
	m := NewMain()
	m.Config.DataDir = e.dir
	absDataDir(&m.Config)
	if err := m.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.key = m.AuditKeys["us"]
	m.Close()
	var cfg strings.Builder
	cfg.WriteString("audit:\n  witness_timeout: 5s\n  witnesses:\n")
	for _, w := range ws {
		for _, tenant := range []string{e.victim, e.other} {
			w.AddLog(t, audit.Origin(tenant), e.key)
		}
		fmt.Fprintf(&cfg, "    - name: %s\n      url: %s\n      key: %s\n", w.Name, w.URL, w.Key)
	}
	e.config = filepath.Join(t.TempDir(), "casevault.yaml")
	if err := os.WriteFile(e.config, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

type checkpointJSON struct {
	Size int64  `json:"size"`
	Note string `json:"note"`
}

// cosignedCheckpoint asks for the firm's checkpoint once (signed then if
// the log grew, and submitted to the witnesses in the background) and
// waits until audit.db holds both witnesses' cosignatures of it. (Asking
// the API again would not do: each request is audited, so each answer is a
// new checkpoint.)
func (e *witnessEnv) cosignedCheckpoint(t *testing.T, c *client, srv *server) checkpointJSON {
	t.Helper()
	var cp checkpointJSON
	c.json(t, "GET", "/api/v1/audit/checkpoint", nil, http.StatusOK, &cp)
	tenant := strings.TrimPrefix(strings.SplitN(cp.Note, "\n", 2)[0], "casevault/audit/")
	deadline := time.Now().Add(15 * time.Second)
	for {
		n := countRows(t, e.dir, `SELECT COUNT(*) FROM audit_cosignatures WHERE tenant_id = ? AND size = ?`, tenant, cp.Size)
		if n == len(e.ws) {
			return cp
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint %d is cosigned by %d witnesses, want %d:\n%s", cp.Size, n, len(e.ws), srv.Stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// export downloads the firm's complete bundle into a file.
func export(t *testing.T, c *client) (path string, bundle []byte) {
	t.Helper()
	resp := c.request(t, "GET", "/api/v1/audit/export?format=jsonl", nil, nil)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("audit export = %d, %v", resp.StatusCode, err)
	}
	return writeFile(t, string(b)), b
}

// bothVerifyWitnessed runs `casevault audit verify --key … --witness …
// --witnesses K` and refverify.VerifyWitnessed on one bundle file.
func bothVerifyWitnessed(t *testing.T, path, key string, keys []string, k int) (cliCode int, cliOut string, refErr error) {
	t.Helper()
	args := []string{"--key", key}
	for _, w := range keys {
		args = append(args, "--witness", w)
	}
	if k > 0 {
		args = append(args, "--witnesses", fmt.Sprint(k))
	}
	code, out, errOut := auditVerify(append(args, path)...)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, refErr = refverify.VerifyWitnessed(f, key, refverify.Witnesses{Keys: keys, K: k})
	return code, out + errOut, refErr
}

// TestWitness_Server runs the real server with two real witnesses: they
// cosign its checkpoints as it runs, an exported bundle verifies with both
// witness keys required, and fails without the cosignatures it needs.
func TestWitness_Server(t *testing.T) {
	e := newWitnessEnv(t)
	srv := startServer(t, e.dir, e.config)
	c := e.login(t, srv, "owner@victim.example", e.victimPassword)
	work(t, c, 3)
	first := e.cosignedCheckpoint(t, c, srv)
	work(t, c, 2)
	second := e.cosignedCheckpoint(t, c, srv)
	if second.Size <= first.Size {
		t.Fatalf("second checkpoint has size %d, want more than %d", second.Size, first.Size)
	}
	// The export waits for the cosignatures of its own checkpoint.
	work(t, c, 1)
	path, bundle := export(t, c)
	keys := []string{e.ws[0].Key, e.ws[1].Key}

	code, out, refErr := bothVerifyWitnessed(t, path, e.key, keys, 2)
	if code != 0 || refErr != nil {
		t.Fatalf("verify --witness A --witness B --witnesses 2: exit %d, refverify %v\n%s", code, refErr, out)
	}
	for _, w := range e.ws {
		if !regexp.MustCompile(`Witness ` + regexp.QuoteMeta(w.Name) + ` cosigned it at 20\d\d-`).MatchString(out) {
			t.Errorf("verify does not say that %s cosigned:\n%s", w.Name, out)
		}
	}
	// Later checkpoint lines carry their cosignatures too.
	if got := strings.Count(string(bundle), `\n— witness-a.example `); got < 3 {
		t.Errorf("the bundle holds %d cosignatures of witness-a, want at least 3 (line 2 and two stored checkpoints)", got)
	}

	t.Run("ThirdWitnessRequired", func(t *testing.T) {
		third := unknownWitnessKey(t, "witness-c.example")
		code, out, refErr := bothVerifyWitnessed(t, path, e.key, append(keys, third), 3)
		if code != 1 || refErr == nil || !strings.Contains(out, "cosigned by 2 of the required 3 witnesses") {
			t.Errorf("three witnesses required: exit %d, refverify %v; want both to fail\n%s", code, refErr, out)
		}
		if code, _, _ := auditVerify("--key", e.key, "--witness", keys[0], "--witness", keys[1], "--witnesses", "3", path); code != 2 {
			t.Errorf("--witnesses 3 with two keys: exit %d, want 2 (usage)", code)
		}
		// An unknown witness alone, required by default.
		if code, out, refErr := bothVerifyWitnessed(t, path, e.key, []string{third}, 0); code != 1 || refErr == nil {
			t.Errorf("only an absent witness: exit %d, refverify %v; want both to fail\n%s", code, refErr, out)
		}
	})

	t.Run("CosignatureRemoved", func(t *testing.T) {
		b := editHeadNote(t, bundle, func(n string) string {
			return regexp.MustCompile(`— witness-b\.example [^\n]*\n`).ReplaceAllString(n, "")
		})
		p := writeFile(t, b)
		if code, out, refErr := bothVerifyWitnessed(t, p, e.key, keys, 2); code != 1 || refErr == nil {
			t.Errorf("a cosignature removed, 2 required: exit %d, refverify %v; want both to fail\n%s", code, refErr, out)
		}
		if code, out, refErr := bothVerifyWitnessed(t, p, e.key, keys, 1); code != 0 || refErr != nil {
			t.Errorf("a cosignature removed, 1 required: exit %d, refverify %v; want both to pass\n%s", code, refErr, out)
		}
	})

	t.Run("CosignatureAltered", func(t *testing.T) {
		b := editHeadNote(t, bundle, func(n string) string {
			re := regexp.MustCompile(`(— witness-b\.example )([^\n]*)\n`)
			return re.ReplaceAllStringFunc(n, func(line string) string {
				m := re.FindStringSubmatch(line)
				sig, _ := base64.StdEncoding.DecodeString(m[2])
				sig[len(sig)-1] ^= 1
				return m[1] + base64.StdEncoding.EncodeToString(sig) + "\n"
			})
		})
		p := writeFile(t, b)
		// A bad line of a named witness fails the bundle even when the
		// other witness is enough.
		if code, out, refErr := bothVerifyWitnessed(t, p, e.key, keys, 1); code != 1 || refErr == nil || !strings.Contains(out, "does not verify") {
			t.Errorf("a cosignature altered: exit %d, refverify %v; want both to fail\n%s", code, refErr, out)
		}
		// Without witness keys the line is another key's and ignored.
		mustBothVerify(t, p, e.key)
	})
	srv.Stop(t)
}

// TestWitness_ForkRefused rolls a firm's audit.db back behind the server
// to before a checkpoint the witnesses cosigned, has the operator accept
// the rollback (which the log itself allows, with a recorded event) and the
// firm act on: the forked history's checkpoints are refused by both
// witnesses, which saw the original, and the server reports the refusals.
func TestWitness_ForkRefused(t *testing.T) {
	e := newWitnessEnv(t)
	dbPath := usAuditPath(e.dir)
	srv := startServer(t, e.dir, e.config)
	c := e.login(t, srv, "owner@victim.example", e.victimPassword)
	work(t, c, 2)
	e.cosignedCheckpoint(t, c, srv)
	srv.Stop(t)
	old, err := os.ReadFile(dbPath)
	if err != nil {
		t.Fatal(err)
	}

	srv = startServer(t, e.dir, e.config)
	c = e.login(t, srv, "owner@victim.example", e.victimPassword)
	work(t, c, 3)
	seen := e.cosignedCheckpoint(t, c, srv)
	srv.Stop(t)

	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(dbPath + suffix)
	}
	if err := os.WriteFile(dbPath, old, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := cli(t, e.dir, "audit", "accept-rollback", "--tenant", e.victim); err != nil {
		t.Fatalf("accept-rollback: %v\n%s", err, errOut)
	}
	srv = startServer(t, e.dir, e.config)
	c = e.login(t, srv, "owner@victim.example", e.victimPassword)
	work(t, c, 8) // past the size the witnesses saw
	var forked checkpointJSON
	c.json(t, "GET", "/api/v1/audit/checkpoint", nil, http.StatusOK, &forked)
	if forked.Size <= seen.Size {
		t.Fatalf("forked log has size %d, want more than %d", forked.Size, seen.Size)
	}

	// Each witness, shown the fork directly, refuses it: 409 with the size
	// it holds when asked to start from scratch, 422 when the proof from
	// that size cannot be made to verify.
	for _, w := range e.ws {
		status, body := w.AddCheckpoint(t, []byte("old 0\n\n"+forked.Note))
		if status != http.StatusConflict || strings.TrimSpace(body) != fmt.Sprint(seen.Size) {
			t.Errorf("%s: fork from 0 answered %d %q, want 409 %d", w, status, body, seen.Size)
		}
		status, body = w.AddCheckpoint(t, []byte(fmt.Sprintf("old %d\n\n%s", seen.Size, forked.Note)))
		if status != http.StatusUnprocessableEntity {
			t.Errorf("%s: fork from %d answered %d %q, want 422", w, seen.Size, status, body)
		}
	}

	// The server submitted the fork's checkpoint itself, with its real
	// consistency proof from the size each witness holds: it logs and
	// counts each witness's refusal.
	deadline := time.Now().Add(15 * time.Second)
	for {
		log := cellLog(t, e.dir, "us") // the firm's lines are in its cell log
		n := 0
		for _, line := range strings.Split(log, "\n") {
			if strings.Contains(line, "witness refused the audit log's checkpoint") && strings.Contains(line, e.victim) &&
				strings.Contains(line, `"status":422`) && strings.Contains(line, fmt.Sprintf(`"witness_size":%d`, seen.Size)) {
				n++
			}
		}
		if n >= len(e.ws) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server logged %d witness refusals, want %d:\n%s", n, len(e.ws), log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	metrics := fetchMetrics(t, srv)
	for _, w := range e.ws {
		for _, want := range []string{
			fmt.Sprintf(`casevault_audit_witness_refusals_total{witness=%q} `, w.Name),
			fmt.Sprintf(`casevault_audit_witness_refusing_logs{witness=%q} 1`, w.Name),
		} {
			if !strings.Contains(metrics, want) || strings.Contains(metrics, want+"0\n") {
				t.Errorf("/metrics lacks a non-zero %s…:\n%s", want, grepLines(metrics, "witness"))
			}
		}
	}
	// The other firm's log is witnessed as before.
	other := e.login(t, srv, "owner@other.example", e.otherPassword)
	work(t, other, 1)
	e.cosignedCheckpoint(t, other, srv)
	srv.Stop(t)
}

// unknownWitnessKey returns the verifier key of a witness that never
// cosigned anything.
func unknownWitnessKey(t *testing.T, name string) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := torchwood.NewCosignatureSigner(name, priv)
	if err != nil {
		t.Fatal(err)
	}
	return s.Verifier().String()
}

// editHeadNote rewrites the note of line 2 of a bundle.
func editHeadNote(t *testing.T, bundle []byte, edit func(string) string) string {
	t.Helper()
	lines := bundleLines(string(bundle))
	var ck struct {
		Type string `json:"type"`
		Note string `json:"note"`
	}
	if err := json.Unmarshal([]byte(lines[1]), &ck); err != nil {
		t.Fatal(err)
	}
	n := edit(ck.Note)
	if n == ck.Note {
		t.Fatalf("edit changed nothing in %q", ck.Note)
	}
	ck.Note = n
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ck); err != nil {
		t.Fatal(err)
	}
	lines[1] = b.String()
	// bundleLines drops the last line's LF, which every line ends in.
	return strings.Join(lines, "") + "\n"
}

// fetchMetrics reads the server's /metrics.
func fetchMetrics(t *testing.T, srv *server) string {
	t.Helper()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// grepLines returns the lines of s containing sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
