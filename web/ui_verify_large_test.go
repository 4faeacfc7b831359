package web_test

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

// TestUIVerify_Large verifies a bundle of many events (2,000, or
// CASEVAULT_VERIFY_EVENTS) on the page and with audit.Verify, and logs how
// long each took (no threshold: timings do not belong in tests).
func TestUIVerify_Large(t *testing.T) {
	n := 2000
	if s := os.Getenv("CASEVAULT_VERIFY_EVENTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	fx := newVerifyFixture(t)
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed error
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				_, err := fx.e.Audit.Append(ctx, &vault.AuditEvent{
					TenantID: fx.owner.TenantID, ActorID: fx.lawyer.ID, ActorEmail: "lawyer@example.com", Source: "192.0.2.7",
					UserAgent: "Mozilla/5.0", Action: vault.ActDocumentView, ObjectType: "document", ObjectID: "doc_" + strconv.Itoa(i),
					Outcome: "ok", Details: map[string]string{"version": "1", "offset": "0", "length": "1200"},
					Private: map[string]string{"name": "Document " + strconv.Itoa(i) + ".pdf"},
				})
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if failed != nil {
		t.Fatal(failed)
	}
	t.Logf("appended %d events in %v", n, time.Since(start))
	b := fx.export(t, vault.AuditFilter{})
	start = time.Now()
	if g := goVerdict(t, fx, verifyCase{b: b}); !g.ok {
		t.Fatalf("audit.Verify: %v", g)
	}
	goTime := time.Since(start)
	p := openVerifyPage(t, fx)
	start = time.Now()
	if w := p.run(t, fx, verifyCase{name: "large", b: b, ok: true}); !w.ok {
		t.Fatalf("page: %v", w)
	}
	t.Logf("bundle of %d bytes: audit.Verify %v, the page %v", len(b), goTime, time.Since(start))
}
