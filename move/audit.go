package move

import (
	"context"
	"time"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
)

// AuditCarrier carries a firm's audit log from one cell's log to
// another's. Logs is the implementation over audit.Router.
type AuditCarrier interface {
	// Check reports whether both regions have a log and a signer.
	// Errors: invalid.
	Check(from, to string) error
	// Handover signs the handover event into the old log; again, it
	// finds the one there.
	Handover(ctx context.Context, tenantID, from, to string, at time.Time) error
	// Copy copies the firm's log into the new cell's log, resumably.
	Copy(ctx context.Context, tenantID, from, to string) error
	// SwitchIn lets the copy in the new cell take the firm's appends,
	// before the directory switch; SwitchOut stops the old log taking
	// them, after it. Both check that the copy is as large as the old log.
	SwitchIn(ctx context.Context, tenantID, from, to string) error
	SwitchOut(ctx context.Context, tenantID, from, to string) error
	// Adopt signs the new log's first checkpoint of the firm with the new
	// region's key.
	Adopt(ctx context.Context, tenantID, to string) error
	// Drop removes the firm's log from the old cell's log.
	Drop(ctx context.Context, tenantID, from string) error
}

// Logs carries firms' logs between the cell logs of an audit.Router, with
// the regions' audit signers.
type Logs struct {
	Router  *audit.Router
	Signers keys.AuditSigners
}

var _ AuditCarrier = Logs{}

// Check implements AuditCarrier.
func (l Logs) Check(from, to string) error {
	for _, r := range []string{from, to} {
		if l.Router.Logs[r] == nil {
			return vault.Errorf(vault.EINVALID, "Region %s has no audit log here.", r)
		}
		if l.Signers[r] == nil {
			return vault.Errorf(vault.EINVALID, "Region %s has no audit signer.", r)
		}
	}
	return nil
}

// Handover implements AuditCarrier: the move statement, signed by both
// regions' keys, in the handover event of the old log.
func (l Logs) Handover(ctx context.Context, tenantID, from, to string, at time.Time) error {
	if err := l.Check(from, to); err != nil {
		return err
	}
	oldS, newS := l.Signers[from], l.Signers[to]
	stmt, err := audit.MoveStatement(tenantID, from, to, at, oldS.Signer, newS.Signer)
	if err != nil {
		return err
	}
	_, err = l.Router.Logs[from].Handover(ctx, tenantID, audit.Handover{
		From: from, To: to, OldKey: oldS.VerifierKey, NewKey: newS.VerifierKey, Statement: stmt, At: at,
	})
	return err
}

// Copy implements AuditCarrier.
func (l Logs) Copy(ctx context.Context, tenantID, from, to string) error {
	if err := l.Check(from, to); err != nil {
		return err
	}
	return audit.CopyTenant(ctx, l.Router.Logs[from], l.Router.Logs[to], tenantID)
}

// SwitchIn implements AuditCarrier.
func (l Logs) SwitchIn(ctx context.Context, tenantID, from, to string) error {
	if err := l.Check(from, to); err != nil {
		return err
	}
	return audit.SwitchIn(ctx, l.Router.Logs[from], l.Router.Logs[to], tenantID)
}

// SwitchOut implements AuditCarrier.
func (l Logs) SwitchOut(ctx context.Context, tenantID, from, to string) error {
	if err := l.Check(from, to); err != nil {
		return err
	}
	return audit.SwitchOut(ctx, l.Router.Logs[from], l.Router.Logs[to], tenantID)
}

// Adopt implements AuditCarrier.
func (l Logs) Adopt(ctx context.Context, tenantID, to string) error {
	log := l.Router.Logs[to]
	if log == nil {
		return vault.Errorf(vault.EINVALID, "Region %s has no audit log here.", to)
	}
	_, err := log.Adopt(ctx, tenantID)
	return err
}

// Drop implements AuditCarrier.
func (l Logs) Drop(ctx context.Context, tenantID, from string) error {
	log := l.Router.Logs[from]
	if log == nil {
		return vault.Errorf(vault.EINVALID, "Region %s has no audit log here.", from)
	}
	return log.DropTenant(ctx, tenantID)
}
