package notify_test

import (
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casevault/casevault/internal/mailtest"
	"github.com/casevault/casevault/notify"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

// marker is in every name the tests give: firm, users, matter, document.
const marker = "ZEBRAQUOKKA"

// firm is a vault with one firm whose every name carries marker, and a
// notify worker as its Notifier.
type firm struct {
	v      *vaulttest.Vault
	w      *notify.Worker
	tenant *vault.Tenant
	owner  *vault.User
	users  map[vault.Role]*vault.User
	other  *vault.User // the owner of another firm
	matter *vault.Matter
}

// newFirm opens a vault in dir with opts for its worker (Store and
// Recorder filled in) and creates the firm, a user of each role, a matter
// and a document, all named with marker.
func newFirm(t *testing.T, dir string, opts notify.Options) *firm {
	t.Helper()
	ctx := context.Background()
	v := vaulttest.Open(t, dir, nil)
	f := &firm{v: v, users: map[vault.Role]*vault.User{}}
	f.w = startWorker(t, v, opts)
	var err error
	f.tenant, f.owner, _, err = v.Svc.CreateTenant(ctx, vault.NewTenant{Name: marker + " LLP", Region: "us",
		Owner: vault.NewUser{Email: "owner-" + strings.ToLower(marker) + "@firm.example", Name: marker + " Owner"}})
	if err != nil {
		t.Fatal(err)
	}
	f.users[vault.RoleOwner] = f.owner
	for _, r := range []vault.Role{vault.RoleAdmin, vault.RoleLawyer, vault.RoleAuditor} {
		u, _, err := v.Svc.CreateUser(ctx, f.owner, vault.NewUser{Email: string(r) + "-" + strings.ToLower(marker) + "@firm.example",
			Name: marker + " " + string(r), Role: r})
		if err != nil {
			t.Fatal(err)
		}
		f.users[r] = u
	}
	if f.matter, err = v.Svc.CreateMatter(ctx, f.owner, marker+" v. Acme", marker+" Client"); err != nil {
		t.Fatal(err)
	}
	if _, err = v.Svc.PutDocument(ctx, f.owner, vault.NewDocument{MatterID: f.matter.ID, Name: marker + " memo.txt", ContentType: "text/plain"}, strings.NewReader(marker+" contents"), -1); err != nil {
		t.Fatal(err)
	}
	_, f.other, _, err = v.Svc.CreateTenant(ctx, vault.NewTenant{Name: "Other LLP", Region: "us", Owner: vault.NewUser{Email: "owner@other.example"}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// startWorker starts a worker over v with fast retries, closed by t.
func startWorker(t *testing.T, v *vaulttest.Vault, opts notify.Options) *notify.Worker {
	t.Helper()
	opts.Store, opts.Recorder, opts.Now = v.DB, v.Svc, v.Clock.Now
	if opts.Interval == 0 {
		opts.Interval = 20 * time.Millisecond
	}
	if opts.FirstRetry == 0 {
		opts.FirstRetry, opts.MaxRetry = 10*time.Millisecond, 40*time.Millisecond
	}
	if opts.Attempts == 0 {
		opts.Attempts = 3
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.PublicURL == "" {
		opts.PublicURL = "https://vault.example"
	}
	w := notify.New(opts)
	v.Svc.Notifier = w
	w.Start()
	t.Cleanup(w.Close)
	return w
}

// alert is the notice of an alert of f's firm, as DETECT raises it.
func (f *firm) alert(id string) vault.Notice {
	return vault.Notice{TenantID: f.tenant.ID, Kind: vault.NoticeAlertRaised, ObjectID: id, Seq: 42,
		Rule: "downloads_per_hour", Severity: "warning", Path: "/settings/security/alerts/" + id}
}

// waitState polls until delivery id of f's firm is in state.
func (f *firm) waitState(t *testing.T, id, state string) *vault.Delivery {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		d, err := f.v.DB.Delivery(context.Background(), f.tenant.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.State == state {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s: got state %s after %d attempts, want %s", id, d.State, len(d.Attempts), state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// deliveries returns every delivery of f's firm.
func (f *firm) deliveries(t *testing.T) []*vault.Delivery {
	t.Helper()
	ds, err := f.v.Svc.Deliveries(context.Background(), f.owner, vault.DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// events returns the audit events of f's firm with action.
func (f *firm) events(action string) []vault.AuditEvent {
	var out []vault.AuditEvent
	for _, e := range f.v.Audit.Events() {
		if e.Action == action && e.TenantID == f.tenant.ID {
			out = append(out, e)
		}
	}
	return out
}

// receiver is an HTTPS webhook receiver that checks signatures as
// docs/WEBHOOKS.md says: HMAC over "t.body", timestamp within tolerance,
// each delivery id accepted once.
type receiver struct {
	mu        sync.Mutex
	secret    string
	down      bool
	seen      map[string]bool
	accepted  [][]byte
	rejected  []string
	tolerance time.Duration
	now       func() time.Time
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(r.Body)
	if err := notify.Verify(rc.secret, r.Header.Get(notify.HeaderSignature), body, rc.now(), rc.tolerance); err != nil {
		rc.rejected = append(rc.rejected, err.Error())
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	id := r.Header.Get(notify.HeaderDelivery)
	if rc.seen[id] {
		rc.rejected = append(rc.rejected, "replay "+id)
		w.WriteHeader(http.StatusOK) // already processed: acknowledged, not acted on again
		return
	}
	rc.seen[id] = true
	rc.accepted = append(rc.accepted, body)
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) setDown(b bool) { rc.mu.Lock(); rc.down = b; rc.mu.Unlock() }

func (rc *receiver) bodies() [][]byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([][]byte(nil), rc.accepted...)
}

// newReceiver starts an HTTPS receiver and returns it with a CA pool that
// trusts it.
func newReceiver(t *testing.T) (*receiver, *httptest.Server, *x509.CertPool) {
	t.Helper()
	rc := &receiver{seen: map[string]bool{}, tolerance: 5 * time.Minute, now: time.Now}
	ts := httptest.NewTLSServer(rc)
	t.Cleanup(ts.Close)
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())
	return rc, ts, roots
}

// TestWorker_Email: a notice reaches a real SMTP server (mailpit) for each
// recipient, with the kind in the subject and the link and ids in the body,
// and nothing of the firm's names.
func TestWorker_Email(t *testing.T) {
	ctx := context.Background()
	mp := mailtest.Start(t)
	f := newFirm(t, t.TempDir(), notify.Options{SMTP: &notify.SMTPConfig{Host: mp.Host, Port: mp.SMTPPort, TLS: notify.SMTPNone,
		From: "casevault@vault.example"}})
	recipients := []string{"security@firm.example", "Partner@Firm.example"}
	ch, err := f.v.Svc.CreateChannel(ctx, f.users[vault.RoleAdmin], vault.ChannelInput{Kind: vault.ChannelEmail, Recipients: recipients})
	if err != nil {
		t.Fatal(err)
	}
	n := f.alert("alr_testalert")
	if err := f.v.Svc.Notifier.Notify(ctx, n); err != nil {
		t.Fatal(err)
	}
	ms := mp.Wait(t, 1)
	if len(ms) != 1 {
		t.Fatalf("got %d messages, want 1", len(ms))
	}
	m := ms[0]
	var to []string
	for _, a := range m.To {
		to = append(to, a.Address)
	}
	if got, want := strings.Join(to, ","), "security@firm.example,partner@firm.example"; got != want {
		t.Errorf("recipients: got %s, want %s", got, want)
	}
	if got, want := m.Subject, "[CaseVault] Alert raised: downloads_per_hour (warning)"; got != want {
		t.Errorf("subject: got %q, want %q", got, want)
	}
	ds := f.deliveries(t)
	if len(ds) != 1 {
		t.Fatalf("got %d deliveries, want 1", len(ds))
	}
	d := f.waitState(t, ds[0].ID, vault.DeliveryDelivered)
	for _, want := range []string{"https://vault.example/settings/security/alerts/alr_testalert", "alr_testalert", f.tenant.ID,
		d.NoticeID, d.ID, "Audit seq: 42"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("body lacks %q:\n%s", want, m.Text)
		}
	}
	if got, want := d.ChannelID, ch.ID; got != want {
		t.Errorf("channel: got %s, want %s", got, want)
	}
	if len(d.Attempts) != 1 || d.Attempts[0].Status != 250 || d.Attempts[0].Result != vault.AttemptOK {
		t.Errorf("attempts: got %+v, want one ok with status 250", d.Attempts)
	}
	if got := len(f.events(vault.ActNotifyDelivered)); got != 1 {
		t.Errorf("notify.delivered events: got %d, want 1", got)
	}
	if strings.Contains(strings.ToLower(m.Raw), strings.ToLower(marker)) {
		t.Errorf("the message holds the marker:\n%s", m.Raw)
	}
}

// TestWorker_Webhook: a notice reaches an HTTPS receiver that checks the
// signature; the same body tampered, or replayed, is refused by the
// documented check.
func TestWorker_Webhook(t *testing.T) {
	ctx := context.Background()
	rc, ts, roots := newReceiver(t)
	f := newFirm(t, t.TempDir(), notify.Options{RootCAs: roots, AllowPrivate: true})
	ch, err := f.v.Svc.CreateChannel(ctx, f.owner, vault.ChannelInput{Kind: vault.ChannelWebhook, URL: ts.URL + "/hooks/casevault"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ch.Secret, vault.WebhookSecretPrefix) {
		t.Fatalf("secret: got %q, want one starting %s", ch.Secret, vault.WebhookSecretPrefix)
	}
	rc.mu.Lock()
	rc.secret = ch.Secret
	rc.mu.Unlock()
	list, err := f.v.Svc.Channels(ctx, f.users[vault.RoleAuditor])
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Secret != "" || list[0].URL != ts.URL+"/hooks/casevault" {
		t.Errorf("listed channels: got %+v, want the webhook without its secret", list)
	}
	if err := f.v.Svc.Notifier.Notify(ctx, f.alert("alr_webhook")); err != nil {
		t.Fatal(err)
	}
	ds := f.deliveries(t)
	d := f.waitState(t, ds[0].ID, vault.DeliveryDelivered)
	bodies := rc.bodies()
	if len(bodies) != 1 {
		t.Fatalf("accepted bodies: got %d, want 1", len(bodies))
	}
	body := string(bodies[0])
	for _, want := range []string{`"id":"` + d.ID + `"`, `"kind":"alert.raised"`, `"object_id":"alr_webhook"`, `"seq":42`,
		`"url":"https://vault.example/settings/security/alerts/alr_webhook"`, `"tenant_id":"` + f.tenant.ID + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %s: %s", want, body)
		}
	}
	if got, want := d.Attempts[0].Status, http.StatusNoContent; got != want {
		t.Errorf("status: got %d, want %d", got, want)
	}

	// The documented check, from outside.
	now := time.Now()
	sig := notify.Sign(ch.Secret, now, bodies[0])
	if err := notify.Verify(ch.Secret, sig, bodies[0], now, 5*time.Minute); err != nil {
		t.Errorf("valid signature: %v", err)
	}
	tampered := []byte(strings.Replace(body, "alr_webhook", "alr_webhooX", 1))
	if err := notify.Verify(ch.Secret, sig, tampered, now, 5*time.Minute); err != notify.ErrBadSignature {
		t.Errorf("tampered body: got %v, want %v", err, notify.ErrBadSignature)
	}
	if err := notify.Verify(ch.Secret, sig, bodies[0], now.Add(6*time.Minute), 5*time.Minute); err != notify.ErrStale {
		t.Errorf("replay after the tolerance: got %v, want %v", err, notify.ErrStale)
	}
	if err := notify.Verify("cvwh_other", sig, bodies[0], now, 5*time.Minute); err != notify.ErrBadSignature {
		t.Errorf("other secret: got %v, want %v", err, notify.ErrBadSignature)
	}
	// A replay within the tolerance is caught by the delivery id.
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/hooks/casevault", strings.NewReader(body))
	req.Header.Set(notify.HeaderSignature, sig)
	req.Header.Set(notify.HeaderDelivery, d.ID)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := len(rc.bodies()); got != 1 {
		t.Errorf("after a replay: got %d accepted bodies, want 1", got)
	}
	// A tampered body with the real signature is refused.
	req, _ = http.NewRequest(http.MethodPost, ts.URL+"/hooks/casevault", strings.NewReader(string(tampered)))
	req.Header.Set(notify.HeaderSignature, sig)
	req.Header.Set(notify.HeaderDelivery, "ndl_forged")
	resp, err = ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusUnauthorized; got != want {
		t.Errorf("tampered delivery: got HTTP %d, want %d", got, want)
	}
}

// TestWorker_DeadLetterRedrive: a receiver that is down gets every attempt
// (each recorded), the delivery ends in the dead letters with a
// notify.dead_letter event, and a redrive after it comes back delivers it,
// with one notify.delivered event.
func TestWorker_DeadLetterRedrive(t *testing.T) {
	ctx := context.Background()
	rc, ts, roots := newReceiver(t)
	f := newFirm(t, t.TempDir(), notify.Options{RootCAs: roots, AllowPrivate: true, Attempts: 3})
	ch, err := f.v.Svc.CreateChannel(ctx, f.owner, vault.ChannelInput{Kind: vault.ChannelWebhook, URL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.secret = ch.Secret
	rc.mu.Unlock()
	rc.setDown(true)
	if err := f.v.Svc.Notifier.Notify(ctx, f.alert("alr_down")); err != nil {
		t.Fatal(err)
	}
	id := f.deliveries(t)[0].ID
	d := f.waitState(t, id, vault.DeliveryDead)
	if got, want := len(d.Attempts), 3; got != want {
		t.Fatalf("attempts: got %d, want %d", got, want)
	}
	for i, a := range d.Attempts {
		if a.N != i+1 || a.Result != vault.AttemptFailed || a.Status != http.StatusServiceUnavailable || a.Error != "http_status" {
			t.Errorf("attempt %d: got %+v, want failed with 503", i+1, a)
		}
		if (a.NextAt == nil) != (i == 2) {
			t.Errorf("attempt %d: next_at %v", i+1, a.NextAt)
		}
	}
	dead, err := f.v.Svc.Deliveries(ctx, f.users[vault.RoleAuditor], vault.DeliveryFilter{State: vault.DeliveryDead})
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].ID != id {
		t.Fatalf("dead letters: got %d, want %s", len(dead), id)
	}
	if got := len(f.events(vault.ActNotifyDeadLetter)); got != 1 {
		t.Errorf("notify.dead_letter events: got %d, want 1", got)
	}
	if _, err := f.v.Svc.Redrive(ctx, f.users[vault.RoleLawyer], id); !vault.IsCode(err, vault.EFORBIDDEN) {
		t.Errorf("lawyer redrive: got %v, want forbidden", err)
	}
	if _, err := f.v.Svc.Redrive(ctx, f.other, id); !vault.IsCode(err, vault.ENOTFOUND) {
		t.Errorf("other firm's redrive: got %v, want not_found", err)
	}

	rc.setDown(false)
	if _, err := f.v.Svc.Redrive(ctx, f.users[vault.RoleAdmin], id); err != nil {
		t.Fatal(err)
	}
	d = f.waitState(t, id, vault.DeliveryDelivered)
	if got, want := len(d.Attempts), 4; got != want {
		t.Errorf("attempts after the redrive: got %d, want %d", got, want)
	}
	if _, err := f.v.Svc.Redrive(ctx, f.owner, id); !vault.IsCode(err, vault.ECONFLICT) {
		t.Errorf("redrive of a delivered one: got %v, want conflict", err)
	}
	for action, want := range map[string]int{vault.ActNotifyRedrive: 1, vault.ActNotifyDelivered: 1, vault.ActNotifyDeadLetter: 1} {
		if got := len(f.events(action)); got != want {
			t.Errorf("%s events: got %d, want %d", action, got, want)
		}
	}
	if got := len(rc.bodies()); got != 1 {
		t.Errorf("accepted bodies: got %d, want 1", got)
	}
}

// TestWorker_Restart: what was queued while no worker ran is delivered by
// the next one, on the same database.
func TestWorker_Restart(t *testing.T) {
	ctx := context.Background()
	rc, ts, roots := newReceiver(t)
	dir := t.TempDir()
	f := newFirm(t, dir, notify.Options{RootCAs: roots, AllowPrivate: true})
	ch, err := f.v.Svc.CreateChannel(ctx, f.owner, vault.ChannelInput{Kind: vault.ChannelWebhook, URL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.secret = ch.Secret
	rc.mu.Unlock()
	f.w.Close() // the server stops
	if err := f.w.Notify(ctx, f.alert("alr_queued")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if got := len(rc.bodies()); got != 0 {
		t.Fatalf("delivered by a closed worker: %d", got)
	}
	startWorker(t, f.v, notify.Options{RootCAs: roots, AllowPrivate: true}) // the next start
	f.waitState(t, f.deliveries(t)[0].ID, vault.DeliveryDelivered)
	if got := len(rc.bodies()); got != 1 {
		t.Errorf("accepted bodies: got %d, want 1", got)
	}
}

// TestWorker_PrivateAddress: without allow_private_webhooks a webhook on
// loopback is refused at connect time, and a redirect is never followed.
func TestWorker_PrivateAddress(t *testing.T) {
	ctx := context.Background()
	_, ts, roots := newReceiver(t)
	f := newFirm(t, t.TempDir(), notify.Options{RootCAs: roots, Attempts: 1})
	if _, err := f.v.Svc.CreateChannel(ctx, f.owner, vault.ChannelInput{Kind: vault.ChannelWebhook, URL: ts.URL}); err != nil {
		t.Fatal(err)
	}
	if err := f.w.Notify(ctx, f.alert("alr_private")); err != nil {
		t.Fatal(err)
	}
	d := f.waitState(t, f.deliveries(t)[0].ID, vault.DeliveryDead)
	if got, want := d.Attempts[0].Error, "private_address"; got != want {
		t.Errorf("error: got %q, want %q", got, want)
	}

	// Redirects: the receiver answers 307 elsewhere; the attempt fails.
	hits := 0
	var mu sync.Mutex
	target := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mu.Lock(); hits++; mu.Unlock() }))
	defer target.Close()
	redir := httptest.NewTLSServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	defer redir.Close()
	roots.AddCert(redir.Certificate())
	roots.AddCert(target.Certificate())
	g := newFirm(t, t.TempDir(), notify.Options{RootCAs: roots, AllowPrivate: true, Attempts: 1})
	if _, err := g.v.Svc.CreateChannel(ctx, g.owner, vault.ChannelInput{Kind: vault.ChannelWebhook, URL: redir.URL}); err != nil {
		t.Fatal(err)
	}
	if err := g.w.Notify(ctx, g.alert("alr_redirect")); err != nil {
		t.Fatal(err)
	}
	d = g.waitState(t, g.deliveries(t)[0].ID, vault.DeliveryDead)
	if got, want := d.Attempts[0].Status, http.StatusTemporaryRedirect; got != want {
		t.Errorf("status: got %d, want %d", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 0 {
		t.Errorf("the redirect was followed: %d hits", hits)
	}
}

// TestChannels_Permissions: owners and admins manage channels, auditors
// read them, lawyers do neither, another firm's channel is not_found, and
// an email channel is refused while the server has no SMTP server.
func TestChannels_Permissions(t *testing.T) {
	ctx := context.Background()
	f := newFirm(t, t.TempDir(), notify.Options{})
	svc := f.v.Svc
	hook := vault.ChannelInput{Kind: vault.ChannelWebhook, URL: "https://hooks.example/in"}
	ch, err := svc.CreateChannel(ctx, f.users[vault.RoleAdmin], hook)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []vault.Role{vault.RoleLawyer, vault.RoleAuditor} {
		if _, err := svc.CreateChannel(ctx, f.users[r], hook); !vault.IsCode(err, vault.EFORBIDDEN) {
			t.Errorf("%s create: got %v, want forbidden", r, err)
		}
		if err := svc.DeleteChannel(ctx, f.users[r], ch.ID); !vault.IsCode(err, vault.EFORBIDDEN) {
			t.Errorf("%s delete: got %v, want forbidden", r, err)
		}
		if _, err := svc.TestChannel(ctx, f.users[r], ch.ID); !vault.IsCode(err, vault.EFORBIDDEN) {
			t.Errorf("%s test: got %v, want forbidden", r, err)
		}
	}
	if _, err := svc.Channels(ctx, f.users[vault.RoleLawyer]); !vault.IsCode(err, vault.EFORBIDDEN) {
		t.Errorf("lawyer list: got %v, want forbidden", err)
	}
	if _, err := svc.Channels(ctx, f.users[vault.RoleAuditor]); err != nil {
		t.Errorf("auditor list: %v", err)
	}
	if err := svc.DeleteChannel(ctx, f.other, ch.ID); !vault.IsCode(err, vault.ENOTFOUND) {
		t.Errorf("other firm's delete: got %v, want not_found", err)
	}
	if _, err := svc.TestChannel(ctx, f.other, ch.ID); !vault.IsCode(err, vault.ENOTFOUND) {
		t.Errorf("other firm's test: got %v, want not_found", err)
	}
	if list, err := svc.Channels(ctx, f.other); err != nil || len(list) != 0 {
		t.Errorf("other firm's list: got %d, %v; want none", len(list), err)
	}
	_, err = svc.CreateChannel(ctx, f.owner, vault.ChannelInput{Kind: vault.ChannelEmail, Recipients: []string{"a@firm.example"}})
	if !vault.IsCode(err, vault.EINVALID) || !strings.Contains(vault.ErrorMessage(err), "not configured") {
		t.Errorf("email without SMTP: got %v, want invalid, not configured", err)
	}
	for _, in := range []vault.ChannelInput{
		{Kind: vault.ChannelWebhook, URL: "http://hooks.example/in"},
		{Kind: vault.ChannelWebhook, URL: "https://user:pw@hooks.example/in"},
		{Kind: vault.ChannelWebhook},
		{Kind: "sms"},
	} {
		if _, err := svc.CreateChannel(ctx, f.owner, in); !vault.IsCode(err, vault.EINVALID) {
			t.Errorf("%+v: got %v, want invalid", in, err)
		}
	}
	if err := svc.DeleteChannel(ctx, f.owner, ch.ID); err != nil {
		t.Fatal(err)
	}
	for action, want := range map[string]int{vault.ActNotifyChannelSet: 1, vault.ActNotifyChannelDelete: 1} {
		if got := len(f.events(action)); got != want {
			t.Errorf("%s events: got %d, want %d", action, got, want)
		}
	}
	for _, e := range f.events(vault.ActNotifyChannelSet) {
		for k, v := range e.Details {
			if strings.Contains(v, "hooks.example") {
				t.Errorf("channel_set detail %s holds the URL in the clear", k)
			}
		}
	}
}

// TestNotify_AtRest: the cell's database file holds no channel address,
// URL or secret, nor a name of the firm's, after channels were made and
// notices delivered.
func TestNotify_AtRest(t *testing.T) {
	ctx := context.Background()
	rc, ts, roots := newReceiver(t)
	mp := mailtest.Start(t)
	dir := t.TempDir()
	f := newFirm(t, dir, notify.Options{RootCAs: roots, AllowPrivate: true,
		SMTP: &notify.SMTPConfig{Host: mp.Host, Port: mp.SMTPPort, TLS: notify.SMTPNone, From: "casevault@vault.example"}})
	hookURL := ts.URL + "/secret-path-" + strings.ToLower(marker) + "-hook"
	ch, err := f.v.Svc.CreateChannel(ctx, f.owner, vault.ChannelInput{Kind: vault.ChannelWebhook, URL: hookURL})
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.secret = ch.Secret
	rc.mu.Unlock()
	addr := "breach-desk-7731@firm.example" // the recipient; scanned for in the database
	if _, err := f.v.Svc.CreateChannel(ctx, f.owner, vault.ChannelInput{Kind: vault.ChannelEmail, Recipients: []string{addr}}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{vault.NoticeAlertRaised, vault.NoticeBreachCreated, vault.NoticeBreachUpdated, vault.NoticeContainment, vault.NoticeDrillFailed} {
		n := f.alert("obj_" + strings.ReplaceAll(k, ".", "_"))
		n.Kind = k
		if err := f.w.Notify(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range f.deliveries(t) {
		f.waitState(t, d.ID, vault.DeliveryDelivered)
	}
	// Every message and webhook body, scanned for the marker.
	for _, m := range mp.Wait(t, 5) {
		if strings.Contains(strings.ToLower(m.Raw), strings.ToLower(marker)) {
			t.Errorf("message %q holds the marker", m.Subject)
		}
	}
	bodies := rc.bodies()
	if got, want := len(bodies), 5; got != want {
		t.Errorf("webhook bodies: got %d, want %d", got, want)
	}
	for _, b := range bodies {
		if strings.Contains(strings.ToLower(string(b)), strings.ToLower(marker)) {
			t.Errorf("webhook body holds the marker: %s", b)
		}
	}
	hits, read := vaulttest.MarkersInDatabase(t, filepath.Join(dir, "casevault.db"), marker, addr, hookURL, ch.Secret,
		"secret-path", "breach-desk", ch.Secret[len(vault.WebhookSecretPrefix):len(vault.WebhookSecretPrefix)+16])
	if read == 0 {
		t.Fatal("no database file read")
	}
	if len(hits) > 0 {
		t.Errorf("found in the clear: %v", hits)
	}
}
