package vault

import (
	"context"
	"strings"
)

// WithDetection returns inner wrapped so that every event of a firm it
// appends is then shown to d (with its sequence number, and the token of
// the request that caused it), and each rule d reports fired is raised as
// an alert (raiseAlert) in the same firm's log. The detector sees events
// only after they are on record, so it never delays or refuses an action;
// it never sees the detection's own events (alert.*, user.contain,
// user.release, detection.settings), so an alert cannot trip another.
// It sets s.Detector to d; callers set s.Audit to the result.
func (s *Service) WithDetection(inner AuditLog, d Detector) AuditLog {
	s.Detector = d
	return &detectingLog{inner: inner, s: s, d: d}
}

// detectingLog is the AuditLog that WithDetection returns.
type detectingLog struct {
	inner AuditLog
	s     *Service
	d     Detector
}

// Append appends e to the inner log, then shows it to the detector.
func (l *detectingLog) Append(ctx context.Context, e *AuditEvent) (int64, error) {
	seq, err := l.inner.Append(ctx, e)
	if err != nil || e.TenantID == "" || detectionAction(e.Action) {
		return seq, err
	}
	o := Observation{Seq: seq, Event: e}
	if tok := TokenFromContext(ctx); tok != nil && tok.TenantID == e.TenantID {
		o.TokenID, o.TokenKind = tok.ID, tok.Kind
	}
	for _, f := range l.d.Observe(ctx, o) {
		l.s.raiseAlert(context.WithoutCancel(ctx), f)
	}
	return seq, nil
}

// detectionAction reports whether action is one of the detection's own.
func detectionAction(action string) bool {
	return strings.HasPrefix(action, "alert.") || action == ActUserContain || action == ActUserRelease ||
		action == ActDetectionSettings
}

// Stats passes on the inner log's counters, when it has them.
func (l *detectingLog) Stats() AuditStats {
	if st, ok := l.inner.(interface{ Stats() AuditStats }); ok {
		return st.Stats()
	}
	return AuditStats{}
}

// Ping pings the inner log, when it can be pinged.
func (l *detectingLog) Ping(ctx context.Context) error {
	if p, ok := l.inner.(interface{ Ping(context.Context) error }); ok {
		return p.Ping(ctx)
	}
	return nil
}
