package config

import (
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// NotifyConfig configures notifications (notify/): the link in each
// message, the SMTP server of email channels, the webhooks' trust and
// reach, and the retry policy. Firms name their own channels through the
// API; the embedded default has no SMTP server, so email channels are
// refused until one is configured.
type NotifyConfig struct {
	// PublicURL is the server's address as people reach it
	// (https://vault.example.com): the links in messages start with it.
	// Empty: messages carry the path alone.
	PublicURL string     `yaml:"public_url"`
	SMTP      SMTPConfig `yaml:"smtp"`
	// CAFile is a PEM file of extra roots to trust, besides the system's,
	// for webhooks (and the SMTP server) with a private CA.
	CAFile string `yaml:"ca_file"`
	// AllowPrivateWebhooks lets webhooks resolve to loopback, private and
	// link-local addresses. Off, the server connects to public addresses
	// only, so a firm cannot point it at the operator's network.
	AllowPrivateWebhooks bool        `yaml:"allow_private_webhooks"`
	Retry                RetryConfig `yaml:"retry"`
}

// SMTPConfig is the SMTP server that sends email channels' messages.
type SMTPConfig struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"` // default 587 (starttls), 465 (tls), 25 (none)
	// TLS is starttls (default: STARTTLS required), tls (TLS from the
	// first byte) or none (plain: only to a loopback relay).
	TLS      string `yaml:"tls"`
	User     string `yaml:"user"`
	Password string `yaml:"password"` // or CASEVAULT_NOTIFY_SMTP_PASSWORD
	From     string `yaml:"from"`
}

// RetryConfig is the retry policy of deliveries: Attempts in all (default
// 6), the first retry after First (default 30s), each further one after
// twice the wait before, at most Max (default 1h).
type RetryConfig struct {
	Attempts int           `yaml:"attempts"`
	First    time.Duration `yaml:"first"`
	Max      time.Duration `yaml:"max"`
}

// loadNotifyFile applies the notify section of a file.
func (c *Config) loadNotifyFile(fc *Config) {
	n := fc.Notify
	if n.PublicURL != "" {
		c.Notify.PublicURL = n.PublicURL
	}
	if n.SMTP != (SMTPConfig{}) {
		c.Notify.SMTP = n.SMTP
	}
	if n.CAFile != "" {
		c.Notify.CAFile = n.CAFile
	}
	if n.AllowPrivateWebhooks {
		c.Notify.AllowPrivateWebhooks = true
	}
	if n.Retry != (RetryConfig{}) {
		c.Notify.Retry = n.Retry
	}
}

// loadNotifyEnv applies CASEVAULT_NOTIFY_PUBLIC_URL,
// CASEVAULT_NOTIFY_SMTP_PASSWORD and CASEVAULT_NOTIFY_ALLOW_PRIVATE_WEBHOOKS.
func (c *Config) loadNotifyEnv(getenv func(string) string) error {
	if v := getenv("CASEVAULT_NOTIFY_PUBLIC_URL"); v != "" {
		c.Notify.PublicURL = v
	}
	if v := getenv("CASEVAULT_NOTIFY_SMTP_PASSWORD"); v != "" {
		c.Notify.SMTP.Password = v
	}
	if v := getenv("CASEVAULT_NOTIFY_ALLOW_PRIVATE_WEBHOOKS"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("config: CASEVAULT_NOTIFY_ALLOW_PRIVATE_WEBHOOKS: %q is not true or false", v)
		}
		c.Notify.AllowPrivateWebhooks = b
	}
	return nil
}

// validateNotify checks the notify section.
func (c *Config) validateNotify() error {
	n := c.Notify
	if n.PublicURL != "" {
		u, err := url.Parse(n.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("config: notify.public_url: %q is not an http(s)://host[/path] URL", n.PublicURL)
		}
	}
	s := n.SMTP
	if s != (SMTPConfig{}) {
		if s.Host == "" || strings.ContainsAny(s.Host, " /:") {
			return fmt.Errorf("config: notify.smtp.host: %q is not a host name", s.Host)
		}
		if s.Port < 0 || s.Port > 65535 {
			return fmt.Errorf("config: notify.smtp.port: %d is not a port", s.Port)
		}
		switch s.TLS {
		case "", "starttls", "tls":
		case "none":
			if !IsLoopback(s.Host) {
				return fmt.Errorf("config: notify.smtp.tls: none sends mail in the clear; it is allowed only to a loopback relay, not %q", s.Host)
			}
		default:
			return fmt.Errorf("config: notify.smtp.tls: %q is not starttls, tls or none", s.TLS)
		}
		if a, err := mail.ParseAddress(s.From); err != nil || a.Address == "" {
			return fmt.Errorf("config: notify.smtp.from: %q is not an email address", s.From)
		}
		if (s.User == "") != (s.Password == "") {
			return fmt.Errorf("config: notify.smtp: user and password must be given together")
		}
	}
	r := n.Retry
	if r.Attempts < 0 || r.Attempts > 100 {
		return fmt.Errorf("config: notify.retry.attempts: %d is not from 1 to 100", r.Attempts)
	}
	if r.First < 0 || r.Max < 0 || (r.Max != 0 && r.First > r.Max) {
		return fmt.Errorf("config: notify.retry: first and max must be positive durations, first at most max")
	}
	return nil
}
