package vaulttest

import (
	"context"
	"sync"

	"github.com/casevault/casevault/vault"
)

// MemAudit is an in-memory vault.AuditLog for unit tests of the service's
// logic: it keeps events in order and can be made to fail. Backends and the
// server are tested with the real audit.Log.
type MemAudit struct {
	mu     sync.Mutex
	events []vault.AuditEvent
	fail   error
}

// Append records e, or fails with the error set by Fail.
func (m *MemAudit) Append(_ context.Context, e *vault.AuditEvent) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return 0, vault.WrapError(vault.EUNAVAILABLE, m.fail, "Audit log unavailable.")
	}
	m.events = append(m.events, *e)
	return int64(len(m.events)), nil
}

// Fail makes every later Append fail with err; nil heals it.
func (m *MemAudit) Fail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = err
}

// Events returns a copy of the events recorded so far.
func (m *MemAudit) Events() []vault.AuditEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]vault.AuditEvent(nil), m.events...)
}
