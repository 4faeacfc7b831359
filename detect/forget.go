package detect

// Forget drops everything the engine holds of firm tenantID — counters,
// settings, counts and token sources not yet written — and ignores the
// firm from then on: a shredded firm's rows must not come back through a
// later Flush. It waits for a Flush in progress to finish, so that once it
// returns nothing more of the firm is written.
func (e *Engine) Forget(tenantID string) {
	e.flushMu.Lock()
	defer e.flushMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.firms, tenantID)
	e.gone[tenantID] = true
}

// forgotten reports whether Forget dropped tenantID.
func (e *Engine) forgotten(tenantID string) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.gone[tenantID]
}
