package web_test

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

// moveCells are the us, ca and eu cells' audit logs of one process, with
// their real signers and anchors, and a directory of firms' regions: what
// a firm's move between regions runs on (audit.Log.Handover and the rest).
type moveCells struct {
	mu      sync.Mutex
	regions map[string]string
	signers keys.AuditSigners
	logs    map[string]*audit.Log
}

func newMoveCells(t *testing.T) *moveCells {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	c := &moveCells{regions: map[string]string{}, logs: map[string]*audit.Log{}}
	masters := map[string]keys.MasterKey{}
	for _, r := range []string{"us", "ca", "eu"} {
		mk, err := keys.LoadOrCreateFileMasterKey(filepath.Join(dir, r+"-master.json"))
		if err != nil {
			t.Fatal(err)
		}
		masters[r] = mk
	}
	var err error
	if c.signers, err = keys.LoadOrCreateAuditSigners(ctx, masters, "us", func(n string) string { return filepath.Join(dir, n+"-audit-signer.json") }); err != nil {
		t.Fatal(err)
	}
	anchors, err := keys.NewAuditAnchors(masters, "us", func(string) string { return dir }, c.regionOf)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"us", "ca"} {
		l, err := audit.Open(ctx, filepath.Join(dir, r, "audit.db"), audit.Options{
			Anchor: anchors, Signer: c.signers.For(c.regionOf), Timestamper: c.signers.TimestampFor(c.regionOf),
			Keys: c.signers.KeysFor(c.regionOf), CheckpointInterval: time.Hour,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		c.logs[r] = l
	}
	return c
}

func (c *moveCells) regionOf(_ context.Context, tenant string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.regions[tenant]
	if !ok {
		return "", vault.Errorf(vault.ENOTFOUND, "No such firm.")
	}
	return r, nil
}

func (c *moveCells) switchTo(tenant, region string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.regions[tenant] = region
}

func (c *moveCells) key(region string) string { return c.signers[region].VerifierKey }

// events appends n document views to tenant's log in l and signs a
// checkpoint.
func (c *moveCells) events(t *testing.T, l *audit.Log, tenant string, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		_, err := l.Append(ctx, &vault.AuditEvent{TenantID: tenant, ActorID: "usr_" + strings.Repeat("a", 26), Action: "document.view",
			ObjectType: "document", ObjectID: fmt.Sprintf("doc_%026d", i), Outcome: "ok", Details: map[string]string{"version": "1"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Checkpoint(ctx, tenant); err != nil {
		t.Fatal(err)
	}
}

// move moves a new firm from us to ca, the handover naming named's key
// as the new one and Adopt run while the directory names named; between
// Adopt and the bundle's export, during (when set) runs with the firm in
// ca. It returns the complete bundle exported from ca.
func (c *moveCells) move(t *testing.T, named string, during func(tenant string)) []byte {
	t.Helper()
	ctx := context.Background()
	us, ca := c.logs["us"], c.logs["ca"]
	tenant := vault.NewID(vault.PrefixTenant)
	c.switchTo(tenant, "us")
	c.events(t, us, tenant, 6)
	at := time.Now().UTC()
	st, err := audit.MoveStatement(tenant, "us", "ca", at, c.signers["us"].Signer, c.signers[named].Signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := us.Handover(ctx, tenant, audit.Handover{From: "us", To: "ca", OldKey: c.key("us"), NewKey: c.key(named), Statement: st, At: at}); err != nil {
		t.Fatal(err)
	}
	if err := audit.CopyTenant(ctx, us, ca, tenant); err != nil {
		t.Fatal(err)
	}
	c.switchTo(tenant, named)
	if _, err := ca.Adopt(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	c.switchTo(tenant, "ca")
	if err := us.DropTenant(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	c.events(t, ca, tenant, 2)
	if during != nil {
		during(tenant)
	}
	c.events(t, ca, tenant, 2)
	x := vault.AuditExport{ID: vault.NewID(vault.PrefixExport), Time: time.Now().UTC()}
	seq, err := ca.Append(ctx, &vault.AuditEvent{TenantID: tenant, ActorID: "usr_" + strings.Repeat("b", 26), Action: audit.ActionExport,
		ObjectType: "audit", ObjectID: tenant, Outcome: "ok", Time: x.Time, Details: map[string]string{"format": "jsonl", "export_id": x.ID}})
	if err != nil {
		t.Fatal(err)
	}
	x.Seq = seq
	var buf bytes.Buffer
	if err := audit.WriteExportBundle(ctx, &buf, ca, nil, tenant, audit.Filter{}, x); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// moveCases are the corpus's bundles of firms that moved from us to ca
// (docs/AUDIT-FORMAT.md §5, "Moving a firm"): one verifies with both
// regions' keys and fails with either alone; one has a checkpoint of a
// tree after the handover signed by the old region's key alone (as an
// operator who kept the us key could sign), one a handover naming another
// new key than the one that signs after it.
func moveCases(t *testing.T) []verifyCase {
	t.Helper()
	c := newMoveCells(t)
	us, ca, eu := c.key("us"), c.key("ca"), c.key("eu")
	spans := c.move(t, "ca", nil)
	oldAfter := c.move(t, "ca", func(tenant string) {
		c.switchTo(tenant, "us") // the us key signs the ca log's tree
		c.events(t, c.logs["ca"], tenant, 1)
		c.switchTo(tenant, "ca")
	})
	other := c.move(t, "eu", nil)
	return []verifyCase{
		{name: "MoveSpansBothKeys", b: spans, keys: []string{us, ca}, ok: true},
		{name: "MoveNewKeyOnly", b: spans, keys: []string{ca}},
		{name: "MoveOldKeyOnly", b: spans, keys: []string{us}},
		{name: "MoveOldKeyAfterHandover", b: oldAfter, keys: []string{us, ca}},
		{name: "MoveNamesAnotherKey", b: other, keys: []string{us, ca}},
		{name: "MoveNamesAnotherKeyTrusted", b: other, keys: []string{us, ca, eu}},
	}
}

// TestVerify_MoveCases checks the move cases against audit.Verify alone
// (TestUIVerify_Corpus runs them in the browser too): each passes or fails
// as the case says, for the reason it is about.
func TestVerify_MoveCases(t *testing.T) {
	want := map[string]string{
		"MoveNewKeyOnly":             "not signed by the verifier key",
		"MoveOldKeyOnly":             "not the trusted key",
		"MoveOldKeyAfterHandover":    "signed only by a retired key",
		"MoveNamesAnotherKey":        "not a trusted key",
		"MoveNamesAnotherKeyTrusted": "the new key of the move",
	}
	for _, vc := range moveCases(t) {
		_, err := audit.Verify(bytes.NewReader(vc.b), audit.VerifyOptions{TrustedKeys: vc.keys})
		switch {
		case vc.ok && err != nil:
			t.Errorf("%s: %v, want it to verify", vc.name, err)
		case !vc.ok && (err == nil || !strings.Contains(err.Error(), want[vc.name])):
			t.Errorf("%s: %v, want a failure saying %q", vc.name, err, want[vc.name])
		}
	}
}
