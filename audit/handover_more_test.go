package audit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/audit/handovertest"
	"github.com/casevault/casevault/vault"
)

// TestLog_MoveConcurrent runs each step of a move while the firm and
// other firms of both cells append: the handover is the firm's last event
// in the old cell whatever races it, appends after it are refused, and
// the other firms' appends all land, their chains whole.
func TestLog_MoveConcurrent(t *testing.T) {
	ctx := context.Background()
	e := newMoveEnv(t)
	us, ca := e.logs["us"], e.logs["ca"]
	tenant := e.firm(t, "us", 10)
	stay, local := e.firm(t, "us", 1), e.firm(t, "ca", 1)
	restore := audit.SetCopyHooks(7, nil)
	defer restore()

	stop := make(chan struct{})
	var others sync.WaitGroup
	var counts [2]atomic.Int64
	for i, x := range []struct {
		l      *audit.Log
		tenant string
	}{{us, stay}, {ca, local}} {
		others.Add(1)
		go func() {
			defer others.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := x.l.Append(ctx, sampleEvent(x.tenant, n)); err != nil {
					t.Errorf("append to %s: %v", x.tenant, err)
					return
				}
				counts[i].Add(1)
			}
		}()
	}
	// The firm's own users race the handover.
	var racers sync.WaitGroup
	var refused atomic.Int64
	for g := range 4 {
		racers.Add(1)
		go func() {
			defer racers.Done()
			for n := range 20 {
				if _, err := us.Append(ctx, sampleEvent(tenant, g*100+n)); err != nil {
					assertCode(t, err, vault.EUNAVAILABLE)
					refused.Add(1)
				}
			}
		}()
	}
	seq, err := us.Handover(ctx, tenant, e.handover(t, tenant, time.Now().UTC()))
	if err != nil {
		t.Fatal(err)
	}
	racers.Wait()
	if n := mustSize(t, us, tenant); n != seq {
		t.Fatalf("after the racing appends the log has %d events, want the handover's %d last", n, seq)
	}
	if got, want := seq+refused.Load(), int64(10+80+1); got != want {
		t.Errorf("handover seq %d + %d refused = %d, want %d appends", seq, refused.Load(), got, want)
	}
	if err := audit.CopyTenant(ctx, us, ca, tenant); err != nil {
		t.Fatal(err)
	}
	e.regions[tenant].Store("ca")
	if _, err := ca.Adopt(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	if err := us.DropTenant(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	close(stop)
	others.Wait()
	checkChain(t, us, stay, 1+counts[0].Load())
	checkChain(t, ca, local, 1+counts[1].Load())
	checkChain(t, ca, tenant, seq)
	if counts[0].Load() == 0 || counts[1].Load() == 0 {
		t.Errorf("other firms appended %d and %d events meanwhile, want some", counts[0].Load(), counts[1].Load())
	}
}

// TestLog_MoveBack moves a firm from us to ca and back: its log, back in
// the us cell, verifies with both keys, and the ca cell keeps nothing.
func TestLog_MoveBack(t *testing.T) {
	c := handovertest.New(t, "us", "ca")
	tenant := c.Firm(t, "us", 4)
	c.Move(t, tenant, "ca", "ca")
	c.Events(t, "ca", tenant, 3)
	c.Move(t, tenant, "us", "us")
	c.Events(t, "us", tenant, 2)
	b := c.Export(t, tenant)
	if goErr, refErr := verifyBoth(t, b, c.Key("us"), c.Key("ca")); goErr != nil || refErr != nil {
		t.Fatalf("bundle after moving back: Verify %v, refverify %v; want both nil", goErr, refErr)
	}
	if n := mustSize(t, c.Logs["ca"], tenant); n != 0 {
		t.Errorf("ca keeps %d events of the firm, want 0", n)
	}
	moves, err := c.Logs["us"].Moves(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	if len(moves) != 2 || moves[0].From != "us" || moves[1].To != "us" || moves[1].OldKey != c.Key("ca") {
		t.Errorf("moves = %+v, want us→ca then ca→us", moves)
	}
}
