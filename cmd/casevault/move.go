package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/move"
	"github.com/casevault/casevault/vault"
)

// moveCrashEnv names a step after which `tenant move` exits with status 3
// as soon as the step is recorded: the crash tests' hook.
const moveCrashEnv = "CASEVAULT_TEST_MOVE_CRASH_AFTER"

// moveMemoryLimit is the Go memory limit of `tenant move` unless
// GOMEMLIMIT sets one.
const moveMemoryLimit = 96 << 20

// cmdTenantMove moves a firm to another region's cell (package move), with
// the server stopped. The move runs in two openings of the program: up to
// the switch, then the rest, so that after the switch nothing in memory
// still names the firm's old region (the audit signers and anchors
// remember a firm's region once looked up).
func cmdTenantMove(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlagSet("tenant move", stderr)
	tenant := fs.String("tenant", "", "the firm's `id`")
	to := fs.String("to", "", "the `region` to move the firm to")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := require(fs, "tenant", "to"); err != nil {
		return err
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// The copy's buffers are bounded (package move); the limit keeps
		// the collector from letting the heap grow to twice what is live.
		debug.SetMemoryLimit(moveMemoryLimit)
	}
	crashAfter := os.Getenv(moveCrashEnv)
	if crashAfter != "" {
		if _, err := move.ParseStep(crashAfter); err != nil {
			return err
		}
	}
	var total move.Result
	for _, until := range []move.Step{move.StepSwitch, move.StepDone} {
		res, err := runMove(ctx, cf, stderr, *tenant, *to, until, crashAfter)
		if res != nil {
			addResult(&total, res)
		}
		if err != nil {
			if res == nil || res.Step == "" {
				return cliError(err)
			}
			return fmt.Errorf("%w (the move stopped after step %s; the firm is served from %s; run the same command again to resume)",
				cliError(err), res.Step, servedFrom(res))
		}
		if res.Already || res.Step == move.StepDone {
			break
		}
	}
	if total.From != "" && total.From != total.To {
		// The old cell's backup state still holds the firm (backup.go).
		if err := resyncMovedBackup(ctx, cf, stderr, total.From); err != nil {
			return fmt.Errorf("the firm is moved, but region %s's backup still starts from a copy with it: %w; run the same command again", total.From, err)
		}
	}
	if *asJSON {
		return writeJSON(stdout, total)
	}
	if total.Already {
		fmt.Fprintf(stdout, "Firm %s is in region %s already; nothing to do.\n", total.TenantID, total.To)
		return nil
	}
	resumed := ""
	if total.Resumed != "" {
		resumed = fmt.Sprintf(" (resumed after %s)", total.Resumed)
	}
	fmt.Fprintf(stdout, "Moved firm %s from %s to %s%s: %d objects copied (%d bytes), %d already there; %d rows copied, %d removed from %s.\n",
		total.TenantID, total.From, total.To, resumed, total.Blobs.Copied, total.Blobs.Bytes, total.Blobs.Skipped, total.Rows, total.Deleted, total.From)
	return nil
}

// servedFrom names the region that serves the firm after a move stopped
// at res.Step.
func servedFrom(res *move.Result) string {
	if slices.Index(move.Steps, res.Step) < slices.Index(move.Steps, move.StepSwitch) {
		return res.From
	}
	return res.To
}

// addResult folds one opening's result into the command's.
func addResult(total, r *move.Result) {
	if total.TenantID == "" {
		*total = *r
		return
	}
	total.Step = r.Step
	total.Blobs.Copied += r.Blobs.Copied
	total.Blobs.Skipped += r.Blobs.Skipped
	total.Blobs.Removed += r.Blobs.Removed
	total.Blobs.Bytes += r.Blobs.Bytes
	total.Rows += r.Rows
	total.Deleted += r.Deleted
	total.Seconds += r.Seconds
}

// runMove opens the program, runs the move through step until and closes
// it again.
func runMove(ctx context.Context, cf *commonFlags, stderr io.Writer, tenant, to string, until move.Step, crashAfter string) (*move.Result, error) {
	m, err := cf.open(ctx, stderr)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	mv, err := m.newMover(ctx)
	if err != nil {
		return nil, err
	}
	if crashAfter != "" {
		mv.AfterStep = func(s move.Step) {
			if string(s) == crashAfter {
				m.Log.Warn().Str("step", string(s)).Msg("test hook: exiting after the move step")
				os.Exit(3)
			}
		}
	}
	res, err := mv.Run(ctx, tenant, to, until)
	if err == nil && res != nil && res.Step == move.StepDone && res.From != "" && res.From != res.To && m.cellLogs != nil {
		// The firm's lines in the old cell's log files go with it.
		if _, lerr := m.cellLogs.MoveTenant(m.Config.CellDir(res.From), m.Config.CellDir(res.To), tenant); lerr != nil {
			return res, fmt.Errorf("move the firm's log lines: %w", lerr)
		}
	}
	return res, err
}

// newMover wires the mover over the opened program: its cells, stores,
// keys, indexer and audit logs, with the regions' audit signers.
func (m *Main) newMover(ctx context.Context) (*move.Mover, error) {
	masters := make(map[string]keys.MasterKey)
	for _, name := range m.Config.RegionNames() {
		mk, err := keys.LoadOrCreateFileMasterKey(m.Config.MasterKeyPath(name))
		if err != nil {
			return nil, fmt.Errorf("region %s: master key: %w", name, err)
		}
		masters[name] = mk
	}
	signers, err := keys.LoadOrCreateAuditSigners(ctx, masters, m.Config.RegionNames()[0], m.Config.AuditSignerPath)
	if err != nil {
		return nil, err
	}
	return &move.Mover{
		Cells: m.DB, Stores: m.Service.Regions, Keys: m.Keys, Indexer: m.Service.Indexer,
		Audit:      move.Logs{Router: m.Audit, Signers: signers},
		DropAnchor: m.dropAnchor,
		Switched:   m.Service.ForgetRegion,
		Log:        m.Log,
	}, nil
}

// dropAnchor deletes the anchored checkpoint of a firm's log kept in
// region's key directory (keys.AuditAnchors' layout), once the log lives
// in another region. Missing is not an error.
func (m *Main) dropAnchor(_ context.Context, region, tenant string) error {
	if tenant == "" {
		return vault.Errorf(vault.EINVALID, "The service log's anchor is no firm's.")
	}
	dir := filepath.Join(m.Config.AuditAnchorDir(region), region+"-audit-anchors")
	p := filepath.Join(dir, hex.EncodeToString([]byte(tenant))+".json")
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot delete the firm's audit anchor in region %s.", region)
	}
	return nil
}
