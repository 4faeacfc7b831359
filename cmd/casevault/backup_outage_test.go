package main

import (
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casevault/casevault/vault/s3/s3test"
)

// tcpProxy forwards connections from a loopback port to target while it
// is open: the backup location's network, cut and restored.
type tcpProxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

// freeAddr returns a loopback address nothing listens on (for now).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// open starts forwarding.
func (p *tcpProxy) open(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
}

// close stops forwarding and cuts the connections in flight.
func (p *tcpProxy) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestBackup_LocationDownAtStart starts serve while its cell's S3 backup
// location cannot be reached: the server starts and serves, logs the
// failure at error level and tries again; once the location answers, the
// backup starts by itself and catches up, and a restore from it holds the
// firm.
func TestBackup_LocationDownAtStart(t *testing.T) {
	t.Setenv("AWS_CA_BUNDLE", "")
	srv3 := s3test.MinIO(t)
	proxy := &tcpProxy{addr: freeAddr(t), target: srv3.Endpoint}
	defer proxy.close()
	outside := t.TempDir()
	dataDir := filepath.Join(outside, "data")
	cfg, env, firm := s3BackupFirm(t, outside, srv3, proxy.addr, s3test.NewBucketName("down"), "")
	srv := startServer(t, dataDir, cfg, env...)
	waitFor(t, "error line about the backup", func() bool {
		return strings.Contains(srv.Stderr.String(), `"level":"error"`) && strings.Contains(srv.Stderr.String(), "the backup cannot start")
	})
	if resp, err := newClient(srv.URL).hc.Get(srv.URL + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz while the backup is down: %v %v", resp, err)
	}

	proxy.open(t)
	deadline := time.Now().Add(40 * time.Second)
	for !strings.Contains(srv.Stderr.String(), "the backup started after all") {
		if time.Now().After(deadline) {
			t.Fatalf("the backup did not start once its location answered:\n%s", srv.Stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	srv.Stop(t) // the final sync ships the cell

	s := restoreJSON(t, dataDir, cfg, "us", filepath.Join(outside, "restored"))
	if !s.OK || len(s.Firms) != 1 || s.Firms[0].Tenant != firm.TenantID || s.Firms[0].AuditVerified == 0 {
		t.Fatalf("restore after the outage = %+v", s)
	}
}
