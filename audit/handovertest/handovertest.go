// Package handovertest runs firms' moves between real cells for tests of
// other packages: each region's audit log on its own SQLite file, with the
// region's real audit signer, master key and anchors (package keys), and a
// directory of firms' regions that the logs' signers follow, as
// cmd/casevault wires them. Events have no private parts (no sealer).
package handovertest

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
)

// Cells are the audit logs of several regions' cells in one process.
type Cells struct {
	Signers keys.AuditSigners
	Anchors *keys.AuditAnchors
	Logs    map[string]*audit.Log // by region

	mu      sync.Mutex
	regions map[string]string // tenant → region
}

// New opens a cell for each region under tb.TempDir(), closed at cleanup.
func New(tb testing.TB, regions ...string) *Cells {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	c := &Cells{Logs: map[string]*audit.Log{}, regions: map[string]string{}}
	masters := map[string]keys.MasterKey{}
	for _, r := range regions {
		mk, err := keys.LoadOrCreateFileMasterKey(filepath.Join(dir, "keys", r+"-master.json"))
		if err != nil {
			tb.Fatal(err)
		}
		masters[r] = mk
	}
	var err error
	if c.Signers, err = keys.LoadOrCreateAuditSigners(ctx, masters, regions[0], func(n string) string { return filepath.Join(dir, "keys", n+"-audit-signer.json") }); err != nil {
		tb.Fatal(err)
	}
	if c.Anchors, err = keys.NewAuditAnchors(masters, regions[0], func(string) string { return filepath.Join(dir, "keys") }, c.RegionOf); err != nil {
		tb.Fatal(err)
	}
	for _, r := range regions {
		l, err := audit.Open(ctx, filepath.Join(dir, "regions", r, "audit.db"), audit.Options{
			Anchor: c.Anchors, Signer: c.Signers.For(c.RegionOf), Timestamper: c.Signers.TimestampFor(c.RegionOf),
			Keys: c.Signers.KeysFor(c.RegionOf), CheckpointInterval: time.Hour,
		})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { l.Close() })
		c.Logs[r] = l
	}
	return c
}

// RegionOf is the directory. Errors: not_found.
func (c *Cells) RegionOf(_ context.Context, tenant string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.regions[tenant]
	if !ok {
		return "", vault.Errorf(vault.ENOTFOUND, "No such firm.")
	}
	return r, nil
}

// SetRegion switches tenant's directory entry to region.
func (c *Cells) SetRegion(tenant, region string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.regions[tenant] = region
}

// Key is region's verifier key.
func (c *Cells) Key(region string) string { return c.Signers[region].VerifierKey }

// Firm adds a firm in region with n events and a checkpoint.
func (c *Cells) Firm(tb testing.TB, region string, n int) string {
	tb.Helper()
	tenant := vault.NewID(vault.PrefixTenant)
	c.SetRegion(tenant, region)
	c.Events(tb, region, tenant, n)
	return tenant
}

// Events appends n document views to tenant's log in region's cell, and
// signs a checkpoint (with the key of the region the directory names).
func (c *Cells) Events(tb testing.TB, region, tenant string, n int) {
	tb.Helper()
	ctx := context.Background()
	l := c.Logs[region]
	for i := range n {
		_, err := l.Append(ctx, &vault.AuditEvent{TenantID: tenant, ActorID: "usr_" + strings.Repeat("a", 26), Action: "document.view",
			ObjectType: "document", ObjectID: fmt.Sprintf("doc_%026d", i), Outcome: audit.OutcomeOK, Details: map[string]string{"version": "1"}})
		if err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := l.Checkpoint(ctx, tenant); err != nil {
		tb.Fatal(err)
	}
}

// log is the log of tenant's cell.
func (c *Cells) log(tb testing.TB, tenant string) *audit.Log {
	tb.Helper()
	r, err := c.RegionOf(context.Background(), tenant)
	if err != nil {
		tb.Fatal(err)
	}
	return c.Logs[r]
}

// Move moves tenant's log from its region to region to, as the move
// does: Handover (the statement naming named's key as the new one;
// named is to for a true move), CopyTenant, the directory switched to
// named for Adopt and then to to, and DropTenant on the old cell (which
// deletes the old region's anchor).
func (c *Cells) Move(tb testing.TB, tenant, to, named string) {
	tb.Helper()
	ctx := context.Background()
	from, err := c.RegionOf(ctx, tenant)
	if err != nil {
		tb.Fatal(err)
	}
	at := time.Now().UTC()
	st, err := audit.MoveStatement(tenant, from, to, at, c.Signers[from].Signer, c.Signers[named].Signer)
	if err != nil {
		tb.Fatal(err)
	}
	h := audit.Handover{From: from, To: to, OldKey: c.Key(from), NewKey: c.Key(named), Statement: st, At: at}
	if _, err := c.Logs[from].Handover(ctx, tenant, h); err != nil {
		tb.Fatal(err)
	}
	if err := audit.CopyTenant(ctx, c.Logs[from], c.Logs[to], tenant); err != nil {
		tb.Fatal(err)
	}
	if err := audit.SwitchIn(ctx, c.Logs[from], c.Logs[to], tenant); err != nil {
		tb.Fatal(err)
	}
	c.SetRegion(tenant, named)
	if err := audit.SwitchOut(ctx, c.Logs[from], c.Logs[to], tenant); err != nil {
		tb.Fatal(err)
	}
	if _, err := c.Logs[to].Adopt(ctx, tenant); err != nil {
		tb.Fatal(err)
	}
	c.SetRegion(tenant, to)
	if err := c.Logs[from].DropTenant(ctx, tenant); err != nil {
		tb.Fatal(err)
	}
}

// Export appends an audit.export event to tenant's log in its cell and
// returns the complete bundle of that export (format /2).
func (c *Cells) Export(tb testing.TB, tenant string) []byte {
	tb.Helper()
	ctx := context.Background()
	l := c.log(tb, tenant)
	x := vault.AuditExport{ID: vault.NewID(vault.PrefixExport), Time: time.Now().UTC()}
	seq, err := l.Append(ctx, &vault.AuditEvent{TenantID: tenant, ActorID: "usr_" + strings.Repeat("b", 26), Action: audit.ActionExport,
		ObjectType: "audit", ObjectID: tenant, Outcome: audit.OutcomeOK, Time: x.Time, Details: map[string]string{"format": "jsonl", "export_id": x.ID}})
	if err != nil {
		tb.Fatal(err)
	}
	x.Seq = seq
	var buf bytes.Buffer
	if err := audit.WriteExportBundle(ctx, &buf, l, nil, tenant, audit.Filter{}, x); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
