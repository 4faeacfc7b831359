package vault_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/casevault/casevault/vault"
)

// noticeLog records the notices it is given.
type noticeLog struct {
	mu sync.Mutex
	ns []vault.Notice
}

func (l *noticeLog) Notify(_ context.Context, n vault.Notice) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ns = append(l.ns, n)
	return nil
}

func (l *noticeLog) all() []vault.Notice {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]vault.Notice(nil), l.ns...)
}

// TestService_BreachNotifies: a create and an update are each told to the
// Notifier after their event is on record, with the event's seq and the
// entry's page, and nothing else; a change that changes nothing records
// and tells nothing; with the audit log down nothing is stored or told.
func TestService_BreachNotifies(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	_, owner := e.firm(t, "Hale", "us")
	nl := &noticeLog{}
	e.Svc.Notifier = nl

	desc, status := "Phone lost on the train", vault.BreachClosed
	b, err := e.Svc.CreateBreach(ctx, owner, vault.BreachChange{Description: &desc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Svc.UpdateBreach(ctx, owner, b.ID, vault.BreachChange{Status: &status}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Svc.UpdateBreach(ctx, owner, b.ID, vault.BreachChange{Description: &desc}); err != nil {
		t.Fatal(err)
	}
	ns := nl.all()
	if len(ns) != 2 {
		t.Fatalf("notices = %+v, want 2 (the no-op update tells nothing)", ns)
	}
	var seqs []int64
	for i, ev := range e.Audit.Events() {
		if ev.Action == vault.ActBreachCreate || ev.Action == vault.ActBreachUpdate {
			seqs = append(seqs, int64(i+1))
		}
	}
	for i, kind := range []string{vault.NoticeBreachCreated, vault.NoticeBreachUpdated} {
		n := ns[i]
		if n.Kind != kind || n.TenantID != owner.TenantID || n.ObjectID != b.ID || n.Seq == 0 ||
			n.Path != "/settings/security/breaches/"+b.ID || n.Time.IsZero() {
			t.Errorf("notice %d = %+v, want %s of %s with its seq and page", i, n, kind, b.ID)
		}
	}
	if len(seqs) != 2 || ns[0].Seq != seqs[0] || ns[1].Seq != seqs[1] {
		t.Errorf("breach events at seqs %v, notices carry %d and %d: want the same", seqs, ns[0].Seq, ns[1].Seq)
	}

	e.Audit.Fail(errors.New("disk full"))
	other := "Second incident"
	if _, err := e.Svc.CreateBreach(ctx, owner, vault.BreachChange{Description: &other}); !vault.IsCode(err, vault.EUNAVAILABLE) {
		t.Fatalf("CreateBreach with the audit log down = %v, want unavailable", err)
	}
	e.Audit.Fail(nil)
	list, err := e.Svc.Breaches(ctx, owner)
	if err != nil || len(list) != 1 {
		t.Errorf("register after the failed create = %d entries, %v; want 1", len(list), err)
	}
	if len(nl.all()) != 2 {
		t.Errorf("a notice was sent for a create that did not happen")
	}
}
