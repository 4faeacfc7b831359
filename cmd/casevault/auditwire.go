package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/sink"
)

// openAudit opens the audit log with a checkpoint signer per region (each
// firm's checkpoints are signed by its region's key) and one for the
// service-wide log, wrapped by the first region's master key. The service
// log keeps emails and addresses as hashes under the service index key.
func (m *Main) openAudit(ctx context.Context, masters map[string]keys.MasterKey) error {
	signers, err := keys.LoadOrCreateAuditSigners(ctx, masters, m.Config.RegionNames()[0], m.Config.AuditSignerPath)
	if err != nil {
		return err
	}
	m.AuditKeys = signers.VerifierKeys()
	regionOf := func(ctx context.Context, tenantID string) (string, error) {
		t, err := m.DB.Tenant(ctx, tenantID)
		if err != nil {
			return "", err
		}
		return t.Region, nil
	}
	signerOf := signers.For(regionOf)
	// The checkpoint signed last of each log is kept beside its region's
	// signer, outside audit.db (keys.AuditAnchors).
	anchors, err := keys.NewAuditAnchors(masters, m.Config.RegionNames()[0], m.Config.AuditAnchorDir, regionOf)
	if err != nil {
		return err
	}
	// Each firm's checkpoints go to the sink it names (sink.Worker, started
	// by Run); the log tells it of every checkpoint it signs.
	if m.Sinks, err = m.newSinkWorker(); err != nil {
		return err
	}
	l, err := audit.Open(ctx, m.Config.AuditPath(), audit.Options{
		Sealer: m.Keys, Signer: signerOf, Indexer: m.Service.Indexer, Log: m.Log, Anchor: anchors,
		OnSigned: m.Sinks.OnSigned,
	})
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	m.Sinks.Bind(l)
	m.Service.SinkChanged = m.Sinks.Kick
	m.Audit = l
	m.Service.Audit = l
	m.Service.AuditReader = &audit.Reader{Log: l, Opener: audit.SealerOpener{Sealer: m.Keys}, Now: m.Service.Now}
	return nil
}

// newSinkWorker builds the worker that delivers checkpoints to the firms'
// sinks, trusting the system's roots and those of audit.sink_ca_file.
func (m *Main) newSinkWorker() (*sink.Worker, error) {
	var roots *x509.CertPool
	if f := m.Config.Audit.SinkCAFile; f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("audit.sink_ca_file: %w", err)
		}
		if roots, err = x509.SystemCertPool(); err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("audit.sink_ca_file: %s holds no PEM certificate", f)
		}
	}
	return sink.New(sink.Options{Store: m.DB, RootCAs: roots, AllowPrivate: m.Config.Audit.SinkAllowPrivate, Log: m.Log}), nil
}
