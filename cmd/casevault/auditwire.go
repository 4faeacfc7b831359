package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/audit/witness"
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
	m.AuditKeyHistory = signers.Keys()
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
	// by Run); the log tells it of every checkpoint it signs, as it tells
	// the witnesses.
	if m.Sinks, err = m.newSinkWorker(); err != nil {
		return err
	}
	opts := audit.Options{
		Sealer: m.Keys, Signer: signerOf, Timestamper: signers.TimestampFor(regionOf), Indexer: m.Service.Indexer, Log: m.Log, Anchor: anchors,
		Keys: signers.KeysFor(regionOf), Heartbeat: m.Config.AuditHeartbeat(),
		OnSigned: m.Sinks.OnSigned,
	}
	if err := m.openWitnesses(regionOf); err != nil {
		return err
	}
	if m.Witness != nil {
		opts.OnSigned = func(c *audit.Checkpoint) {
			m.Sinks.OnSigned(c)
			m.Witness.Submit(c)
		}
	}
	l, err := audit.Open(ctx, m.Config.AuditPath(), opts)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	m.Sinks.Bind(l)
	m.Service.SinkChanged = m.Sinks.Kick
	m.Audit = l
	m.Service.Audit = l
	reader := &audit.Reader{Log: l, Opener: audit.SealerOpener{Sealer: m.Keys}, Now: m.Service.Now}
	if m.Witness != nil {
		m.Witness.Start(l)
		reader.Witness = m.Witness
	}
	m.Service.AuditReader = reader
	return nil
}

// openWitnesses builds the client that submits every signed checkpoint to
// the configured witnesses (audit.witnesses), or nothing when there are
// none.
func (m *Main) openWitnesses(regionOf func(context.Context, string) (string, error)) error {
	ws := m.Config.Audit.Witnesses
	if len(ws) == 0 {
		return nil
	}
	eps := make([]witness.Endpoint, len(ws))
	for i, w := range ws {
		eps[i] = witness.Endpoint{Name: w.Name, URL: w.URL, Key: w.Key, Tenants: w.Tenants, Regions: w.Regions}
	}
	c, err := witness.New(witness.Options{Witnesses: eps, RegionOf: regionOf, Timeout: m.Config.Audit.WitnessTimeout, Log: m.Log})
	if err != nil {
		return fmt.Errorf("audit witnesses: %w", err)
	}
	m.Witness = c
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
