package notify_test

import (
	"context"
	"strings"
	"testing"

	"github.com/casevault/casevault/notify"
	"github.com/casevault/casevault/vault"
)

// TestNotices_Drill: a failed restore drill, once recorded in each firm's
// log, is a notice to the firm's channels carrying that event's seq; a
// passed one is not; a stale backup is one too (rule backup_late).
func TestNotices_Drill(t *testing.T) {
	ctx := context.Background()
	rc, ts, roots := newReceiver(t)
	f := newFirm(t, t.TempDir(), notify.Options{RootCAs: roots, AllowPrivate: true})
	ch, err := f.v.Svc.CreateChannel(ctx, f.owner, vault.ChannelInput{Kind: vault.ChannelWebhook, URL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.secret = ch.Secret
	rc.mu.Unlock()
	if _, err := f.v.Svc.RecordDrill(ctx, "us", vault.DrillSummary{ID: "drl_passed", OK: true}, strings.Repeat("0", 64)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.Svc.RecordDrill(ctx, "us", vault.DrillSummary{ID: "drl_failed", Failure: "the backup does not restore"}, strings.Repeat("1", 64)); err != nil {
		t.Fatal(err)
	}
	if err := f.v.Svc.NotifyBackupLate(ctx, "us", "casevault"); err != nil {
		t.Fatal(err)
	}
	ds := f.deliveries(t)
	if got, want := len(ds), 2; got != want {
		t.Fatalf("deliveries: got %d, want %d (the failed drill, the late backup)", got, want)
	}
	for _, d := range ds {
		f.waitState(t, d.ID, vault.DeliveryDelivered)
	}
	found := false
	for _, e := range f.v.Audit.Events() {
		found = found || (e.Action == vault.ActBackupDrill && e.TenantID == f.tenant.ID && e.Details["drill_id"] == "drl_failed")
	}
	if !found {
		t.Fatal("no backup.drill event of the failed drill")
	}
	var sawDrill, sawLate bool
	for _, b := range rc.bodies() {
		s := string(b)
		switch {
		case strings.Contains(s, `"object_id":"drl_failed"`):
			sawDrill = true
			if !strings.Contains(s, `"rule":"restore_drill"`) || strings.Contains(s, `"seq":0`) {
				t.Errorf("drill notice: got %s, want rule restore_drill and the event's seq", s)
			}
		case strings.Contains(s, `"rule":"backup_late"`):
			sawLate = true
			if !strings.Contains(s, `"object_id":"casevault"`) {
				t.Errorf("late-backup notice: got %s", s)
			}
		case strings.Contains(s, "drl_passed"):
			t.Errorf("a passed drill was notified: %s", s)
		}
	}
	if !sawDrill || !sawLate {
		t.Errorf("bodies: drill %v, late %v; want both", sawDrill, sawLate)
	}
	for _, d := range ds {
		if d.Notice.ObjectID == "drl_failed" && d.Notice.Seq <= 0 {
			t.Errorf("drill notice seq: got %d, want the backup.drill event's", d.Notice.Seq)
		}
	}
}

// TestWorker_ChannelDeleted: a delivery pending when its channel is
// deleted ends as a dead letter (channel_deleted) at its next attempt,
// without further retries.
func TestWorker_ChannelDeleted(t *testing.T) {
	ctx := context.Background()
	rc, ts, roots := newReceiver(t)
	f := newFirm(t, t.TempDir(), notify.Options{RootCAs: roots, AllowPrivate: true, Attempts: 100})
	ch, err := f.v.Svc.CreateChannel(ctx, f.owner, vault.ChannelInput{Kind: vault.ChannelWebhook, URL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	rc.setDown(true)
	if err := f.w.Notify(ctx, f.alert("alr_gone")); err != nil {
		t.Fatal(err)
	}
	id := f.deliveries(t)[0].ID
	if err := f.v.Svc.DeleteChannel(ctx, f.owner, ch.ID); err != nil {
		t.Fatal(err)
	}
	d := f.waitState(t, id, vault.DeliveryDead)
	if got, want := d.Attempts[len(d.Attempts)-1].Error, "channel_deleted"; got != want {
		t.Errorf("last error: got %q, want %q", got, want)
	}
}
