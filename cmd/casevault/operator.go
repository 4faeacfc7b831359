package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/casevault/casevault/move"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/web"
)

// operatorTokenBytes is the operator token's length before encoding.
const operatorTokenBytes = 32

// loadOrCreateOperatorToken returns the operator token kept in path,
// generating it (32 random bytes, base64url, mode 0600) when the file is
// missing. A file that others than its owner may read is refused, as a
// master key is.
func loadOrCreateOperatorToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		fi, serr := os.Stat(path)
		if serr != nil {
			return "", fmt.Errorf("operator token: %w", serr)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return "", fmt.Errorf("operator token: %s is readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
		}
		tok := strings.TrimSpace(string(b))
		if raw, derr := base64.RawURLEncoding.DecodeString(tok); derr != nil || len(raw) < operatorTokenBytes {
			return "", fmt.Errorf("operator token: %s does not hold %d base64url bytes; delete it to have a new one made", path, operatorTokenBytes)
		}
		return tok, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("operator token: %w", err)
	}
	raw := make([]byte, operatorTokenBytes)
	rand.Read(raw)
	tok := base64.RawURLEncoding.EncodeToString(raw)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("operator token: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("operator token: %w", err)
	}
	if _, err := f.WriteString(tok + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("operator token: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("operator token: %w", err)
	}
	return tok, nil
}

// readOperatorToken reads the operator token a server made.
func readOperatorToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("operator token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// operatorMoves runs firms' moves in the serving process for the operator
// API (web.Operator): one background move per firm at a time, with the
// program's own mover. What it remembers lives only as long as the
// process; the moves table says where an interrupted move stopped, and a
// new request resumes it.
type operatorMoves struct {
	m          *Main
	mover      *move.Mover
	crashAfter string

	ctx    context.Context // cancelled by Close: the moves stop
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	jobs map[string]*web.MoveStatus // by firm id, since start
}

var _ web.Operator = (*operatorMoves)(nil)

// newOperatorMoves wires the operator's moves over the opened program.
func (m *Main) newOperatorMoves(ctx context.Context) (*operatorMoves, error) {
	mv, err := m.newMover(ctx)
	if err != nil {
		return nil, err
	}
	crashAfter, err := moveCrashStep()
	if err != nil {
		return nil, err
	}
	// The old cell's backup is stopped around the cleanup and resynced
	// without the firm (backup.go).
	mv.AroundCleanup = m.backupAroundCleanup
	o := &operatorMoves{m: m, mover: mv, crashAfter: crashAfter, jobs: map[string]*web.MoveStatus{}}
	o.ctx, o.cancel = context.WithCancel(context.WithoutCancel(ctx))
	return o, nil
}

// StartMove starts or resumes firm tenantID's move to region to in the
// background. It checks what the mover would refuse at once first, so that
// the request answers not_found, invalid or conflict itself.
func (o *operatorMoves) StartMove(ctx context.Context, tenantID, to string) (web.MoveStatus, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if st := o.jobs[tenantID]; st != nil && st.Running {
		if st.To != to {
			return web.MoveStatus{}, vault.Errorf(vault.ECONFLICT, "A move of this firm from %s to %s is running; it must finish first.", st.From, st.To)
		}
		return *st, nil
	}
	if o.ctx.Err() != nil {
		return web.MoveStatus{}, vault.Errorf(vault.EUNAVAILABLE, "The server is shutting down.")
	}
	from, rec, err := o.mover.Pending(ctx, tenantID, to)
	if err != nil {
		return web.MoveStatus{}, err
	}
	st := &web.MoveStatus{TenantID: tenantID, From: from, To: to, Running: true}
	if rec != nil {
		st.Step = rec.Step
	}
	o.jobs[tenantID] = st
	o.m.Log.Info().Str("tenant_id", tenantID).Str("from", st.From).Str("to", to).Str("after_step", st.Step).Msg("move requested")
	o.wg.Go(func() { o.run(tenantID, to) })
	return *st, nil
}

// run runs one move to its end and records how it ended.
func (o *operatorMoves) run(tenantID, to string) {
	mv := *o.mover
	crash := o.m.moveCrashHook(o.crashAfter)
	mv.AfterStep = func(s move.Step) {
		o.mu.Lock()
		o.jobs[tenantID].Step = string(s)
		o.mu.Unlock()
		if crash != nil {
			crash(s)
		}
	}
	res, err := mv.Run(o.ctx, tenantID, to, move.StepDone)
	if err == nil {
		err = o.m.finishMove(res)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	st := o.jobs[tenantID]
	st.Running = false
	if res != nil {
		st.From, st.Step, st.Result = res.From, string(res.Step), res
	}
	if err != nil {
		st.ErrorCode, st.Error = vault.ErrorCode(err), vault.ErrorMessage(err)
		if st.ErrorCode == vault.EINTERNAL {
			st.Error = "Internal error (see the server log)."
		}
		o.m.Log.Warn().Err(err).Str("tenant_id", tenantID).Str("step", st.Step).Msg("move stopped")
		return
	}
	o.m.Log.Info().Str("tenant_id", tenantID).Str("from", st.From).Str("to", st.To).Msg("move finished")
}

// Moves returns the moves this process ran or runs, and those the moves
// table holds in progress (stopped by an earlier process), by firm id.
func (o *operatorMoves) Moves(ctx context.Context) ([]web.MoveStatus, error) {
	recs, err := o.m.DB.Service.Moves(ctx)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []web.MoveStatus
	for _, st := range o.jobs {
		out = append(out, *st)
	}
	for _, rec := range recs {
		if o.jobs[rec.TenantID] == nil {
			out = append(out, recordStatus(rec.TenantID, rec.From, rec.To, rec.Step, rec.LastError))
		}
	}
	slices.SortFunc(out, func(a, b web.MoveStatus) int { return strings.Compare(a.TenantID, b.TenantID) })
	return out, nil
}

// Move returns firm tenantID's move. Errors: not_found.
func (o *operatorMoves) Move(ctx context.Context, tenantID string) (web.MoveStatus, error) {
	o.mu.Lock()
	st := o.jobs[tenantID]
	var cp web.MoveStatus
	if st != nil {
		cp = *st
	}
	o.mu.Unlock()
	if st != nil {
		return cp, nil
	}
	rec, err := o.m.DB.Service.Move(ctx, tenantID)
	if err != nil {
		return web.MoveStatus{}, err
	}
	return recordStatus(rec.TenantID, rec.From, rec.To, rec.Step, rec.LastError), nil
}

// recordStatus is the status of a move in progress that no run of this
// process has touched: where the moves table says it stopped.
func recordStatus(tenantID, from, to, step, lastError string) web.MoveStatus {
	st := web.MoveStatus{TenantID: tenantID, From: from, To: to, Step: step, ErrorCode: lastError}
	if lastError != "" {
		st.Error = "The move's last attempt failed; POST it again to resume."
	}
	return st
}

// Close stops the moves in progress (each stops at the step it is in and
// resumes on the next request) and waits for them.
func (o *operatorMoves) Close() {
	if o == nil {
		return
	}
	o.cancel()
	o.wg.Wait()
}

// wireOperator gives the server its operator listener, unless
// operator.addr is off: the token (made at the first start) and the moves.
func (m *Main) wireOperator(ctx context.Context) error {
	addr := m.Config.OperatorListenAddr()
	if addr == "" {
		return nil
	}
	token, err := loadOrCreateOperatorToken(m.Config.OperatorTokenPath())
	if err != nil {
		return err
	}
	if m.moves, err = m.newOperatorMoves(ctx); err != nil {
		return err
	}
	m.shreds = newOperatorShreds(ctx, m)
	m.HTTP.Operator = web.OperatorListener{Addr: addr, TLS: m.Config.OperatorTLS(), Token: token, Moves: m.moves, Drills: m.drills, Shreds: m.shreds}
	return nil
}

// operatorTokenFile is the operator token's file while the API is on, else
// "".
func (m *Main) operatorTokenFile() string {
	if m.moves == nil {
		return ""
	}
	return m.Config.OperatorTokenPath()
}
