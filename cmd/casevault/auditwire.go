package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/audit/witness"
	"github.com/casevault/casevault/detect"
	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/sink"
)

// detectFlushInterval is how often the detector writes the baseline's
// hourly counts; Close writes the last ones.
const detectFlushInterval = 30 * time.Second

// openAudit opens the audit log with a checkpoint signer per region (each
// firm's checkpoints are signed by its region's key) and one for the
// service-wide log, wrapped by the first region's master key. The service
// log keeps emails and addresses as hashes under the service index key.
func (m *Main) openAudit(ctx context.Context, masters map[string]keys.MasterKey) error {
	signers, err := keys.LoadOrCreateAuditSigners(ctx, masters, m.Config.RegionNames()[0], m.Config.AuditSignerPath)
	if err != nil {
		return err
	}
	m.auditSigners = signers
	m.AuditKeys = signers.VerifierKeys()
	m.AuditKeyHistory = signers.Keys()
	regionOf := m.DB.Region
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
		Sealer: m.Keys, Signer: signerOf, Timestamper: signers.TimestampFor(regionOf), Indexer: m.Service.Indexer, Log: m.Log,
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
	// Each cell's firms have their own log in the cell; the service-wide
	// log (tenant "") is a file of its own. Each log checks only its own
	// firms' anchored checkpoints.
	// The router answers unavailable for a firm a move froze, so that no
	// event of it lands in a log being carried over; the signers and
	// anchors, which the move uses, look through the freeze.
	router := &audit.Router{Logs: map[string]*audit.Log{}, RegionOf: m.DB.ServingRegion}
	open := func(region, path string) error {
		o := opts
		o.Anchor = cellAnchors{Anchor: anchors, region: region, regionOf: regionOf}
		l, err := audit.Open(ctx, path, o)
		if err != nil {
			router.Close()
			if region == "" {
				return fmt.Errorf("service audit log: %w", err)
			}
			return fmt.Errorf("region %s: audit log: %w", region, err)
		}
		router.Logs[region] = l
		return nil
	}
	if err := open("", m.Config.ServiceAuditPath()); err != nil {
		return err
	}
	for _, name := range m.Config.RegionNames() {
		if err := open(name, m.Config.CellAuditPath(name)); err != nil {
			return err
		}
	}
	m.Sinks.Bind(router)
	m.Service.SinkChanged = m.Sinks.Kick
	m.Audit = router
	// Breach detection sees every firm event once it is on record and
	// raises its alerts in the same log (vault.Service.WithDetection).
	m.Detect = detect.New(detect.Options{Settings: m.Service.LoadDetectionSettings, Store: m.DB,
		SourceHash: m.Service.TokenSourceHash, Log: m.Log})
	m.Service.Audit = m.Service.WithDetection(router, m.Detect)
	reader := &audit.Reader{Route: router.Log, Opener: audit.SealerOpener{Sealer: m.Keys}, Now: m.Service.Now}
	if m.Witness != nil {
		m.Witness.Start(router)
		reader.Witness = m.Witness
	}
	m.Service.AuditReader = reader
	m.Service.Residency = m.ResidencyReport
	return nil
}

// cellAnchors are the anchored checkpoints of one log's firms: those of
// region's firms for a cell's log, the service log's for region "".
type cellAnchors struct {
	audit.Anchor
	region   string
	regionOf func(context.Context, string) (string, error)
}

// Tenants lists the anchored logs that belong in this log.
func (a cellAnchors) Tenants(ctx context.Context) ([]string, error) {
	all, err := a.Anchor.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	var mine []string
	for _, t := range all {
		region := ""
		if t != "" {
			if region, err = a.regionOf(ctx, t); err != nil {
				// A firm the directory does not know (moved away, or
				// never created) is no log of this server's.
				continue
			}
		}
		if region == a.region {
			mine = append(mine, t)
		}
	}
	return mine, nil
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
