package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/shred"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/web"
)

// shredPollEvery is how often a forwarded shred is polled.
const shredPollEvery = 200 * time.Millisecond

// cmdTenantShred runs `casevault tenant shred --tenant ID --confirm NAME
// (--bundle FILE | --no-bundle) --out CERT [--json]`: it crypto-shreds a
// firm whose owner requested it (runShred, finishShred) and writes the
// signed destruction certificate to CERT. When a server runs on the data
// directory the shred runs in it, through its operator API, as `tenant
// move` does; otherwise in this process, holding the directory's lock.
func cmdTenantShred(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlagSet("tenant shred", stderr)
	tenant := fs.String("tenant", "", "the firm's `id`")
	confirm := fs.String("confirm", "", "the firm's `name`, exactly as its owner's request shows it")
	bundlePath := fs.String("bundle", "", "write the firm's final audit bundle to `file` (new) before anything is destroyed")
	noBundle := fs.Bool("no-bundle", false, "write no final audit bundle")
	out := fs.String("out", "", "write the signed destruction certificate to `file`")
	asJSON := fs.Bool("json", false, "print the certificate as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := require(fs, "tenant", "confirm", "out"); err != nil {
		return err
	}
	if (*bundlePath == "") == !*noBundle {
		fmt.Fprintln(stderr, "casevault tenant shred: give --bundle FILE (the final audit bundle) or --no-bundle")
		return errUsage
	}
	j := shredJob{Tenant: *tenant, Confirm: *confirm, NoBundle: *noBundle}
	if !*noBundle {
		p, err := filepath.Abs(*bundlePath)
		if err != nil {
			return err
		}
		j.BundlePath = p
	}
	m, err := cf.load(stderr)
	if err != nil {
		return err
	}
	var signed []byte
	lock, err := lockDataDir(m.Config.DataDir, "tenant shred")
	switch {
	case errors.Is(err, errDataDirBusy):
		signed, err = forwardShred(ctx, m, j)
	case err != nil:
		return err
	default:
		signed, err = shredInProcess(ctx, m, j)
		lock.Close()
	}
	if err != nil {
		return cliError(err)
	}
	if err := os.WriteFile(*out, signed, 0o600); err != nil {
		return fmt.Errorf("the firm is shredded, but its certificate could not be written (here it is):\n%s\n%w", signed, err)
	}
	c, err := shred.Peek(signed)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, c)
	}
	fmt.Fprintf(stdout, "Firm %s is shredded. Destruction certificate: %s (check it with casevault shred verify).\n", *tenant, *out)
	printShred(stdout, c)
	return nil
}

// shredInProcess opens the program, shreds the firm, closes it, resyncs
// the region's backup without the firm and signs the certificate.
func shredInProcess(ctx context.Context, m *Main, j shredJob) ([]byte, error) {
	m.Log = m.Log.Level(zerolog.WarnLevel)
	if err := m.Open(ctx); err != nil {
		m.Close()
		return nil, err
	}
	run, err := m.runShred(ctx, j)
	if cerr := m.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	// The cell's backup state and newest objects still hold the firm's
	// pages (backup.go).
	if err := resyncBackupAfterMove(ctx, &m.Config, run.Cert.Region); err != nil {
		return nil, fmt.Errorf("the firm is destroyed in the cell, but region %s's backup could not be resynced without it: %w", run.Cert.Region, err)
	}
	return finishShred(ctx, &m.Config, run)
}

// forwardShred asks the server that holds the data directory's lock to
// shred the firm and follows it until it ends.
func forwardShred(ctx context.Context, m *Main, j shredJob) ([]byte, error) {
	c, err := holderOperator(ctx, m, "shred a firm")
	if err != nil {
		return nil, err
	}
	var st web.ShredStatus
	req := web.ShredRequest{TenantID: j.Tenant, Confirm: j.Confirm, BundlePath: j.BundlePath, NoBundle: j.NoBundle}
	if err := c.do(ctx, http.MethodPost, "/operator/v1/shreds", req, &st); err != nil {
		return nil, err
	}
	t := time.NewTicker(shredPollEvery)
	defer t.Stop()
	for st.Running {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("stopped following the shred (it goes on in the server): %w", ctx.Err())
		case <-t.C:
		}
		if err := c.do(ctx, http.MethodGet, "/operator/v1/shreds/"+j.Tenant, nil, &st); err != nil {
			return nil, fmt.Errorf("the server stopped answering during the shred: %w", err)
		}
	}
	if st.ErrorCode != "" {
		return nil, vault.Errorf(st.ErrorCode, "%s", st.Error)
	}
	return []byte(st.Certificate), nil
}

func printShred(w io.Writer, c *shred.Certificate) {
	fmt.Fprintf(w, "  region %s, requested by %s at %s, shredded at %s\n", c.Region, c.RequestedBy,
		c.RequestedAt.UTC().Format(time.RFC3339), c.ShreddedAt.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "  %d documents, %d versions (%d bytes); %d rows, %d directory rows, %d audit events destroyed\n",
		c.Documents, c.Versions, c.VersionBytes, c.Rows, c.DirectoryRows, c.AuditEvents)
	for _, s := range c.Blobs {
		fmt.Fprintf(w, "  %s site: %d objects (%d bytes) deleted\n", s.Site, s.Objects, s.Bytes)
	}
	for _, k := range c.Keysets {
		fmt.Fprintf(w, "  %s keyset destroyed: key ids %v, wrapped SHA-256 %s\n", k.Purpose, k.KeyIDs, k.WrappedSHA256)
	}
	if c.Backup != nil {
		fmt.Fprintf(w, "  backup: %d older objects deleted; restores of the region reach back to %s\n", c.Backup.ObjectsDeleted, c.Backup.Earliest.UTC().Format(time.RFC3339))
	}
	if c.Bundle != nil {
		fmt.Fprintf(w, "  final audit bundle: %d bytes, SHA-256 %s\n", c.Bundle.Bytes, c.Bundle.SHA256)
	}
}

// cmdShredVerify runs `casevault shred verify --key VKEY… FILE`: it checks
// a destruction certificate offline (docs/SHRED-FORMAT.md §4): "OK: …" and
// exit 0 when it verifies, "FAIL: reason" on stderr and exit 1 when it does
// not, exit 2 on a usage error.
func cmdShredVerify(_ context.Context, args []string, stdout, stderr io.Writer) error {
	keyList, b, err := verifyArgs("casevault shred verify",
		"Verifies a signed destruction certificate offline (docs/SHRED-FORMAT.md).", args, stderr)
	if err != nil {
		return err
	}
	c, err := shred.Verify(b, keyList)
	var ve *shred.VerifyError
	switch {
	case errors.As(err, &ve):
		fmt.Fprintf(stderr, "FAIL: %s\n", ve.Reason)
		return errReported
	case err != nil:
		fmt.Fprintf(stderr, "FAIL: %v\n", err)
		return errReported
	}
	fmt.Fprintf(stdout, "OK: destruction certificate of firm %s in region %s, signed by %s\n", c.TenantID, c.Region, c.SignedBy[0])
	printShred(stdout, c)
	return nil
}

// operatorShreds runs shreds in the serving process for the operator API
// (web.ShredOperator), one per firm at a time.
type operatorShreds struct {
	m      *Main
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	jobs map[string]*web.ShredStatus
}

var _ web.ShredOperator = (*operatorShreds)(nil)

func newOperatorShreds(ctx context.Context, m *Main) *operatorShreds {
	o := &operatorShreds{m: m, jobs: map[string]*web.ShredStatus{}}
	o.ctx, o.cancel = context.WithCancel(context.WithoutCancel(ctx))
	return o
}

// StartShred implements web.ShredOperator: the checks that need no
// destruction answer the request itself.
func (o *operatorShreds) StartShred(ctx context.Context, req web.ShredRequest) (web.ShredStatus, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if st := o.jobs[req.TenantID]; st != nil && st.Running {
		return web.ShredStatus{}, vault.Errorf(vault.ECONFLICT, "A shred of this firm is running.")
	}
	if o.ctx.Err() != nil {
		return web.ShredStatus{}, vault.Errorf(vault.EUNAVAILABLE, "The server is shutting down.")
	}
	if _, err := o.m.Service.CheckShred(ctx, req.TenantID, req.Confirm); err != nil {
		return web.ShredStatus{}, err
	}
	if !req.NoBundle && !filepath.IsAbs(req.BundlePath) {
		return web.ShredStatus{}, vault.Errorf(vault.EINVALID, "bundle_path must be absolute.")
	}
	st := &web.ShredStatus{TenantID: req.TenantID, Running: true}
	o.jobs[req.TenantID] = st
	j := shredJob{Tenant: req.TenantID, Confirm: req.Confirm, BundlePath: req.BundlePath, NoBundle: req.NoBundle,
		AroundCleanup: o.m.backupAroundCleanup}
	o.wg.Go(func() { o.run(j) })
	return *st, nil
}

func (o *operatorShreds) run(j shredJob) {
	run, err := o.m.runShred(o.ctx, j)
	var signed []byte
	if err == nil {
		signed, err = finishShred(o.ctx, &o.m.Config, run)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	st := o.jobs[j.Tenant]
	st.Running = false
	if err != nil {
		st.ErrorCode, st.Error = vault.ErrorCode(err), vault.ErrorMessage(err)
		if st.ErrorCode == vault.EINTERNAL {
			st.Error = "Internal error (see the server log)."
		}
		o.m.Log.Error().Err(err).Msg("shred stopped")
		return
	}
	st.Certificate = string(signed)
	o.m.Log.Warn().Str("region", run.Cert.Region).Msg("a firm was shredded")
}

// Shred implements web.ShredOperator.
func (o *operatorShreds) Shred(_ context.Context, tenantID string) (web.ShredStatus, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if st := o.jobs[tenantID]; st != nil {
		return *st, nil
	}
	return web.ShredStatus{}, vault.Errorf(vault.ENOTFOUND, "No shred of this firm ran since the server started.")
}

// Close stops the shreds in progress and waits for them.
func (o *operatorShreds) Close() {
	if o == nil {
		return
	}
	o.cancel()
	o.wg.Wait()
}
