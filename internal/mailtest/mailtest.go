// Package mailtest runs a real SMTP server for tests: mailpit
// (github.com/axllent/mailpit, which `make test` installs), on loopback
// ports chosen at run time, and reads what it received through its HTTP
// API. When mailpit is missing the test skips, or fails when CI is set.
package mailtest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/casevault/casevault/vault/vaulttest"
)

// Server is one running mailpit.
type Server struct {
	Host     string // 127.0.0.1
	SMTPPort int    // its SMTP port (plain, no authentication)
	API      string // http://127.0.0.1:PORT, its web UI and API

	cmd *exec.Cmd
	log *vaulttest.SyncBuffer
}

// Start runs mailpit and stops it when tb ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin := vaulttest.Tool(tb, "mailpit")
	smtp, api := freePort(tb), freePort(tb)
	s := &Server{Host: "127.0.0.1", API: "http://" + api, log: &vaulttest.SyncBuffer{}}
	_, p, _ := net.SplitHostPort(smtp)
	s.SMTPPort, _ = strconv.Atoi(p)
	s.cmd = exec.Command(bin, "--smtp", smtp, "--listen", api, "--disable-version-check")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		tb.Fatalf("mailpit: %v", err)
	}
	tb.Cleanup(func() {
		s.stop()
		if tb.Failed() {
			tb.Logf("mailpit:\n%s", s.log.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.API + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if c, err := net.DialTimeout("tcp", smtp, time.Second); err == nil {
					c.Close()
					return s
				}
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("mailpit did not come up:\n%s", s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) stop() {
	if s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// Address is a mailbox in a message's headers.
type Address struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

// Message is one message mailpit received, with its text body.
type Message struct {
	ID      string    `json:"ID"`
	From    Address   `json:"From"`
	To      []Address `json:"To"`
	Subject string    `json:"Subject"`
	Text    string    `json:"Text"`
	HTML    string    `json:"HTML"`
	// Raw is the message as received, headers and all.
	Raw string `json:"-"`
}

// Messages returns every message received so far, oldest first, each read
// whole (text, HTML and raw source).
func (s *Server) Messages(tb testing.TB) []Message {
	tb.Helper()
	var list struct {
		Messages []struct {
			ID string `json:"ID"`
		} `json:"messages"`
	}
	s.get(tb, "/api/v1/messages?limit=1000", &list)
	out := make([]Message, 0, len(list.Messages))
	for i := len(list.Messages) - 1; i >= 0; i-- { // newest first in the API
		var m Message
		s.get(tb, "/api/v1/message/"+list.Messages[i].ID, &m)
		m.Raw = s.raw(tb, list.Messages[i].ID)
		out = append(out, m)
	}
	return out
}

// Wait polls until at least n messages arrived, for up to 15 s, and
// returns them.
func (s *Server) Wait(tb testing.TB, n int) []Message {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ms := s.Messages(tb)
		if len(ms) >= n || time.Now().After(deadline) {
			if len(ms) < n {
				tb.Fatalf("got %d messages, want %d", len(ms), n)
			}
			return ms
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) get(tb testing.TB, path string, v any) {
	tb.Helper()
	resp, err := http.Get(s.API + path)
	if err != nil {
		tb.Fatalf("mailpit %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("mailpit %s: HTTP %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		tb.Fatalf("mailpit %s: %v", path, err)
	}
}

func (s *Server) raw(tb testing.TB, id string) string {
	tb.Helper()
	resp, err := http.Get(s.API + "/api/v1/message/" + id + "/raw")
	if err != nil {
		tb.Fatalf("mailpit raw: %v", err)
	}
	defer resp.Body.Close()
	var b []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil {
			break
		}
	}
	return string(b)
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

// String describes the server for test messages.
func (s *Server) String() string { return fmt.Sprintf("mailpit at %s:%d", s.Host, s.SMTPPort) }
