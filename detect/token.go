package detect

import (
	"context"
	"hash/maphash"

	"github.com/casevault/casevault/vault"
)

// tokenSource learns the sources of API tokens: their creation's, then
// every one they are used from, kept as keyed hashes (never in the clear)
// and written by Flush.
// A use from a source the token was never created or used from is a
// finding (token_new_source). f is locked.
func (e *Engine) tokenSource(ctx context.Context, f *firm, o vault.Observation) *vault.Finding {
	ev := o.Event
	token, learnOnly := o.TokenID, false
	switch {
	case ev.Action == vault.ActTokenCreate && ev.Outcome == vault.OutcomeOK && ev.Details["kind"] == vault.TokenAPI:
		token, learnOnly = ev.ObjectID, true
	case o.TokenKind != vault.TokenAPI || token == "":
		return nil
	}
	if ev.Source == "" || e.opt.SourceHash == nil {
		return nil
	}
	fast := maphash.String(f.seed, vault.NormalizeSource(ev.Source))
	seen := f.token(token)
	if seen.fast[fast] {
		return nil
	}
	h, err := e.opt.SourceHash(ctx, ev.TenantID, token, ev.Source)
	if err != nil {
		e.opt.Log.Error().Err(err).Str("tenant_id", ev.TenantID).Str("token_id", token).Msg("token source not hashed")
		return nil
	}
	seen.fast[fast] = true
	if seen.hashes[string(h)] {
		return nil
	}
	known := len(seen.hashes) > 0
	seen.hashes[string(h)] = true
	// Written by the next Flush, not while the firm's events wait.
	f.newSources = append(f.newSources, vault.TokenSource{TokenID: token, Hash: h, At: ev.Time})
	if learnOnly || !known {
		return nil // a token with no known source learns its first
	}
	return &vault.Finding{TenantID: ev.TenantID, Rule: vault.RuleTokenNewSource, UserID: ev.ActorID, TokenID: token,
		Evidence: []int64{o.Seq}, Threshold: float64(len(seen.hashes) - 1), Observed: float64(len(seen.hashes))}
}
