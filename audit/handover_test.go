package audit_test

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/internal/refverify"
	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
)

// moveEnv is two cells, us and ca, each with its own audit.db, its real
// audit signer and master key (package keys), and one directory naming
// each firm's region, as cmd/casevault wires them: each log's Signer
// follows the directory.
type moveEnv struct {
	dir     string
	regions map[string]*atomic.Value // tenant → region
	signers keys.AuditSigners
	anchors *keys.AuditAnchors
	sealer  *xorSealer
	logs    map[string]*audit.Log
}

func newMoveEnv(t *testing.T) *moveEnv {
	t.Helper()
	ctx := context.Background()
	e := &moveEnv{dir: t.TempDir(), regions: map[string]*atomic.Value{}, sealer: &xorSealer{}, logs: map[string]*audit.Log{}}
	masters := map[string]keys.MasterKey{}
	for _, r := range []string{"us", "ca"} {
		mk, err := keys.LoadOrCreateFileMasterKey(filepath.Join(e.dir, "keys", r+"-master.json"))
		if err != nil {
			t.Fatal(err)
		}
		masters[r] = mk
	}
	var err error
	pathOf := func(name string) string { return filepath.Join(e.dir, "keys", name+"-audit-signer.json") }
	if e.signers, err = keys.LoadOrCreateAuditSigners(ctx, masters, "us", pathOf); err != nil {
		t.Fatal(err)
	}
	if e.anchors, err = keys.NewAuditAnchors(masters, "us", func(string) string { return filepath.Join(e.dir, "keys") }, e.regionOf); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"us", "ca"} {
		e.logs[r] = e.open(t, r)
	}
	return e
}

// cellAnchor lists the anchored logs of one cell's firms, as
// cmd/casevault's cellAnchors does.
type cellAnchor struct {
	*keys.AuditAnchors
	region   string
	regionOf func(context.Context, string) (string, error)
}

func (a cellAnchor) Tenants(ctx context.Context) ([]string, error) {
	all, err := a.AuditAnchors.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	var mine []string
	for _, t := range all {
		if r, err := a.regionOf(ctx, t); err == nil && r == a.region {
			mine = append(mine, t)
		}
	}
	return mine, nil
}

func (e *moveEnv) regionOf(_ context.Context, tenant string) (string, error) {
	v, ok := e.regions[tenant]
	if !ok {
		return "", vault.Errorf(vault.ENOTFOUND, "No such firm.")
	}
	return v.Load().(string), nil
}

// cellPath is region's audit.db.
func (e *moveEnv) cellPath(region string) string {
	return filepath.Join(e.dir, "regions", region, "audit.db")
}

// open opens region's log, closed at cleanup.
func (e *moveEnv) open(t *testing.T, region string) *audit.Log {
	t.Helper()
	l, err := audit.Open(context.Background(), e.cellPath(region), audit.Options{
		Sealer: e.sealer, Indexer: testIndexer{}, Anchor: cellAnchor{e.anchors, region, e.regionOf},
		Signer: e.signers.For(e.regionOf), Timestamper: e.signers.TimestampFor(e.regionOf), Keys: e.signers.KeysFor(e.regionOf),
		CheckpointInterval: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// firm adds a firm in region with n events.
func (e *moveEnv) firm(t *testing.T, region string, n int) string {
	t.Helper()
	tenant := newTenant()
	v := &atomic.Value{}
	v.Store(region)
	e.regions[tenant] = v
	appendN(t, e.logs[region], tenant, n)
	return tenant
}

func (e *moveEnv) key(region string) string { return e.signers[region].VerifierKey }

// handover is the Handover of tenant's move from us to ca.
func (e *moveEnv) handover(t *testing.T, tenant string, at time.Time) audit.Handover {
	t.Helper()
	st, err := audit.MoveStatement(tenant, "us", "ca", at, e.signers["us"].Signer, e.signers["ca"].Signer)
	if err != nil {
		t.Fatal(err)
	}
	return audit.Handover{From: "us", To: "ca", OldKey: e.key("us"), NewKey: e.key("ca"), Statement: st, At: at}
}

// exportFrom writes a complete export bundle of tenant from l.
func exportFrom(t *testing.T, l *audit.Log, tenant string) []byte {
	t.Helper()
	ctx := context.Background()
	x := vault.AuditExport{ID: vault.NewID(vault.PrefixExport), Time: time.Now().UTC()}
	seq, err := l.Append(ctx, &vault.AuditEvent{TenantID: tenant, ActorID: "usr_" + strings.Repeat("b", 26), Action: audit.ActionExport,
		ObjectType: "audit", ObjectID: tenant, Outcome: audit.OutcomeOK, Time: x.Time, Details: map[string]string{"format": "jsonl", "export_id": x.ID}})
	if err != nil {
		t.Fatal(err)
	}
	x.Seq = seq
	var buf bytes.Buffer
	if err := audit.WriteExportBundle(ctx, &buf, l, nil, tenant, audit.Filter{}, x); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// verifyBoth verifies b with keys in audit.Verify and refverify, and says
// whether each accepted it.
func verifyBoth(t *testing.T, b []byte, keys ...string) (goErr, refErr error) {
	t.Helper()
	_, goErr = audit.Verify(bytes.NewReader(b), audit.VerifyOptions{TrustedKeys: keys})
	_, refErr = refverify.VerifyKeys(bytes.NewReader(b), keys)
	return goErr, refErr
}

// TestLog_Move carries a firm's log from the us cell to the ca cell:
// Handover, CopyTenant, the directory switch, Adopt, more events,
// DropTenant; the bundle exported after it verifies with both regions'
// keys, fails with the old one alone, and the us file and its WAL hold no
// byte of the firm.
func TestLog_Move(t *testing.T) {
	ctx := context.Background()
	e := newMoveEnv(t)
	us, ca := e.logs["us"], e.logs["ca"]
	tenant := e.firm(t, "us", 40)
	stay := e.firm(t, "us", 5)  // another us firm, untouched
	local := e.firm(t, "ca", 7) // a ca firm, served meanwhile
	if _, err := us.Checkpoint(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	appendN(t, us, tenant, 3)
	h := e.handover(t, tenant, time.Now().UTC())

	seq, err := us.Handover(ctx, tenant, h)
	if err != nil {
		t.Fatal(err)
	}
	if seq != 44 {
		t.Fatalf("handover seq = %d, want 44", seq)
	}
	// Called again, it finds its event: no second one.
	if again, err := us.Handover(ctx, tenant, h); err != nil || again != seq {
		t.Fatalf("Handover again = %d, %v; want %d, nil", again, err, seq)
	}
	if n := mustSize(t, us, tenant); n != seq {
		t.Fatalf("size after two Handovers = %d, want %d", n, seq)
	}
	// The old cell signs nothing of the firm after the handover, but takes
	// its events until the switch: a move stopped here leaves the firm
	// working in its old region.
	_, err = us.Checkpoint(ctx, tenant)
	assertCode(t, err, vault.EUNAVAILABLE)
	mustAppend(t, us, sampleEvent(tenant, 99))
	mustAppend(t, us, sampleEvent(stay, 1))
	if again, err := us.Handover(ctx, tenant, h); err != nil || again != seq {
		t.Fatalf("Handover after an event followed it = %d, %v; want %d, nil", again, err, seq)
	}
	// A handover in the old key's name whose statement is another move's.
	bad := h
	bad.To = "eu"
	if _, err := us.Handover(ctx, tenant, bad); !vault.IsCode(err, vault.EINVALID) {
		t.Errorf("Handover with a statement of another move: %v, want invalid", err)
	}

	if err := audit.CopyTenant(ctx, us, ca, tenant); err != nil {
		t.Fatal(err)
	}
	// An event after the copy: the switch refuses until it is copied too.
	mustAppend(t, us, sampleEvent(tenant, 100))
	if err := audit.SwitchIn(ctx, us, ca, tenant); !vault.IsCode(err, vault.ECONFLICT) {
		t.Fatalf("SwitchIn with an event not copied: %v, want conflict", err)
	}
	if err := audit.CopyTenant(ctx, us, ca, tenant); err != nil {
		t.Fatalf("CopyTenant again: %v", err)
	}
	// Before the switch, Adopt refuses: ca's key is not yet the firm's.
	if _, err := ca.Adopt(ctx, tenant); !vault.IsCode(err, vault.ECONFLICT) {
		t.Fatalf("Adopt before the switch: %v, want conflict", err)
	}
	// Nor may the old log be dropped.
	if err := us.DropTenant(ctx, tenant); !vault.IsCode(err, vault.ECONFLICT) {
		t.Fatalf("DropTenant before the switch: %v, want conflict", err)
	}
	mustAppend(t, ca, sampleEvent(local, 1))

	e.switchTo(t, tenant, "ca")
	// Switched out, the old log takes no more of the firm's events; the
	// new one takes them before it is adopted, and signs nothing until.
	_, err = us.Append(ctx, sampleEvent(tenant, 101))
	assertCode(t, err, vault.EUNAVAILABLE)
	mustAppend(t, ca, sampleEvent(tenant, 102))
	_, err = ca.Checkpoint(ctx, tenant)
	assertCode(t, err, vault.EUNAVAILABLE)
	c, err := ca.Adopt(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if c.Size != seq+3 {
		t.Fatalf("adopted checkpoint size = %d, want %d", c.Size, seq+3)
	}
	if _, err := ca.Adopt(ctx, tenant); err != nil {
		t.Fatalf("Adopt again: %v", err)
	}
	appendN(t, ca, tenant, 5)
	if _, err := ca.Checkpoint(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	appendN(t, ca, tenant, 2)

	if err := us.DropTenant(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	if err := us.DropTenant(ctx, tenant); err != nil {
		t.Fatalf("DropTenant again: %v", err)
	}
	if n := mustSize(t, us, tenant); n != 0 {
		t.Errorf("us size of the moved firm = %d, want 0", n)
	}
	checkChain(t, us, stay, 6)
	checkChain(t, ca, tenant, seq+3+7)
	checkChain(t, ca, local, 8)

	// The firm's keys, as the API and the export page list them, name the
	// old region's key (retired for the firm at the move) before ca's.
	ks, err := ca.Keys(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 2 || ks[0].VerifierKey != e.key("us") || ks[0].Region != "us" || ks[0].State != vault.AuditKeyRetired || ks[0].ValidUntil == nil ||
		ks[1].VerifierKey != e.key("ca") || ks[1].State != vault.AuditKeyCurrent {
		t.Errorf("Keys after the move = %+v, want us's retired then ca's current", ks)
	}
	b := exportFrom(t, ca, tenant)
	if goErr, refErr := verifyBoth(t, b, e.key("us"), e.key("ca")); goErr != nil || refErr != nil {
		t.Fatalf("bundle after the move with both keys: Verify %v, refverify %v; want both nil", goErr, refErr)
	}
	if goErr, refErr := verifyBoth(t, b, e.key("ca")); goErr == nil || refErr == nil {
		t.Errorf("bundle after the move with the new key alone: Verify %v, refverify %v; want both to fail", goErr, refErr)
	}
	if goErr, refErr := verifyBoth(t, b, e.key("us")); goErr == nil || refErr == nil {
		t.Errorf("bundle after the move with the old key alone: Verify %v, refverify %v; want both to fail", goErr, refErr)
	}

	// The us cell keeps no byte of the firm: not its id in the file, its
	// WAL, or the anchors of us.
	// While the log is open (its WAL is there) and after it closed.
	assertNotOnDisk(t, e.cellPath("us"), tenant)
	us.Close()
	assertNotOnDisk(t, e.cellPath("us"), tenant)
	ents, _ := os.ReadDir(filepath.Join(e.dir, "keys", "us-audit-anchors"))
	for _, ent := range ents {
		if strings.Contains(ent.Name(), hexOf(tenant)) {
			t.Errorf("us anchors keep %s", ent.Name())
		}
	}
	// The append-only triggers are back, every one of them.
	db, err := sql.Open("sqlite", e.cellPath("us"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var triggers int
	if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_schema WHERE type = 'trigger'`).Scan(&triggers); err != nil || triggers != 16 {
		t.Errorf("triggers after the drop: %d (%v), want 16", triggers, err)
	}
	for _, q := range []string{`DELETE FROM audit_events WHERE tenant_id = ?`, `DELETE FROM audit_hashes WHERE tenant_id = ?`, `UPDATE audit_checkpoints SET note = x'00' WHERE tenant_id = ?`} {
		if _, err := db.Exec(q, stay); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s after the drop: %v, want append-only", q, err)
		}
	}
	// And a reopened us log still serves its other firm.
	us2 := e.open(t, "us")
	mustAppend(t, us2, sampleEvent(stay, 2))
	checkChain(t, us2, stay, 7)
}

// switchTo does a move's switch of tenant to region to: the copy there
// takes appends, the directory names to, the old log takes none.
func (e *moveEnv) switchTo(t *testing.T, tenant, to string) {
	t.Helper()
	ctx := context.Background()
	from := e.regions[tenant].Load().(string)
	if err := audit.SwitchIn(ctx, e.logs[from], e.logs[to], tenant); err != nil {
		t.Fatal(err)
	}
	e.regions[tenant].Store(to)
	if err := audit.SwitchOut(ctx, e.logs[from], e.logs[to], tenant); err != nil {
		t.Fatal(err)
	}
}

func hexOf(s string) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(s))
	for _, c := range []byte(s) {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// TestLog_MoveResume interrupts CopyTenant midway (its ctx cancelled after
// a chunk) and reopens both logs as after a crash: the holds survive, a
// rerun finishes the copy, and the move ends as if never interrupted.
func TestLog_MoveResume(t *testing.T) {
	ctx := context.Background()
	e := newMoveEnv(t)
	tenant := e.firm(t, "us", 450)
	if _, err := e.logs["us"].Checkpoint(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	h := e.handover(t, tenant, time.Now().UTC())
	seq, err := e.logs["us"].Handover(ctx, tenant, h)
	if err != nil {
		t.Fatal(err)
	}

	cctx, cancel := context.WithCancel(ctx)
	chunks := 0
	restore := audit.SetCopyHooks(100, func() {
		if chunks++; chunks == 3 {
			cancel()
		}
	})
	err = audit.CopyTenant(cctx, e.logs["us"], e.logs["ca"], tenant)
	restore()
	if !vault.IsCode(err, vault.EUNAVAILABLE) {
		t.Fatalf("CopyTenant with its ctx cancelled: %v, want unavailable", err)
	}
	if n := mustSize(t, e.logs["ca"], tenant); n != 300 {
		t.Fatalf("ca has %d events of the firm after 3 chunks, want 300", n)
	}
	// A restart of both cells.
	e.logs["us"].Close()
	e.logs["ca"].Close()
	us, ca := e.open(t, "us"), e.open(t, "ca")
	e.logs["us"], e.logs["ca"] = us, ca
	// The partial copy is held: the ca log neither appends nor signs it.
	_, err = ca.Append(ctx, sampleEvent(tenant, 1))
	assertCode(t, err, vault.EUNAVAILABLE)
	_, err = ca.Checkpoint(ctx, tenant)
	assertCode(t, err, vault.EUNAVAILABLE)
	// The old cell serves the firm until the switch: its log takes the
	// firm's events after the handover (and signs none of them).
	mustAppend(t, us, sampleEvent(tenant, 1))
	_, err = us.Checkpoint(ctx, tenant)
	assertCode(t, err, vault.EUNAVAILABLE)
	// An export needs a checkpoint signed of the tree: refused until the
	// move goes on.
	x := vault.AuditExport{ID: vault.NewID(vault.PrefixExport), Time: time.Now().UTC()}
	if x.Seq, err = us.Append(ctx, &vault.AuditEvent{TenantID: tenant, ActorID: "usr_" + strings.Repeat("b", 26), Action: audit.ActionExport,
		ObjectType: "audit", ObjectID: tenant, Outcome: audit.OutcomeOK, Time: x.Time, Details: map[string]string{"format": "jsonl", "export_id": x.ID}}); err != nil {
		t.Fatal(err)
	}
	err = audit.WriteExportBundle(ctx, io.Discard, us, nil, tenant, audit.Filter{}, x)
	assertCode(t, err, vault.EUNAVAILABLE)
	// Nor is an incomplete copy adopted.
	e.regions[tenant].Store("ca")
	if _, err := ca.Adopt(ctx, tenant); !vault.IsCode(err, vault.ECONFLICT) {
		t.Fatalf("Adopt of a partial copy: %v, want conflict", err)
	}
	e.regions[tenant].Store("us")
	if err := audit.CopyTenant(ctx, us, ca, tenant); err != nil {
		t.Fatal(err)
	}
	if n := mustSize(t, ca, tenant); n != seq+2 {
		t.Fatalf("ca size after the rerun = %d, want %d", n, seq+2)
	}
	// Adopt refuses a copy not switched in, even with the directory
	// naming ca: the copy is whole only once SwitchIn checked it.
	e.regions[tenant].Store("ca")
	if _, err := ca.Adopt(ctx, tenant); !vault.IsCode(err, vault.ECONFLICT) {
		t.Fatalf("Adopt of a copy not switched in: %v, want conflict", err)
	}
	e.regions[tenant].Store("us")
	e.switchTo(t, tenant, "ca")
	if _, err := ca.Adopt(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	if err := us.DropTenant(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	appendN(t, ca, tenant, 3)
	b := exportFrom(t, ca, tenant)
	if goErr, refErr := verifyBoth(t, b, e.key("us"), e.key("ca")); goErr != nil || refErr != nil {
		t.Fatalf("bundle after a resumed move: Verify %v, refverify %v; want both nil", goErr, refErr)
	}
}

// TestLog_MoveRefusals: the steps refuse what would break the model.
func TestLog_MoveRefusals(t *testing.T) {
	ctx := context.Background()
	e := newMoveEnv(t)
	us, ca := e.logs["us"], e.logs["ca"]
	tenant := e.firm(t, "us", 3)
	h := e.handover(t, tenant, time.Now().UTC())

	t.Run("DropBeforeHandover", func(t *testing.T) {
		if err := us.DropTenant(ctx, tenant); !vault.IsCode(err, vault.ECONFLICT) {
			t.Errorf("got %v, want conflict", err)
		}
	})
	t.Run("HandoverWithAnotherKey", func(t *testing.T) {
		// The statement of a move naming ca's key as the old one: the log's
		// key for the firm is us's.
		st, err := audit.MoveStatement(tenant, "ca", "us", h.At, e.signers["ca"].Signer, e.signers["us"].Signer)
		if err != nil {
			t.Fatal(err)
		}
		_, err = us.Handover(ctx, tenant, audit.Handover{From: "ca", To: "us", OldKey: e.key("ca"), NewKey: e.key("us"), Statement: st, At: h.At})
		if !vault.IsCode(err, vault.ECONFLICT) {
			t.Errorf("got %v, want conflict", err)
		}
	})
	t.Run("StatementSignedByOneKey", func(t *testing.T) {
		st, err := audit.MoveStatement(tenant, "us", "ca", h.At, e.signers["us"].Signer, e.signers[keys.ServiceSigner].Signer)
		if err != nil {
			t.Fatal(err)
		}
		x := h
		x.Statement = st
		if _, err := us.Handover(ctx, tenant, x); !vault.IsCode(err, vault.EINVALID) {
			t.Errorf("got %v, want invalid", err)
		}
	})
	t.Run("CopyOntoLiveFirm", func(t *testing.T) {
		other := e.firm(t, "ca", 2)
		if err := audit.CopyTenant(ctx, us, ca, other); !vault.IsCode(err, vault.ECONFLICT) {
			t.Errorf("got %v, want conflict", err)
		}
	})
	t.Run("AdoptNothing", func(t *testing.T) {
		if _, err := ca.Adopt(ctx, newTenant()); !vault.IsCode(err, vault.ENOTFOUND) {
			t.Errorf("got %v, want not_found", err)
		}
	})
	t.Run("StatementCheck", func(t *testing.T) {
		if err := audit.CheckMoveStatement(tenant, h); err != nil {
			t.Errorf("CheckMoveStatement: %v", err)
		}
		for name, mod := range map[string]func(*audit.Handover){
			"other tenant": func(x *audit.Handover) { x.Statement = strings.Replace(x.Statement, tenant, newTenant(), 1) },
			"other time":   func(x *audit.Handover) { x.At = x.At.Add(time.Hour) },
			"keys swapped": func(x *audit.Handover) { x.OldKey, x.NewKey = x.NewKey, x.OldKey },
		} {
			x := h
			mod(&x)
			if err := audit.CheckMoveStatement(tenant, x); !vault.IsCode(err, vault.EINVALID) {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
	})
}
