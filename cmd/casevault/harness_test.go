package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/casevault/casevault/vault/s3/s3test"
	"github.com/casevault/casevault/vault/vaulttest"
)

func TestMain(m *testing.M) {
	if os.Getenv(proxyEnv) != "" {
		os.Exit(passThroughMain())
	}
	code := s3test.Run(m)
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

// binary builds the real casevault binary once per test process.
func binary(tb testing.TB) string {
	tb.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "casevault-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "casevault")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		tb.Fatal(binErr)
	}
	return binPath
}

// server is a running casevault binary.
type server struct {
	cmd    *exec.Cmd
	URL    string
	Stderr *vaulttest.SyncBuffer
	done   chan error
}

// startServer runs `casevault serve` on a free loopback port with dataDir
// and, when configFile is not empty, that config. It returns once the
// server answers /healthz; it is stopped by tb.Cleanup.
func startServer(tb testing.TB, dataDir, configFile string, env ...string) *server {
	tb.Helper()
	args := []string{"serve", "--data-dir", dataDir, "--addr", "127.0.0.1:0"}
	if configFile != "" {
		args = append(args, "--config", configFile)
	}
	cmd := exec.Command(binary(tb), args...)
	// Servers of tests running at once must not share the operator API's
	// default port; env may say otherwise.
	cmd.Env = append(append(os.Environ(), "CASEVAULT_OPERATOR_ADDR=127.0.0.1:0"), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	s := &server{cmd: cmd, Stderr: &vaulttest.SyncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = s.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), " serving on "); ok {
				urls <- strings.Fields(rest)[0]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { s.done <- cmd.Wait() }()
	tb.Cleanup(func() { s.Stop(tb) })
	select {
	case s.URL = <-urls:
	case err := <-s.done:
		s.done <- err
		tb.Fatalf("casevault serve exited: %v\n%s", err, s.Stderr.String())
	case <-time.After(60 * time.Second):
		tb.Fatalf("casevault serve did not start\n%s", s.Stderr.String())
	}
	resp, err := http.Get(s.URL + "/healthz")
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	return s
}

// Stop sends SIGTERM and waits for a clean exit.
func (s *server) Stop(tb testing.TB) {
	tb.Helper()
	if s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			tb.Errorf("casevault serve exited with %v\n%s", err, s.Stderr.String())
		}
		s.done <- err
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		tb.Errorf("casevault serve did not stop on SIGTERM")
	}
}

// Pid is the server process's id.
func (s *server) Pid() int { return s.cmd.Process.Pid }

// PeakRSS returns the server process's peak resident set in bytes.
func (s *server) PeakRSS(tb testing.TB) int64 {
	tb.Helper()
	n, err := vaulttest.PeakRSS(s.cmd.Process.Pid)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// ResetPeakRSS clears the server's peak-RSS mark.
func (s *server) ResetPeakRSS(tb testing.TB) {
	tb.Helper()
	if err := vaulttest.ResetPeakRSS(s.cmd.Process.Pid); err != nil {
		tb.Logf("cannot reset peak RSS: %v", err)
	}
}

// SetupToken returns the one-time setup token the server logged.
func (s *server) SetupToken(tb testing.TB) string {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(s.Stderr.String(), "\n") {
			var entry struct {
				SetupToken string `json:"setup_token"`
			}
			if json.Unmarshal([]byte(line), &entry) == nil && entry.SetupToken != "" {
				return entry.SetupToken
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("no setup token in the server's log:\n%s", s.Stderr.String())
	return ""
}

// client speaks the JSON API as one signed-in user.
type client struct {
	base  string
	token string
	hc    *http.Client
}

func newClient(base string) *client {
	return &client{base: base, hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}}
}

// request sends one request and returns the response; the caller closes it.
func (c *client) request(tb testing.TB, method, path string, body io.Reader, header http.Header) *http.Response {
	tb.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, c.base+path, body)
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if sr, ok := body.(*sizedReader); ok {
		req.ContentLength = sr.n
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// json sends in as JSON (nil for no body), wants status, and decodes the
// answer into out (nil to ignore it).
func (c *client) json(tb testing.TB, method, path string, in any, status int, out any) {
	tb.Helper()
	var body io.Reader
	h := http.Header{}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			tb.Fatal(err)
		}
		body = bytes.NewReader(b)
		h.Set("Content-Type", "application/json")
	}
	resp := c.request(tb, method, path, body, h)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		tb.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, b, status)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			tb.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
}
