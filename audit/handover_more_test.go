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
// other firms of both cells append: the firm's own appends racing the
// handover all land, before or after it (a move's freeze keeps users
// out; a crash lifts it); the handover's checkpoint is of the tree that
// ends with it, the copy takes the events after it, the adoption signs
// them all; the other firms' appends all land, their chains whole.
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
	for g := range 4 {
		racers.Add(1)
		go func() {
			defer racers.Done()
			for n := range 20 {
				if _, err := us.Append(ctx, sampleEvent(tenant, g*100+n)); err != nil {
					t.Errorf("append racing the handover: %v", err)
				}
			}
		}()
	}
	seq, err := us.Handover(ctx, tenant, e.handover(t, tenant, time.Now().UTC()))
	if err != nil {
		t.Fatal(err)
	}
	racers.Wait()
	const all = 10 + 80 + 1
	if n := mustSize(t, us, tenant); n != all {
		t.Fatalf("after the racing appends the log has %d events, want %d", n, all)
	}
	// Nothing of the firm is signed in the old cell after the handover.
	_, err = us.Checkpoint(ctx, tenant)
	assertCode(t, err, vault.EUNAVAILABLE)
	if err := audit.CopyTenant(ctx, us, ca, tenant); err != nil {
		t.Fatal(err)
	}
	e.switchTo(t, tenant, "ca")
	c, err := ca.Adopt(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if c.Size != all {
		t.Errorf("adopted checkpoint of %d events, want %d", c.Size, all)
	}
	if err := us.DropTenant(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	close(stop)
	others.Wait()
	checkChain(t, us, stay, 1+counts[0].Load())
	checkChain(t, ca, local, 1+counts[1].Load())
	checkChain(t, ca, tenant, all)
	if seq < 11 || seq > all {
		t.Errorf("handover seq %d, want between 11 and %d", seq, all)
	}
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

// TestLog_MoveSwitchInterrupted stops a move inside its switch, each way
// a crash can: after SwitchIn before the directory names ca (the firm
// goes on in us, appending; the rerun copies again), and after the
// directory names ca before SwitchOut (the firm goes on in ca, appending
// before the adoption). Each reopened log keeps its hold, and the move
// ends in a log that verifies with both keys.
func TestLog_MoveSwitchInterrupted(t *testing.T) {
	ctx := context.Background()
	e := newMoveEnv(t)
	tenant := e.firm(t, "us", 12)
	if _, err := e.logs["us"].Handover(ctx, tenant, e.handover(t, tenant, time.Now().UTC())); err != nil {
		t.Fatal(err)
	}
	if err := audit.CopyTenant(ctx, e.logs["us"], e.logs["ca"], tenant); err != nil {
		t.Fatal(err)
	}
	if err := audit.SwitchIn(ctx, e.logs["us"], e.logs["ca"], tenant); err != nil {
		t.Fatal(err)
	}
	reopen := func() {
		for _, r := range []string{"us", "ca"} {
			e.logs[r].Close()
			e.logs[r] = e.open(t, r)
		}
	}
	reopen()
	// Crash before the directory switch: served from us.
	appendN(t, e.logs["us"], tenant, 4)
	if err := audit.SwitchIn(ctx, e.logs["us"], e.logs["ca"], tenant); err != nil {
		t.Fatalf("SwitchIn again (held adopting): %v", err)
	}
	e.regions[tenant].Store("ca")
	if err := audit.SwitchOut(ctx, e.logs["us"], e.logs["ca"], tenant); !vault.IsCode(err, vault.ECONFLICT) {
		t.Fatalf("SwitchOut with 4 events not copied: %v, want conflict", err)
	}
	e.regions[tenant].Store("us")
	if err := audit.CopyTenant(ctx, e.logs["us"], e.logs["ca"], tenant); err != nil {
		t.Fatalf("CopyTenant after SwitchIn: %v", err)
	}
	if err := audit.SwitchIn(ctx, e.logs["us"], e.logs["ca"], tenant); err != nil {
		t.Fatal(err)
	}
	e.regions[tenant].Store("ca")
	reopen()
	// Crash after the directory switch, before SwitchOut: served from ca.
	appendN(t, e.logs["ca"], tenant, 3)
	if err := audit.SwitchOut(ctx, e.logs["us"], e.logs["ca"], tenant); err != nil {
		t.Fatal(err)
	}
	c, err := e.logs["ca"].Adopt(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if c.Size != 12+1+4+3 {
		t.Errorf("adopted size %d, want %d", c.Size, 12+1+4+3)
	}
	if err := e.logs["us"].DropTenant(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	b := exportFrom(t, e.logs["ca"], tenant)
	if goErr, refErr := verifyBoth(t, b, e.key("us"), e.key("ca")); goErr != nil || refErr != nil {
		t.Fatalf("bundle: Verify %v, refverify %v; want both nil", goErr, refErr)
	}
}
