package vault

import (
	"context"
	"io"
	"time"
)

// AuditEvent is one event the vault records before it acts (DESIGN.md
// invariant 4). Private holds client-confidential text (names at the time of
// the event) and the emails an event is about ("email", "owner_email") or
// content types; the log keeps it, with ActorEmail, Source and UserAgent,
// only sealed with the firm's field key and committed to, never in the
// clear. The service log, which has no firm key, keeps an email and the
// source only as keyed hashes. Details must name no person or client.
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

// AuditFilter selects events of one firm's log; set fields are ANDed.
// MatterID selects events about the matter and about documents that were
// in it at the time. From is inclusive, To exclusive. AfterSeq is the
// cursor of a paged listing.
type AuditFilter struct {
	ActorID    string
	ObjectType string
	ObjectID   string
	MatterID   string
	Action     string
	Outcome    string
	From, To   time.Time
	AfterSeq   int64
	Limit      int
	// Withhold names matters whose events' private parts (names, and who
	// acted from where) must not be opened for this reader: the matters a
	// wall bars them from. When set, CSV and PDF exports leave those
	// events' private parts out, and bundles carry none at all, since they
	// stream leaves without reading them.
	Withhold map[string]bool
}

// Empty reports whether f selects every event (Withhold selects nothing:
// it only hides names).
func (f AuditFilter) Empty() bool {
	return f.ActorID == "" && f.ObjectType == "" && f.ObjectID == "" && f.MatterID == "" && f.Action == "" &&
		f.Outcome == "" && f.From.IsZero() && f.To.IsZero() && f.AfterSeq == 0 && f.Limit == 0
}

// AuditRecord is one stored event as an auditor reads it. Private holds the
// names of the opened private part; ActorEmail, Source, UserAgent and the
// emails and content types among Details come from it too, for events of
// leaf format version 2. When it cannot be opened (the firm's keys were
// destroyed) they are empty and Sealed is true; when a wall bars the reader,
// Withheld is true.
type AuditRecord struct {
	Seq        int64             `json:"seq"`
	ID         string            `json:"id"`
	Time       time.Time         `json:"time"`
	ActorID    string            `json:"actor_id"`
	ActorEmail string            `json:"actor_email"`
	Source     string            `json:"source"`
	UserAgent  string            `json:"user_agent"`
	Action     string            `json:"action"`
	ObjectType string            `json:"object_type"`
	ObjectID   string            `json:"object_id"`
	Outcome    string            `json:"outcome"`
	Details    map[string]string `json:"details"`
	Private    map[string]string `json:"private,omitempty"`
	Sealed     bool              `json:"sealed,omitempty"`   // has a private part that was not opened
	Withheld   bool              `json:"withheld,omitempty"` // not opened because a wall bars the reader
}

// AuditCheckpoint is a signed tree head of a firm's log.
type AuditCheckpoint struct {
	Size        int64  `json:"size"`
	Root        string `json:"root"`         // base64
	Note        string `json:"note"`         // the signed note text
	VerifierKey string `json:"verifier_key"` // checks Note
	// SignedAt is the log's signed timestamp on Note (its cosignature/v1
	// line), RFC 3339 in UTC to the second; "" when it has none.
	SignedAt string `json:"signed_at,omitempty"`
}

// AuditExport is an export's own audit.export event: the export id in its
// details, its sequence number and its time, and the firm's name for the
// readable reports ("" when it cannot be opened).
type AuditExport struct {
	ID   string
	Seq  int64
	Time time.Time
	Firm string
}

// AuditKey is one note verifier key of a region's audit checkpoints, with
// the time it was valid: the current key (ValidUntil nil) signs new
// checkpoints; a retired one was replaced by a rotation, which destroyed
// its private half, and still checks the checkpoints signed before.
type AuditKey struct {
	Region      string     `json:"region"`       // "service" for the service-wide log
	VerifierKey string     `json:"verifier_key"` // "<name>+<hash>+<key>"
	ValidFrom   time.Time  `json:"valid_from"`
	ValidUntil  *time.Time `json:"valid_until"` // nil while current
	State       string     `json:"state"`       // AuditKeyCurrent or AuditKeyRetired
	// Rotation is, for a retired key, the signed rotation statement that
	// retired it (docs/AUDIT-FORMAT.md, "Key rotation"), signed by it and
	// by the key that replaced it.
	Rotation string `json:"rotation,omitempty"`
}

// States of an AuditKey.
const (
	AuditKeyCurrent = "current"
	AuditKeyRetired = "retired"
)

// AuditProof proves that one event is in a firm's log.
type AuditProof struct {
	Seq        int64           `json:"seq"`
	Leaf       string          `json:"leaf"`  // base64 of the exact leaf bytes
	Proof      []string        `json:"proof"` // base64 hashes, RFC 6962 inclusion proof
	Checkpoint AuditCheckpoint `json:"checkpoint"`
}

// AuditConsistency proves that a firm's tree of size From is a prefix of its
// tree of size To (RFC 6962 consistency proof).
type AuditConsistency struct {
	From           int64            `json:"from"`
	To             int64            `json:"to"`
	FromRoot       string           `json:"from_root"`       // base64
	ToRoot         string           `json:"to_root"`         // base64
	Proof          []string         `json:"proof"`           // base64 hashes
	FromCheckpoint *AuditCheckpoint `json:"from_checkpoint"` // stored checkpoint of size From, or null
	ToCheckpoint   *AuditCheckpoint `json:"to_checkpoint"`   // stored checkpoint of size To, or null
	VerifierKey    string           `json:"verifier_key"`    // checks the checkpoints' notes
}

// Audit export formats.
const (
	AuditFormatJSONL = "jsonl"
	AuditFormatCSV   = "csv"
	AuditFormatPDF   = "pdf"
)

// AuditReader reads a firm's audit log for auditors. Implemented by
// audit.Reader.
type AuditReader interface {
	// Events calls fn with each event of tenantID matching f, in order.
	Events(ctx context.Context, tenantID string, f AuditFilter, fn func(*AuditRecord) error) error
	// Export writes the events of tenantID matching f to w in format,
	// streaming. x is the export's own audit.export event, already in the
	// log: a bundle (jsonl) covers the log up to it and ends with it. A
	// zero x (no such event) writes a bundle of the older format /1.
	// Errors: invalid (format), unavailable.
	Export(ctx context.Context, tenantID, format string, f AuditFilter, x AuditExport, w io.Writer) error
	// Checkpoint signs (if the log grew) and returns the latest checkpoint.
	// Errors: not_found (empty log), unavailable.
	Checkpoint(ctx context.Context, tenantID string) (*AuditCheckpoint, error)
	// Prove returns the inclusion proof of event seq against the latest
	// checkpoint. Errors: not_found (no such event), unavailable.
	Prove(ctx context.Context, tenantID string, seq int64) (*AuditProof, error)
	// Consistency returns the consistency proof from tree size from to
	// tree size to (0: the latest checkpoint's). Errors: invalid (from < 1,
	// from > to), not_found (to beyond the log), unavailable.
	Consistency(ctx context.Context, tenantID string, from, to int64) (*AuditConsistency, error)
	// Keys returns every verifier key of the firm's region (current and
	// retired), oldest first, with its validity, after the keys of the
	// regions the firm moved from. Errors: unavailable.
	Keys(ctx context.Context, tenantID string) ([]AuditKey, error)
}

// AuditStats are an audit log's counters since it opened, for monitoring.
type AuditStats struct {
	Appended int64 // events committed
	Failed   int64 // events refused because the log could not be written
	Commits  int64 // group commits
	Diverged int64 // logs that do not extend the checkpoint they signed last: their firms' actions are refused
}

// WitnessStats are one witness's counters since the process started, for
// monitoring the submission of checkpoints to independent witnesses.
type WitnessStats struct {
	Name     string // as configured (audit.witnesses[].name)
	Cosigned int64  // cosignatures received and stored
	Failures int64  // submissions that failed and were retried (network, 5xx, unknown log)
	Refusals int64  // checkpoints refused after it had accepted an earlier one: it saw a different history (split view or fork)
	Refusing int64  // logs whose latest submission it refused, now
	Dropped  int64  // queued checkpoints replaced by a newer one of the same log before they were sent
	Waiting  int64  // logs with a checkpoint queued for it, now
}
