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

	"github.com/rs/zerolog"

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

// cmdTenantMove moves a firm to another region's cell (package move). When
// a server runs on the data directory (it holds DATA_DIR/serve.lock), the
// move is sent to that server's operator API and followed until it ends
// (operator_client.go); otherwise it runs in this process, which holds the
// lock meanwhile so that no server starts on the directory.
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
	m, err := cf.load(stderr)
	if err != nil {
		return err
	}
	var res *move.Result
	lock, err := lockDataDir(m.Config.DataDir, "tenant move")
	switch {
	case errors.Is(err, errDataDirBusy):
		res, err = forwardMove(ctx, m, *tenant, *to)
	case err != nil:
		return err
	default:
		res, err = moveInProcess(ctx, m, *tenant, *to)
		if err == nil && res.From != "" && res.From != res.To {
			// The old cell's backup state still holds the firm (backup.go).
			if rerr := resyncBackupAfterMove(ctx, &m.Config, res.From); rerr != nil {
				err = fmt.Errorf("the firm is moved, but region %s's backup still starts from a copy with it: %w; run the same command again", res.From, rerr)
			}
		}
		lock.Close()
	}
	if err != nil {
		if res == nil || res.Step == "" {
			return cliError(err)
		}
		return fmt.Errorf("%w (the move stopped after step %s; the firm is served from %s; run the same command again to resume)",
			cliError(err), res.Step, servedFrom(res))
	}
	if *asJSON {
		return writeJSON(stdout, res)
	}
	if res.Already {
		fmt.Fprintf(stdout, "Firm %s is in region %s already; nothing to do.\n", res.TenantID, res.To)
		return nil
	}
	resumed := ""
	if res.Resumed != "" {
		resumed = fmt.Sprintf(" (resumed after %s)", res.Resumed)
	}
	fmt.Fprintf(stdout, "Moved firm %s from %s to %s%s: %d objects copied (%d bytes), %d already there; %d rows copied, %d removed from %s.\n",
		res.TenantID, res.From, res.To, resumed, res.Blobs.Copied, res.Blobs.Bytes, res.Blobs.Skipped, res.Rows, res.Deleted, res.From)
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

// moveInProcess opens the program, runs the whole move and closes it
// again, with the crash tests' hook when moveCrashEnv names a step.
func moveInProcess(ctx context.Context, m *Main, tenant, to string) (*move.Result, error) {
	if os.Getenv("GOMEMLIMIT") == "" {
		// The copy's buffers are bounded (package move); the limit keeps
		// the collector from letting the heap grow to twice what is live.
		debug.SetMemoryLimit(moveMemoryLimit)
	}
	crashAfter, err := moveCrashStep()
	if err != nil {
		return nil, err
	}
	m.Log = m.Log.Level(zerolog.WarnLevel)
	if err := m.Open(ctx); err != nil {
		m.Close()
		return nil, err
	}
	defer m.Close()
	mv, err := m.newMover(ctx)
	if err != nil {
		return nil, err
	}
	mv.AfterStep = m.moveCrashHook(crashAfter)
	res, err := mv.Run(ctx, tenant, to, move.StepDone)
	if err == nil {
		err = m.finishMove(res)
	}
	return res, err
}

// moveCrashStep returns the step moveCrashEnv names, or "".
func moveCrashStep() (string, error) {
	crashAfter := os.Getenv(moveCrashEnv)
	if crashAfter != "" {
		if _, err := move.ParseStep(crashAfter); err != nil {
			return "", err
		}
	}
	return crashAfter, nil
}

// moveCrashHook returns the mover's AfterStep that exits the process with
// status 3 after step crashAfter (nil when it is "").
func (m *Main) moveCrashHook(crashAfter string) func(move.Step) {
	if crashAfter == "" {
		return nil
	}
	return func(s move.Step) {
		if string(s) == crashAfter {
			m.Log.Warn().Str("step", string(s)).Msg("test hook: exiting after the move step")
			os.Exit(3)
		}
	}
}

// finishMove does what follows a finished move outside the cells: the
// firm's lines in the old cell's log files go with it.
func (m *Main) finishMove(res *move.Result) error {
	if res == nil || res.Step != move.StepDone || res.From == "" || res.From == res.To || m.cellLogs == nil {
		return nil
	}
	if _, err := m.cellLogs.MoveTenant(m.Config.CellDir(res.From), m.Config.CellDir(res.To), res.TenantID); err != nil {
		return fmt.Errorf("move the firm's log lines: %w", err)
	}
	return nil
}

// newMover wires the mover over the opened program: its cells, stores,
// keys, indexer and audit logs, with the regions' audit signers (the
// program's own, which Open loaded). The CLI and the serving process share
// it.
func (m *Main) newMover(ctx context.Context) (*move.Mover, error) {
	signers := m.auditSigners
	if signers == nil {
		masters := make(map[string]keys.MasterKey)
		for _, name := range m.Config.RegionNames() {
			mk, err := keys.LoadOrCreateFileMasterKey(m.Config.MasterKeyPath(name))
			if err != nil {
				return nil, fmt.Errorf("region %s: master key: %w", name, err)
			}
			masters[name] = mk
		}
		var err error
		if signers, err = keys.LoadOrCreateAuditSigners(ctx, masters, m.Config.RegionNames()[0], m.Config.AuditSignerPath); err != nil {
			return nil, err
		}
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
