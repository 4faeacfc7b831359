package main

import (
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casevault/casevault/internal/mailtest"
	"github.com/casevault/casevault/notify"
)

// e2eReceiver is an HTTPS webhook receiver that checks signatures; while
// down it answers 503.
type e2eReceiver struct {
	mu     sync.Mutex
	secret string
	down   bool
	bodies []string
}

func (h *e2eReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, _ := io.ReadAll(r.Body)
	switch {
	case h.down:
		w.WriteHeader(http.StatusServiceUnavailable)
	case notify.Verify(h.secret, r.Header.Get(notify.HeaderSignature), b, time.Now(), 5*time.Minute) != nil:
		w.WriteHeader(http.StatusUnauthorized)
	default:
		h.bodies = append(h.bodies, string(b))
		w.WriteHeader(http.StatusNoContent)
	}
}

func (h *e2eReceiver) wait(t *testing.T, substr string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		h.mu.Lock()
		for _, b := range h.bodies {
			if strings.Contains(b, substr) {
				h.mu.Unlock()
				return b
			}
		}
		n := len(h.bodies)
		h.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no webhook body with %s among %d", substr, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServe_Notify runs the real binary with a notify block: a firm's
// owner adds an email channel (a real mailpit) and a webhook (a real HTTPS
// receiver, trusted through notify.ca_file); a restore drill that fails is
// sent to both, with ids and the link only. A test send queued while the
// receiver is down and the server then stopped is delivered by the next
// start.
func TestServe_Notify(t *testing.T) {
	const marker = "NOTIFYMARKERQX"
	mp := mailtest.Start(t)
	rc := &e2eReceiver{}
	ts := httptest.NewTLSServer(rc)
	defer ts.Close()

	outside := t.TempDir()
	dataDir := filepath.Join(outside, "data")
	cfg := backupConfig(t, outside, map[string]string{"us": "      drill_interval: off\n", "ca": "      drill_interval: off\n"})
	caFile := filepath.Join(outside, "receiver-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "notify:\n  public_url: https://vault.example.com\n  ca_file: %s\n  allow_private_webhooks: true\n"+
		"  smtp: {host: %s, port: %d, tls: none, from: casevault@vault.example.com}\n"+
		"  retry: {attempts: 50, first: 100ms, max: 200ms}\n", caFile, mp.Host, mp.SMTPPort)
	f.Close()

	tenant, pw := createFirm(t, dataDir, cfg, marker+" LLP", "ca", "owner@notify.example")
	srv := startServer(t, dataDir, cfg)
	c := newClient(srv.URL)
	var l struct{ Token string }
	c.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": "owner@notify.example", "password": pw}, http.StatusOK, &l)
	c.token = l.Token
	var matter struct{ ID string }
	c.json(t, "POST", "/api/v1/matters", map[string]string{"name": marker + " matter", "client": marker + " client"}, http.StatusCreated, &matter)
	var hook struct{ ID, Secret string }
	c.json(t, "POST", "/api/v1/notifications/channels", map[string]any{"kind": "webhook", "url": ts.URL + "/casevault"}, http.StatusCreated, &hook)
	rc.mu.Lock()
	rc.secret = hook.Secret
	rc.mu.Unlock()
	c.json(t, "POST", "/api/v1/notifications/channels", map[string]any{"kind": "email", "recipients": []string{"desk@notify.example"}}, http.StatusCreated, nil)

	// A drill of a deleted backup fails: both channels hear of it.
	time.Sleep(2 * time.Second) // the backups have synced once
	if err := os.RemoveAll(filepath.Join(outside, "backups", "ca")); err != nil {
		t.Fatal(err)
	}
	if out, errOut, err := cli(t, dataDir, "drill", "--region", "ca", "--config", cfg); err == nil || !strings.Contains(out, "FAILED") {
		t.Fatalf("drill of a deleted backup: got %v\n%s%s, want a FAILED drill", err, out, errOut)
	}
	body := rc.wait(t, `"kind":"backup.drill"`)
	for _, want := range []string{`"tenant_id":"` + tenant + `"`, `"rule":"restore_drill"`, `"severity":"critical"`, `"url":"https://vault.example.com/durability"`} {
		if !strings.Contains(body, want) {
			t.Errorf("webhook body lacks %s: %s", want, body)
		}
	}
	ms := mp.Wait(t, 1)
	if got, want := ms[0].Subject, "[CaseVault] Backup drill failed or backup late: restore_drill (critical)"; got != want {
		t.Errorf("subject: got %q, want %q", got, want)
	}
	if !strings.Contains(ms[0].Text, "https://vault.example.com/durability") || !strings.Contains(ms[0].Text, tenant) {
		t.Errorf("email body lacks the link or the firm id:\n%s", ms[0].Text)
	}
	for _, s := range append([]string{body}, ms[0].Raw) {
		if strings.Contains(s, marker) {
			t.Errorf("a message holds the firm's or matter's name:\n%s", s)
		}
	}

	// Queued while the receiver is down, delivered after a restart.
	rc.mu.Lock()
	rc.down = true
	rc.mu.Unlock()
	var test struct{ ID string }
	c.json(t, "POST", "/api/v1/notifications/channels/"+hook.ID+"/test", nil, http.StatusAccepted, &test)
	time.Sleep(300 * time.Millisecond) // an attempt or two fail
	srv.Stop(t)
	rc.mu.Lock()
	rc.down = false
	rc.mu.Unlock()
	srv = startServer(t, dataDir, cfg)
	rc.wait(t, `"id":"`+test.ID+`"`)
	c = newClient(srv.URL)
	c.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": "owner@notify.example", "password": pw}, http.StatusOK, &l)
	c.token = l.Token
	var ds []struct {
		ID       string
		State    string
		Attempts []struct{ Result string }
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.json(t, "GET", "/api/v1/notifications/deliveries?state=delivered", nil, http.StatusOK, &ds)
		found := false
		for _, d := range ds {
			if d.ID == test.ID {
				found = true
				if n := len(d.Attempts); n < 2 || d.Attempts[n-1].Result != "ok" {
					t.Errorf("attempts of the restarted delivery: %+v, want failures then ok", d.Attempts)
				}
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s not marked delivered: %+v", test.ID, ds)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
