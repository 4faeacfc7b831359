package audit

import (
	"context"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/vault"
)

// Moving a firm's log from one cell's audit.db to another's (issue #13).
// The signatures below are the contract between the audit log and the
// move; the bodies are being built.

// Handover describes a firm's move as its log records it.
type Handover struct {
	From, To string // regions
	// OldKey and NewKey are the verifier keys of the From and To regions'
	// checkpoint keys.
	OldKey, NewKey string
	// Statement is the move statement signed by both keys
	// (MoveStatement).
	Statement string
	// At is the time of the move.
	At time.Time
}

var errHandoverNotBuilt = vault.Errorf(vault.EINTERNAL, "Moving an audit log is not built yet.")

// MoveStatement returns the signed statement of a firm's move, signed by
// the old region's key and then the new one's.
func MoveStatement(tenant, from, to string, at time.Time, oldSigner, newSigner note.Signer) (string, error) {
	return "", errHandoverNotBuilt
}

// Handover appends the handover event to tenant's log and signs and
// anchors a checkpoint covering it with the log's current signer; called
// again it returns the seq of the handover already there.
func (l *Log) Handover(ctx context.Context, tenant string, h Handover) (int64, error) {
	return 0, errHandoverNotBuilt
}

// CopyTenant copies every row of tenant's log from one log to another,
// resumably, and checks the copied tree's root.
func CopyTenant(ctx context.Context, from, to *Log, tenant string) error {
	return errHandoverNotBuilt
}

// Adopt signs and anchors the first checkpoint of a log copied into l,
// with l's signer for tenant (the new region's).
func (l *Log) Adopt(ctx context.Context, tenant string) (*Checkpoint, error) {
	return nil, errHandoverNotBuilt
}

// DropTenant removes every row of tenant's log from l (the old cell's),
// after the log lives on in its new cell.
func (l *Log) DropTenant(ctx context.Context, tenant string) error {
	return errHandoverNotBuilt
}
