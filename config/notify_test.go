package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/config"
)

// TestNotify_File reads a notify block and checks what Validate refuses.
func TestNotify_File(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "casevault.yaml")
	if err := os.WriteFile(p, []byte(`
notify:
  public_url: https://vault.example.com
  smtp: {host: smtp.example.com, port: 587, tls: starttls, user: u, password: p, from: casevault@example.com}
  allow_private_webhooks: true
  retry: {attempts: 4, first: 10s, max: 10m}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	if err := c.LoadFile(p); err != nil {
		t.Fatal(err)
	}
	if err := c.LoadEnv(func(k string) string {
		return map[string]string{"CASEVAULT_NOTIFY_SMTP_PASSWORD": "from-env"}[k]
	}); err != nil {
		t.Fatal(err)
	}
	n := c.Notify
	if n.PublicURL != "https://vault.example.com" || n.SMTP.Host != "smtp.example.com" || n.SMTP.Password != "from-env" ||
		!n.AllowPrivateWebhooks || n.Retry.Attempts != 4 || n.Retry.First != 10*time.Second || n.Retry.Max != 10*time.Minute {
		t.Errorf("got %+v", n)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	for name, tc := range map[string]struct {
		mod  func(*config.NotifyConfig)
		want string
	}{
		"PlainToRemote": {func(n *config.NotifyConfig) { n.SMTP.TLS = "none" }, "notify.smtp.tls"},
		"BadTLS":        {func(n *config.NotifyConfig) { n.SMTP.TLS = "ssl" }, "notify.smtp.tls"},
		"NoFrom":        {func(n *config.NotifyConfig) { n.SMTP.From = "" }, "notify.smtp.from"},
		"UserOnly":      {func(n *config.NotifyConfig) { n.SMTP.Password = "" }, "user and password"},
		"BadURL":        {func(n *config.NotifyConfig) { n.PublicURL = "vault.example.com" }, "notify.public_url"},
		"Retry":         {func(n *config.NotifyConfig) { n.Retry.First = time.Hour }, "notify.retry"},
	} {
		t.Run(name, func(t *testing.T) {
			c := c
			tc.mod(&c.Notify)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error naming %s", err, tc.want)
			}
		})
	}
	local := config.Default()
	local.Notify.SMTP = config.SMTPConfig{Host: "127.0.0.1", Port: 1025, TLS: "none", From: "cv@example.com"}
	if err := local.Validate(); err != nil {
		t.Errorf("plain SMTP to loopback: %v", err)
	}
}
