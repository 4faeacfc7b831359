package vault

import (
	"context"
	"time"
)

// AuditEvent is one event the vault records before it acts (DESIGN.md
// invariant 4). Private holds client-confidential text (names at the time of
// the event); the log keeps it only sealed with the firm's field key and
// committed to, never in the clear.
type AuditEvent struct {
	TenantID   string // "" for the service log (setup, sign-in failures of unknown accounts)
	Time       time.Time
	ActorID    string // user id, ActorOperator, or "" when anonymous
	ActorEmail string
	Source     string // client address
	UserAgent  string
	Action     string
	ObjectType string
	ObjectID   string
	Outcome    string            // "ok", "denied" or "error"
	Details    map[string]string // not confidential: ids, permissions, sizes
	Private    map[string]string // confidential: sealed in the log
}

// ActorOperator is the actor of events caused from the command line.
const ActorOperator = "operator"

// AuditLog is the append-only audit log. Implemented by audit.Log.
type AuditLog interface {
	// Append records e durably (committed and synced) and returns its
	// sequence number in its firm's log. The caller acts only after it
	// returns without error. Errors: unavailable (the log cannot be
	// written: the action must not happen), invalid.
	Append(ctx context.Context, e *AuditEvent) (int64, error)
}

// RequestMeta is what the audit log records about where a request came
// from. web puts it in each request's context.
type RequestMeta struct {
	Source    string
	UserAgent string
}

type requestMetaKey struct{}

// WithRequestMeta returns ctx carrying m.
func WithRequestMeta(ctx context.Context, m RequestMeta) context.Context {
	return context.WithValue(ctx, requestMetaKey{}, m)
}

// RequestMetaFrom returns the RequestMeta of ctx, or the zero value.
func RequestMetaFrom(ctx context.Context) RequestMeta {
	m, _ := ctx.Value(requestMetaKey{}).(RequestMeta)
	return m
}
