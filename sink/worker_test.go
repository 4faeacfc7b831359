package sink_test

import (
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/sink"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

// collector is a firm's webhook that keeps every object it receives, or
// answers 503 while down.
type collector struct {
	mu   sync.Mutex
	objs []sink.Named
	down bool
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	o, err := sink.ParseObject(b)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.objs = append(c.objs, sink.Named{Name: o.Name(""), Data: b})
}

func (c *collector) setDown(d bool) { c.mu.Lock(); c.down = d; c.mu.Unlock() }

func (c *collector) names() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]bool{}
	for _, o := range c.objs {
		out[o.Name] = true
	}
	return out
}

func (c *collector) all() []sink.Named {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sink.Named(nil), c.objs...)
}

// TestWorker delivers a real audit log's checkpoints to a real HTTPS
// webhook: in order, a heartbeat of an unchanged size as an object of its
// own, nothing lost while the webhook is down or the worker stopped (a
// restart resumes from the cursor in the database), and the collection
// checks with the log's key.
func TestWorker(t *testing.T) {
	ctx := context.Background()
	col := &collector{}
	ts := httptest.NewTLSServer(col)
	defer ts.Close()
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())

	v := vaulttest.Open(t, t.TempDir(), nil)
	start := func() *sink.Worker {
		w := sink.New(sink.Options{Store: v.DB, RootCAs: roots, AllowPrivate: true,
			Interval: 20 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond})
		return w
	}
	w := start()
	l := vaulttest.UseAuditLog(t, v, func(o *audit.Options) { o.OnSigned = func(c *audit.Checkpoint) { w.OnSigned(c) } })
	w.Bind(l)
	w.Start()

	tenant, owner, _, err := v.Svc.CreateTenant(ctx, vault.NewTenant{Name: "Harbour LLP", Region: "us", Owner: vault.NewUser{Email: "owner@harbour.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Svc.SetAuditSink(ctx, owner, vault.AuditSinkConfig{Kind: vault.SinkWebhook, URL: ts.URL + "/in"}); err != nil {
		t.Fatal(err)
	}
	signed := func(n int) *audit.Checkpoint {
		t.Helper()
		for i := range n {
			if _, err := v.Svc.CreateMatter(ctx, owner, "Matter "+string(rune('A'+i)), "Client"); err != nil {
				t.Fatal(err)
			}
		}
		c, err := l.Checkpoint(ctx, tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	wait := func(size int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			s, err := v.DB.AuditSink(ctx, tenant.ID)
			if err != nil {
				t.Fatal(err)
			}
			if s.Progress.Cursor.Size >= size && s.Progress.Pending == 0 && s.Progress.LastError == "" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("size %d not delivered: progress %+v", size, s.Progress)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	c1 := signed(2)
	wait(c1.Size)

	// A heartbeat: the same tree signed again later.
	hb := *c1
	hb.CreatedAt = c1.CreatedAt.Add(time.Hour)
	w.OnSigned(&hb)
	deadline := time.Now().Add(10 * time.Second)
	for len(col.all()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("heartbeat not delivered: %d objects", len(col.all()))
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Down, then up.
	col.setDown(true)
	var last *audit.Checkpoint
	for range 3 {
		last = signed(1)
	}
	time.Sleep(100 * time.Millisecond)
	if s, _ := v.DB.AuditSink(ctx, tenant.ID); s.Progress.Pending < 3 || s.Progress.LastError == "" {
		t.Errorf("while down: progress %+v, want 3 pending and an error", s.Progress)
	}
	col.setDown(false)
	wait(last.Size)

	// Stopped: what is signed meanwhile is delivered after the restart.
	w.Close()
	stopped := signed(2)
	w = start()
	w.Bind(l)
	w.Start()
	defer w.Close()
	wait(stopped.Size)

	stored, err := l.CheckpointsAfter(ctx, tenant.ID, c1.Size-1, 100)
	if err != nil {
		t.Fatal(err)
	}
	got := col.names()
	for _, c := range stored {
		o := sink.NewObject(c, nil, nil)
		if !got[o.Name("")] {
			t.Errorf("checkpoint of size %d never delivered", c.Size)
		}
	}
	key, err := l.VerifierKey(ctx, tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	logs, err := sink.Check(col.all(), key)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if got, want := logs[0].Newest.Size, stopped.Size; got != want {
		t.Errorf("newest = %d, want %d", got, want)
	}
	if got, want := logs[0].Objects, len(stored)+1; got != want {
		t.Errorf("objects = %d, want %d (every checkpoint and the heartbeat)", got, want)
	}
}

// TestWorker_RefusesPrivate: unless the operator allows it, the worker
// does not connect to a loopback (or private) address a firm names, and
// says why in the sink's status.
func TestWorker_RefusesPrivate(t *testing.T) {
	ctx := context.Background()
	col := &collector{}
	ts := httptest.NewTLSServer(col)
	defer ts.Close()
	v := vaulttest.Open(t, t.TempDir(), nil)
	w := sink.New(sink.Options{Store: v.DB, Interval: 20 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	l := vaulttest.UseAuditLog(t, v, func(o *audit.Options) { o.OnSigned = w.OnSigned })
	w.Bind(l)
	w.Start()
	defer w.Close()
	tenant, owner, _, err := v.Svc.CreateTenant(ctx, vault.NewTenant{Name: "Harbour LLP", Region: "us", Owner: vault.NewUser{Email: "owner@harbour.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Svc.SetAuditSink(ctx, owner, vault.AuditSinkConfig{Kind: vault.SinkWebhook, URL: ts.URL + "/in"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Checkpoint(ctx, tenant.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := v.DB.AuditSink(ctx, tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(s.Progress.LastError, "loopback, private or link-local") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("progress %+v, want the private address refused", s.Progress)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(col.all()); n != 0 {
		t.Errorf("the webhook on loopback received %d objects", n)
	}
}

// TestWorker_HangingSink: a firm whose webhook never answers delays no
// other firm's deliveries (DESIGN.md invariant 9).
func TestWorker_HangingSink(t *testing.T) {
	ctx := context.Background()
	release := make(chan struct{})
	hang := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	col := &collector{}
	ok := httptest.NewTLSServer(col)
	defer ok.Close()
	roots := x509.NewCertPool()
	roots.AddCert(hang.Certificate())
	roots.AddCert(ok.Certificate())

	v := vaulttest.Open(t, t.TempDir(), nil)
	w := sink.New(sink.Options{Store: v.DB, RootCAs: roots, AllowPrivate: true, Timeout: time.Minute,
		Interval: 20 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	l := vaulttest.UseAuditLog(t, v, func(o *audit.Options) { o.OnSigned = w.OnSigned })
	w.Bind(l)
	w.Start()
	defer w.Close()
	firm := func(name, url string) (*vault.Tenant, *vault.User) {
		tn, owner, _, err := v.Svc.CreateTenant(ctx, vault.NewTenant{Name: name, Region: "us", Owner: vault.NewUser{Email: "owner@" + name + ".example"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Svc.SetAuditSink(ctx, owner, vault.AuditSinkConfig{Kind: vault.SinkWebhook, URL: url}); err != nil {
			t.Fatal(err)
		}
		return tn, owner
	}
	stuck, _ := firm("stuck", hang.URL+"/in")
	good, owner := firm("good", ok.URL+"/in")
	if _, err := l.Checkpoint(ctx, stuck.ID); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := v.Svc.CreateMatter(ctx, owner, "Matter", "Client"); err != nil {
			t.Fatal(err)
		}
		c, err := l.Checkpoint(ctx, good.ID)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			s, err := v.DB.AuditSink(ctx, good.ID)
			if err != nil {
				t.Fatal(err)
			}
			if s.Progress.Cursor.Size >= c.Size {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the good firm's checkpoint of size %d waits behind the hanging sink: %+v", i, c.Size, s.Progress)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if s, _ := v.DB.AuditSink(ctx, stuck.ID); s.Progress.Cursor.Size != 0 {
		t.Errorf("the hanging sink got %d", s.Progress.Cursor.Size)
	}
}
