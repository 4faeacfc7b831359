package main

import (
	"crypto/x509"
	"fmt"
	"os"

	"github.com/casevault/casevault/notify"
)

// newNotifyWorker builds the worker that queues the firms' notices and
// delivers them to their channels (notify/), from the notify section of
// the configuration: SMTP (none by default: email channels are refused),
// the system's roots plus notify.ca_file, and the retry policy.
func (m *Main) newNotifyWorker() (*notify.Worker, error) {
	nc := m.Config.Notify
	var roots *x509.CertPool
	if f := nc.CAFile; f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("notify.ca_file: %w", err)
		}
		if roots, err = x509.SystemCertPool(); err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("notify.ca_file: %s holds no PEM certificate", f)
		}
	}
	opts := notify.Options{
		Store: m.DB, Recorder: m.Service, PublicURL: nc.PublicURL, RootCAs: roots,
		AllowPrivate: nc.AllowPrivateWebhooks, Attempts: nc.Retry.Attempts, FirstRetry: nc.Retry.First,
		MaxRetry: nc.Retry.Max, Log: m.Log,
	}
	if s := nc.SMTP; s.Host != "" {
		opts.SMTP = &notify.SMTPConfig{Host: s.Host, Port: s.Port, TLS: s.TLS, User: s.User, Password: s.Password, From: s.From}
	}
	return notify.New(opts), nil
}
