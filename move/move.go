// Package move moves a firm from one region's cell to another's (issue #13,
// `casevault tenant move`): its blobs, its keysets (rewrapped under the new
// region's master key), its metadata rows (with every user's email index
// recomputed under the new region's index key) and its audit log, then
// switches the directory to the new region and removes everything of the
// firm from the old cell.
//
// A move is a list of steps, each idempotent; the service database records
// the last one that completed (sqlite.Move), so a rerun after a crash or a
// failing store resumes after it. The switch — one statement on the
// directory — is the commit point: before it the firm is served from the
// old cell only, after it from the new one only (vault/cell.Router routes
// by the directory alone), so a crash at any point leaves it readable in
// exactly one region. The firm's users see it unavailable from the freeze
// to the switch only, in the process that runs the move; a crash in
// between leaves it served from the old cell, whose audit log takes its
// events after the handover (audit.Log.Handover), and a rerun carries
// them over.
package move

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/cell"
	"github.com/casevault/casevault/vault/sqlite"
)

// Step names a step of a move, as the moves table records it.
type Step string

// The steps of a move, in order.
const (
	StepPrepare      Step = "prepare"        // target served, not the current region; the move recorded
	StepCopyBlobs    Step = "copy_blobs"     // every object under ten_<id>/ copied and checked
	StepFreeze       Step = "freeze"         // the firm answers unavailable in this process, until the switch
	StepCopyNewBlobs Step = "copy_new_blobs" // objects added since copied, objects removed since removed
	StepHandover     Step = "handover"       // the handover event signed into the old log
	StepCopyMetadata Step = "copy_metadata"  // rows copied into the new cell, rewrapped and reindexed
	StepCopyAudit    Step = "copy_audit"     // the firm's log copied into the new cell's audit.db
	StepSwitch       Step = "switch"         // the directory names the new region: the commit point; the firm thaws
	StepAdopt        Step = "adopt"          // the new log's first checkpoint since the handover, by the new region's key
	StepCleanup      Step = "cleanup"        // nothing of the firm left in the old cell
	StepDone         Step = "done"           // the move's record deleted
)

// Steps are the steps of a move, in order.
var Steps = []Step{
	StepPrepare, StepCopyBlobs, StepFreeze, StepCopyNewBlobs, StepHandover, StepCopyMetadata,
	StepCopyAudit, StepSwitch, StepAdopt, StepCleanup, StepDone,
}

// ParseStep returns the step named s. Errors: invalid.
func ParseStep(s string) (Step, error) {
	if i := slices.Index(Steps, Step(s)); i >= 0 {
		return Steps[i], nil
	}
	return "", vault.Errorf(vault.EINVALID, "Unknown move step %q.", s)
}

// after reports whether step a comes after step b ("" before every step).
func after(a, b Step) bool { return slices.Index(Steps, a) > slices.Index(Steps, b) }

// Rewrapper rewraps a firm's keysets under another region's master key
// (keys.Manager).
type Rewrapper interface {
	// RewrapTenantKeysets is keys.Manager.RewrapTenantKeysets.
	RewrapTenantKeysets(ctx context.Context, tenantID, from, to string, ks vault.TenantKeysets) (vault.TenantKeysets, error)
	// Forget drops the firm's cached keys.
	Forget(tenantID string)
}

// Mover moves firms between the cells of one process. It is safe for
// concurrent use by moves of different firms.
type Mover struct {
	// Cells are the service database and the served cells' databases.
	Cells *cell.Router
	// Stores are the region blob stores by region.
	Stores map[string]vault.BlobStore
	// Keys rewraps keysets from one region's master key to another's.
	Keys Rewrapper
	// Indexer computes the users' email indexes under the new region's
	// index key.
	Indexer vault.Indexer
	// Audit carries the firm's audit log from the old cell's log to the
	// new one's.
	Audit AuditCarrier
	// DropAnchor, when set, deletes the firm's anchored checkpoint kept
	// in the old region's key directory, in cleanup.
	DropAnchor func(ctx context.Context, region, tenantID string) error
	// Switched, when set, is called right after the switch, to drop what
	// the process remembers of the firm's region (vault.Service.ForgetRegion).
	Switched func(tenantID string)
	// AroundCleanup, when set, runs the cleanup step (clean) for the old
	// region: the server stops the old cell's running backup around it,
	// whose hold on the WAL would keep the cleanup's checkpoints from
	// truncating it, and resyncs the backup without the firm afterwards.
	AroundCleanup func(ctx context.Context, region string, clean func(context.Context) error) error
	// AfterStep, when set, is called after each step is recorded: the
	// crash tests' hook.
	AfterStep func(Step)
	// Workers is how many objects are copied at once (default 4).
	Workers int
	Log     zerolog.Logger
}

// Result says what a run of a move did.
type Result struct {
	TenantID string `json:"tenant_id"`
	From     string `json:"from"`
	To       string `json:"to"`
	// Step is the last step completed; StepDone when the move finished.
	Step Step `json:"step"`
	// Resumed is the step the run resumed after ("" for a fresh move).
	Resumed Step `json:"resumed,omitempty"`
	// Blobs are the object counts and bytes of this run's copies.
	Blobs BlobStats `json:"blobs"`
	// Rows is the number of metadata rows copied, Deleted those removed
	// from the old cell.
	Rows    int64 `json:"rows"`
	Deleted int64 `json:"deleted_rows"`
	// Already is set when the firm was in the target region before the
	// run and no move was in progress: nothing was done.
	Already bool    `json:"already,omitempty"`
	Seconds float64 `json:"seconds"`
}

// run is one move in progress.
type run struct {
	mv       *Mover
	rec      *sqlite.Move
	res      *Result
	src, dst *sqlite.DB
	from, to vault.BlobStore
	prefix   string
	copies   copyLog // the objects this run copied and checked (blobs.go)
}

// Run moves firm tenantID to region to, resuming a move in progress, and
// stops after step until (StepDone for the whole move). A failure records
// its error code in the move's record and leaves the firm served from one
// region: rerun to finish. Errors: not_found (unknown firm), invalid (an
// unknown or unserved region), conflict (a move to another region in
// progress), unavailable (a store or database failing: rerun), internal.
func (mv *Mover) Run(ctx context.Context, tenantID, to string, until Step) (*Result, error) {
	start := time.Now()
	res := &Result{TenantID: tenantID, To: to}
	r := &run{mv: mv, res: res, prefix: tenantID + "/"}
	current, rec, err := mv.Pending(ctx, tenantID, to)
	switch {
	case err != nil:
		return nil, err
	case rec == nil:
		res.From = current
		if current == to {
			res.Already, res.Step = true, StepDone
			return res, nil
		}
		if err := mv.prepare(ctx, tenantID, current, to); err != nil {
			return nil, err
		}
		if rec, err = mv.Cells.Service.StartMove(ctx, tenantID, current, to); err != nil {
			return nil, err
		}
	default:
		res.Resumed = Step(rec.Step)
	}
	r.rec, res.From, res.Step = rec, rec.From, Step(rec.Step)
	if err := r.open(); err != nil {
		return nil, err
	}
	err = r.steps(ctx, until)
	res.Seconds = time.Since(start).Seconds()
	if err != nil {
		mv.Cells.Service.SetMoveError(context.WithoutCancel(ctx), tenantID, vault.ErrorCode(err))
		return res, err
	}
	return res, nil
}

// Pending returns, without changing anything, what a Run of firm
// tenantID's move to region to would start from: the move in progress to
// that region, or (rec nil) none and the firm's current region. Errors:
// not_found (unknown firm), invalid (to is not served here, and not the
// firm's region), conflict (a move to another region in progress),
// unavailable.
func (mv *Mover) Pending(ctx context.Context, tenantID, to string) (from string, rec *sqlite.Move, err error) {
	if tenantID == "" || !vault.ValidBlobKeyChars(tenantID) {
		return "", nil, vault.Errorf(vault.ENOTFOUND, "Firm not found.")
	}
	rec, err = mv.Cells.Service.Move(ctx, tenantID)
	switch {
	case vault.IsCode(err, vault.ENOTFOUND):
		if from, err = mv.Cells.Service.DirectoryRegion(ctx, tenantID); err != nil {
			return "", nil, err
		}
		if _, err := mv.Cells.CellOf(to); err != nil && from != to {
			return "", nil, vault.Errorf(vault.EINVALID, "Region %s is not served by this server; configure it first.", to)
		}
		return from, nil, nil
	case err != nil:
		return "", nil, err
	case rec.To != to:
		return "", nil, vault.Errorf(vault.ECONFLICT, "A move of this firm from %s to %s is in progress; finish it first (to %s).", rec.From, rec.To, rec.To)
	}
	return rec.From, rec, nil
}

// prepare checks that region to can take the firm.
func (mv *Mover) prepare(ctx context.Context, tenantID, from, to string) error {
	if mv.Audit == nil {
		return vault.Errorf(vault.EINTERNAL, "The mover needs the audit logs.")
	}
	if _, err := mv.Cells.CellOf(to); err != nil {
		return vault.Errorf(vault.EINVALID, "Region %s is not served by this server; configure it first.", to)
	}
	if _, err := mv.Cells.CellOf(from); err != nil {
		return vault.Errorf(vault.EINVALID, "The firm's region %s is not served by this server.", from)
	}
	if mv.Stores[to] == nil || mv.Stores[from] == nil {
		return vault.Errorf(vault.EINVALID, "Regions %s and %s both need a blob store.", from, to)
	}
	if err := mv.Stores[to].Ping(ctx); err != nil {
		return err
	}
	return mv.Audit.Check(from, to)
}

func (r *run) open() error {
	if r.mv.Audit == nil || r.mv.Keys == nil || r.mv.Indexer == nil {
		return vault.Errorf(vault.EINTERNAL, "The mover needs the audit logs, the key manager and the indexer.")
	}
	var err error
	if r.src, err = r.mv.Cells.CellOf(r.rec.From); err != nil {
		return err
	}
	if r.dst, err = r.mv.Cells.CellOf(r.rec.To); err != nil {
		return err
	}
	r.from, r.to = r.mv.Stores[r.rec.From], r.mv.Stores[r.rec.To]
	if r.from == nil || r.to == nil {
		return vault.Errorf(vault.EINVALID, "Regions %s and %s both need a blob store.", r.rec.From, r.rec.To)
	}
	return nil
}

// steps runs the steps after the recorded one, through until.
func (r *run) steps(ctx context.Context, until Step) error {
	id := r.rec.TenantID
	last := Step(r.rec.Step)
	if after(last, StepCopyBlobs) && after(StepSwitch, last) {
		// Resumed after the freeze, before the switch was recorded.
		region, err := r.mv.Cells.Service.DirectoryRegion(ctx, id)
		if err != nil {
			return err
		}
		r.mv.Cells.Freeze(id)
		if region == r.rec.To {
			// The directory was switched before the run stopped: the new
			// cell serves the firm. The switch is done again (each of its
			// parts finds itself done), nothing before it.
			last = StepCopyAudit
		} else {
			// The freeze died with the process that stopped: the old cell
			// has served the firm since, and its objects, rows and log
			// (events after the handover) may have grown. Everything from
			// the copy of new objects to the switch is redone (each step
			// finds what is done already).
			last = StepFreeze
		}
	}
	if last == "" {
		// The prepare step's record is the moves row itself.
		if err := r.record(ctx, StepPrepare); err != nil {
			return err
		}
		last = StepPrepare
	}
	do := map[Step]func(context.Context) error{
		StepCopyBlobs:    r.copyBlobs,
		StepFreeze:       r.freeze,
		StepCopyNewBlobs: r.copyNewBlobs,
		StepHandover:     r.handover,
		StepCopyMetadata: r.copyMetadata,
		StepCopyAudit:    r.copyAudit,
		StepSwitch:       r.switchRegion,
		StepAdopt:        r.adopt,
		StepCleanup: func(ctx context.Context) error {
			if r.mv.AroundCleanup == nil {
				return r.cleanup(ctx)
			}
			return r.mv.AroundCleanup(ctx, r.rec.From, r.cleanup)
		},
		StepDone: r.done,
	}
	for _, step := range Steps {
		if !after(step, last) || after(step, until) {
			continue
		}
		if err := do[step](ctx); err != nil {
			// The cell the directory names goes on serving the firm until
			// the rerun: the old one before the switch (its log takes the
			// firm's events after the handover), the new one from it.
			r.mv.Cells.Thaw(id)
			return fmt.Errorf("move %s: %w", step, err)
		}
		if step == StepDone {
			r.res.Step = StepDone
			r.mv.Log.Info().Str("tenant_id", id).Str("step", string(step)).Msg("move step done")
			if r.mv.AfterStep != nil {
				r.mv.AfterStep(step)
			}
			continue
		}
		if err := r.record(ctx, step); err != nil {
			return err
		}
	}
	return nil
}

// record notes that step completed, then calls the crash hook.
func (r *run) record(ctx context.Context, step Step) error {
	if err := r.mv.Cells.Service.SetMoveStep(ctx, r.rec.TenantID, string(step)); err != nil {
		return err
	}
	r.rec.Step, r.res.Step = string(step), step
	r.mv.Log.Info().Str("tenant_id", r.rec.TenantID).Str("step", string(step)).Msg("move step done")
	if r.mv.AfterStep != nil {
		r.mv.AfterStep(step)
	}
	return nil
}

func (r *run) freeze(context.Context) error {
	r.mv.Cells.Freeze(r.rec.TenantID)
	return nil
}

func (r *run) handover(ctx context.Context) error {
	return r.mv.Audit.Handover(ctx, r.rec.TenantID, r.rec.From, r.rec.To, r.rec.StartedAt)
}

func (r *run) copyAudit(ctx context.Context) error {
	return r.mv.Audit.Copy(ctx, r.rec.TenantID, r.rec.From, r.rec.To)
}

// switchRegion is the commit point: the directory names the new region.
// The new log takes the firm's appends first (nothing routes them there
// before the directory does), the old one stops taking them after; then
// the firm thaws, served from the new cell.
func (r *run) switchRegion(ctx context.Context) error {
	id := r.rec.TenantID
	if err := r.mv.Audit.SwitchIn(ctx, id, r.rec.From, r.rec.To); err != nil {
		return err
	}
	if err := r.mv.Cells.Switch(ctx, id, r.rec.To); err != nil {
		return err
	}
	r.mv.Keys.Forget(id)
	if r.mv.Switched != nil {
		r.mv.Switched(id)
	}
	if err := r.mv.Audit.SwitchOut(ctx, id, r.rec.From, r.rec.To); err != nil {
		return err
	}
	r.mv.Cells.Thaw(id)
	return nil
}

func (r *run) adopt(ctx context.Context) error {
	return r.mv.Audit.Adopt(ctx, r.rec.TenantID, r.rec.To)
}

func (r *run) done(ctx context.Context) error {
	return r.mv.Cells.Service.DeleteMove(ctx, r.rec.TenantID)
}
