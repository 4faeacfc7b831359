package vault_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
)

var goodS3 = vault.AuditSinkConfig{
	Kind: vault.SinkS3, Endpoint: "https://s3.ca-central-1.amazonaws.com", Bucket: "harbour-audit",
	Prefix: "casevault/copies", Region: "ca-central-1", AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "secret-of-the-firm",
}

// TestService_AuditSink: only the owner sets and removes the firm's sink;
// owners and admins read it without its secrets; each change is on record
// first, with where to and never a secret; nothing changes when the record
// cannot be written; another firm sees none.
func TestService_AuditSink(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	tenant, owner := e.firm(t, "Harbour LLP", "us")
	_, otherOwner := e.firm(t, "Other LLP", "us")
	admin := e.user(t, tenant.ID, vault.RoleAdmin)
	lawyer := e.user(t, tenant.ID, vault.RoleLawyer)
	auditor := e.user(t, tenant.ID, vault.RoleAuditor)

	for _, u := range []*vault.User{admin, lawyer, auditor} {
		if _, err := e.Svc.SetAuditSink(ctx, u, goodS3); vault.ErrorCode(err) != vault.EFORBIDDEN {
			t.Errorf("SetAuditSink as %s = %v, want forbidden", u.Role, err)
		}
	}
	if _, err := e.Svc.AuditSink(ctx, owner); vault.ErrorCode(err) != vault.ENOTFOUND {
		t.Errorf("AuditSink before any = %v, want not_found", err)
	}

	e.Audit.Fail(errors.New("disk full"))
	if _, err := e.Svc.SetAuditSink(ctx, owner, goodS3); vault.ErrorCode(err) != vault.EUNAVAILABLE {
		t.Fatalf("SetAuditSink with the audit log down = %v, want unavailable", err)
	}
	e.Audit.Fail(nil)
	if _, err := e.Svc.AuditSink(ctx, owner); vault.ErrorCode(err) != vault.ENOTFOUND {
		t.Errorf("a sink was stored though its record failed: %v", err)
	}

	v, err := e.Svc.SetAuditSink(ctx, owner, goodS3)
	if err != nil {
		t.Fatal(err)
	}
	evs := e.Audit.Events()
	last := evs[len(evs)-1]
	if got, want := last.Action, vault.ActAuditSinkSet; got != want {
		t.Fatalf("last action = %q, want %q", got, want)
	}
	if last.Details["kind"] != "s3" || last.Private["bucket"] != goodS3.Bucket || last.ObjectID != v.ID {
		t.Errorf("sink_set event = %+v", last)
	}
	for _, ev := range evs {
		for _, m := range []map[string]string{ev.Details, ev.Private} {
			for k, val := range m {
				if strings.Contains(val, goodS3.SecretAccessKey) {
					t.Errorf("event %s %s holds the secret", ev.Action, k)
				}
			}
		}
	}
	for _, u := range []*vault.User{owner, admin} {
		got, err := e.Svc.AuditSink(ctx, u)
		if err != nil {
			t.Fatalf("AuditSink as %s: %v", u.Role, err)
		}
		if got.Bucket != goodS3.Bucket || !got.SecretSet || got.Endpoint != goodS3.Endpoint || got.Status.DeliveredAt != nil {
			t.Errorf("AuditSink as %s = %+v", u.Role, got)
		}
	}
	for _, u := range []*vault.User{lawyer, auditor} {
		if _, err := e.Svc.AuditSink(ctx, u); vault.ErrorCode(err) != vault.EFORBIDDEN {
			t.Errorf("AuditSink as %s = %v, want forbidden", u.Role, err)
		}
	}
	if _, err := e.Svc.AuditSink(ctx, otherOwner); vault.ErrorCode(err) != vault.ENOTFOUND {
		t.Errorf("the other firm's AuditSink = %v, want not_found", err)
	}
	if err := e.Svc.RemoveAuditSink(ctx, otherOwner); vault.ErrorCode(err) != vault.ENOTFOUND {
		t.Errorf("the other firm's RemoveAuditSink = %v, want not_found", err)
	}

	// Progress is kept per sink: a replaced sink starts afresh.
	if err := e.DB.SaveSinkProgress(ctx, tenant.ID, v.ID, vault.SinkProgress{Cursor: vault.SinkCursor{Size: 3, Root: make([]byte, 32)}, Pending: 2, LastError: "the webhook answered HTTP 500"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.Svc.AuditSink(ctx, admin); got.Status.DeliveredSize != 3 || got.Status.Pending != 2 || got.Status.LastError == "" {
		t.Errorf("status = %+v", got.Status)
	}
	hook := vault.AuditSinkConfig{Kind: vault.SinkWebhook, URL: "https://hooks.harbour.example/audit", Token: "tok-123"}
	v2, err := e.Svc.SetAuditSink(ctx, owner, hook)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.DB.SaveSinkProgress(ctx, tenant.ID, v.ID, vault.SinkProgress{}); vault.ErrorCode(err) != vault.ENOTFOUND {
		t.Errorf("progress of the replaced sink = %v, want not_found", err)
	}
	if got, _ := e.Svc.AuditSink(ctx, owner); got.ID != v2.ID || got.Status.DeliveredSize != 0 || !got.TokenSet || got.URL != hook.URL {
		t.Errorf("replaced sink = %+v", got)
	}

	if err := e.Svc.RemoveAuditSink(ctx, admin); vault.ErrorCode(err) != vault.EFORBIDDEN {
		t.Errorf("RemoveAuditSink as admin = %v, want forbidden", err)
	}
	if err := e.Svc.RemoveAuditSink(ctx, owner); err != nil {
		t.Fatal(err)
	}
	evs = e.Audit.Events()
	if got, want := evs[len(evs)-1].Action, vault.ActAuditSinkRemoved; got != want {
		t.Errorf("last action = %q, want %q", got, want)
	}
	if _, err := e.Svc.AuditSink(ctx, owner); vault.ErrorCode(err) != vault.ENOTFOUND {
		t.Errorf("AuditSink after removal = %v, want not_found", err)
	}
}

// TestCleanSinkConfig is the validation table of sink configs.
func TestCleanSinkConfig(t *testing.T) {
	with := func(f func(*vault.AuditSinkConfig)) vault.AuditSinkConfig {
		c := goodS3
		f(&c)
		return c
	}
	hook := func(url, token string) vault.AuditSinkConfig {
		return vault.AuditSinkConfig{Kind: vault.SinkWebhook, URL: url, Token: token}
	}
	for _, tt := range []struct {
		name string
		in   vault.AuditSinkConfig
		want string // "" for valid
	}{
		{"S3", goodS3, ""},
		{"S3Loopback", with(func(c *vault.AuditSinkConfig) { c.Endpoint = "http://127.0.0.1:9000" }), ""},
		{"Webhook", hook("https://hooks.example.com/casevault?firm=1", "abc"), ""},
		{"WebhookNoToken", hook("https://hooks.example.com/x", ""), ""},
		{"WebhookLocalhost", hook("http://localhost:8080/x", ""), ""},
		{"NoKind", vault.AuditSinkConfig{}, "kind is required"},
		{"BadKind", vault.AuditSinkConfig{Kind: "ftp"}, "kind must be"},
		{"PlainHTTP", with(func(c *vault.AuditSinkConfig) { c.Endpoint = "http://s3.example.com" }), "https://"},
		{"EndpointPath", with(func(c *vault.AuditSinkConfig) { c.Endpoint = "https://s3.example.com/bucket" }), "without a path"},
		{"EndpointCreds", with(func(c *vault.AuditSinkConfig) { c.Endpoint = "https://a:b@s3.example.com" }), "credentials"},
		{"NoEndpoint", with(func(c *vault.AuditSinkConfig) { c.Endpoint = "" }), "endpoint is required"},
		{"BucketUpper", with(func(c *vault.AuditSinkConfig) { c.Bucket = "Harbour" }), "bucket is not a valid"},
		{"BucketShort", with(func(c *vault.AuditSinkConfig) { c.Bucket = "ab" }), "3 to 63"},
		{"BucketDots", with(func(c *vault.AuditSinkConfig) { c.Bucket = "a..b" }), "two dots"},
		{"BucketIP", with(func(c *vault.AuditSinkConfig) { c.Bucket = "192.168.1.1" }), "IP address"},
		{"PrefixDotDot", with(func(c *vault.AuditSinkConfig) { c.Prefix = "a/../b" }), "prefix"},
		{"PrefixControl", with(func(c *vault.AuditSinkConfig) { c.Prefix = "a\nb" }), "control"},
		{"PrefixLong", with(func(c *vault.AuditSinkConfig) { c.Prefix = strings.Repeat("a", 513) }), "longer than"},
		{"Region", with(func(c *vault.AuditSinkConfig) { c.Region = "CA Central" }), "region"},
		{"NoSecret", with(func(c *vault.AuditSinkConfig) { c.SecretAccessKey = "" }), "secret_access_key is required"},
		{"SecretSpace", with(func(c *vault.AuditSinkConfig) { c.SecretAccessKey = "a b" }), "printable ASCII"},
		{"S3WithURL", with(func(c *vault.AuditSinkConfig) { c.URL = "https://x.example" }), "not url or token"},
		{"WebhookWithBucket", vault.AuditSinkConfig{Kind: vault.SinkWebhook, URL: "https://x.example", Bucket: "abc"}, "not the fields of an s3 sink"},
		{"WebhookHTTP", hook("http://hooks.example.com/x", ""), "https://"},
		{"WebhookFTP", hook("ftp://hooks.example.com/x", ""), "https:// URL"},
		{"WebhookRelative", hook("/x", ""), "absolute"},
		{"WebhookFragment", hook("https://hooks.example.com/x#y", ""), "fragment"},
		{"WebhookLong", hook("https://hooks.example.com/"+strings.Repeat("a", 2048), ""), "longer than"},
		{"TokenLong", hook("https://hooks.example.com/x", strings.Repeat("a", 4097)), "longer than"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := vault.CleanSinkConfig(tt.in)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("CleanSinkConfig = %v, want valid", err)
			case tt.want != "" && (vault.ErrorCode(err) != vault.EINVALID || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("CleanSinkConfig = %v, want invalid with %q", err, tt.want)
			}
		})
	}
}
