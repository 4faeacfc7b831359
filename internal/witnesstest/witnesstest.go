// Package witnesstest runs real C2SP tlog-witnesses for tests: litewitness
// (filippo.io/torchwood/cmd/litewitness, which `make test` installs), each
// with its own ssh-agent holding its own Ed25519 key, on a loopback port
// chosen at run time. When litewitness or witnessctl is missing the test
// skips, or fails when CI is set.
package witnesstest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/casevault/casevault/vault/vaulttest"
)

// Witness is one running litewitness.
type Witness struct {
	Name string // the name of its key
	URL  string // http://127.0.0.1:PORT
	Key  string // its cosignature verifier key (name+hash+base64, algorithm 0x04)
	DB   string // its SQLite database

	witnessctl string
	log        *vaulttest.SyncBuffer
}

// Start runs one litewitness per name, each with a fresh key, and stops
// them (and their agents) when tb ends.
func Start(tb testing.TB, names ...string) []*Witness {
	tb.Helper()
	lw := vaulttest.Tool(tb, "litewitness")
	ctl := vaulttest.Tool(tb, "witnessctl")
	for _, t := range []string{"ssh-agent", "ssh-keygen", "ssh-add"} {
		vaulttest.Tool(tb, t)
	}
	out := make([]*Witness, len(names))
	for i, name := range names {
		out[i] = start(tb, lw, ctl, name)
	}
	return out
}

func start(tb testing.TB, litewitness, witnessctl, name string) *Witness {
	tb.Helper()
	// A unix socket path has at most 107 bytes: tb.TempDir can be longer.
	dir, err := os.MkdirTemp("", "wit")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		tb.Fatalf("ssh-agent: %v", err)
	}
	tb.Cleanup(func() { stop(agent) })
	waitFor(tb, func() bool { _, err := os.Stat(sock); return err == nil }, "ssh-agent socket")

	key := filepath.Join(dir, "key")
	run(tb, nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key)
	run(tb, []string{"SSH_AUTH_SOCK=" + sock}, "ssh-add", "-q", key)
	fp := strings.Fields(run(tb, nil, "ssh-keygen", "-l", "-E", "sha256", "-f", key+".pub"))
	if len(fp) < 2 || !strings.HasPrefix(fp[1], "SHA256:") {
		tb.Fatalf("ssh-keygen -l: %q", fp)
	}

	port := freePort(tb)
	w := &Witness{Name: name, URL: "http://" + port, DB: filepath.Join(dir, "litewitness.db"), witnessctl: witnessctl, log: &vaulttest.SyncBuffer{}}
	cmd := exec.Command(litewitness, "-name", name, "-key", fp[1], "-ssh-agent", sock, "-listen", port, "-db", w.DB)
	cmd.Stdout, cmd.Stderr = w.log, w.log
	if err := cmd.Start(); err != nil {
		tb.Fatalf("litewitness: %v", err)
	}
	tb.Cleanup(func() {
		stop(cmd)
		if tb.Failed() {
			tb.Logf("litewitness %s:\n%s", name, w.log.String())
		}
	})
	vkey := regexp.MustCompile(`vkey=(\S+)`)
	waitFor(tb, func() bool {
		if m := vkey.FindStringSubmatch(w.log.String()); m != nil {
			w.Key = m[1]
		}
		resp, err := http.Get(w.URL + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && w.Key != ""
	}, "litewitness "+name)
	return w
}

// AddLog registers a log with the witness: its origin and the note
// verifier key of its checkpoints (witnessctl add-log, add-key). The
// witness then cosigns the first checkpoint it is shown and, after that,
// only checkpoints consistent with the last one it cosigned.
func (w *Witness) AddLog(tb testing.TB, origin, vkey string) {
	tb.Helper()
	run(tb, nil, w.witnessctl, "add-log", "-db", w.DB, "-origin", origin)
	run(tb, nil, w.witnessctl, "add-key", "-db", w.DB, "-origin", origin, "-key", vkey)
}

// Log returns what the witness logged so far.
func (w *Witness) Log() string { return w.log.String() }

// AddCheckpoint sends one raw add-checkpoint request (c2sp.org/tlog-witness)
// and returns the status and body of the answer.
func (w *Witness) AddCheckpoint(tb testing.TB, body []byte) (int, string) {
	tb.Helper()
	resp, err := http.Post(w.URL+"/add-checkpoint", "text/plain; charset=utf-8", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// run runs a command and returns its standard output; a failure fails tb.
func run(tb testing.TB, env []string, name string, args ...string) string {
	tb.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// stop interrupts a process and waits for it, killing it after 5 s.
func stop(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// freePort returns a loopback host:port that was free a moment ago.
func freePort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitFor polls ok for up to 15 s.
func waitFor(tb testing.TB, ok func() bool, what string) {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			tb.Fatalf("%s did not come up", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// String describes the witness for test messages.
func (w *Witness) String() string { return fmt.Sprintf("witness %s at %s", w.Name, w.URL) }
