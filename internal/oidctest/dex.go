package oidctest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/casevault/casevault/vault/vaulttest"
)

// Dex is one running Dex with one static client and one static user.
type Dex struct {
	Issuer       string // http://127.0.0.1:PORT/dex
	ClientID     string
	ClientSecret string
	Email        string // the static user's, verified
	Password     string

	cmd *exec.Cmd
	log *vaulttest.SyncBuffer
}

// StartDex runs Dex on a free loopback port with memory storage, a static
// client whose redirect URI is redirectURI, a static password user with
// email, and ID tokens that expire a minute after they are issued, and stops it when tb ends. Without the dex binary the test
// skips, or fails when CI is set.
func StartDex(tb testing.TB, redirectURI, email string) *Dex {
	tb.Helper()
	bin := vaulttest.Tool(tb, "dex")
	addr := freePort(tb)
	d := &Dex{Issuer: "http://" + addr + "/dex", ClientID: "casevault", ClientSecret: "dex-client-secret-" + randHex(8),
		Email: email, Password: "dex password " + randHex(6), log: &vaulttest.SyncBuffer{}}
	hash, err := bcrypt.GenerateFromPassword([]byte(d.Password), bcrypt.DefaultCost) // Dex refuses a lower cost
	if err != nil {
		tb.Fatal(err)
	}
	cfg := fmt.Sprintf(`issuer: %s
storage:
  type: memory
web:
  http: %s
logger:
  level: warn
expiry:
  idTokens: 1m
oauth2:
  skipApprovalScreen: true
  passwordConnector: local
enablePasswordDB: true
staticClients:
- id: %s
  secret: %s
  name: CaseVault
  redirectURIs: [%q]
staticPasswords:
- email: %q
  hash: %q
  username: staticuser
  userID: "08a8684b-db88-4b73-90a9-3cd1661f5466"
`, d.Issuer, addr, d.ClientID, d.ClientSecret, redirectURI, email, string(hash))
	path := filepath.Join(tb.TempDir(), "dex.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		tb.Fatal(err)
	}
	d.cmd = exec.Command(bin, "serve", path)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		tb.Fatalf("dex: %v", err)
	}
	tb.Cleanup(func() {
		d.stop()
		if tb.Failed() {
			tb.Logf("dex:\n%s", d.log.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(d.Issuer + "/.well-known/openid-configuration")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("dex did not come up:\n%s", d.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *Dex) stop() {
	if d.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

func freePort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := randRead(b); err != nil {
		panic(err)
	}
	return fmt.Sprintf("%x", b)
}
