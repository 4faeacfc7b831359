package vault

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Crypto-shredding a firm (issue #15, item 5): its owner requests it with a
// reason, the operator carries it out (`casevault tenant shred`, package
// shred and cmd/casevault), which destroys every copy of the firm's keysets
// and deletes its blobs, rows and audit log, after a final bundle, and
// issues a signed destruction certificate (docs/SHRED-FORMAT.md).

// Audit actions of crypto-shredding.
const (
	ActShredRequest = "tenant.shred_request"
	ActShredCancel  = "tenant.shred_cancel"
	ActShred        = "tenant.shred" // the last event of the firm's log
)

// PrefixShred starts the ids of shred requests.
const PrefixShred = "shr"

// maxShredReason bounds the reason of a shred request, in characters.
const maxShredReason = 2000

// ShredRequest is a firm owner's pending request that the operator shred
// the firm.
type ShredRequest struct {
	ID          string    `json:"id"`
	TenantID    string    `json:"tenant_id"`
	Reason      string    `json:"reason"` // sealed with the firm's field key
	RequestedBy string    `json:"requested_by"`
	RequestedAt time.Time `json:"requested_at"`
	// Damage marks a reason that does not open.
	Damage
}

// ShredCounts are what a firm holds, as its destruction certificate counts
// it: documents (trashed ones included), versions, and their plaintext and
// ciphertext bytes.
type ShredCounts struct {
	Documents   int64
	Versions    int64
	Bytes       int64
	CipherBytes int64
}

// KeysetID names one of a firm's keysets in a destruction certificate: its
// purpose ("document" or "field"), its Tink key ids, and the SHA-256 and
// length of its wrapped form as stored (keys.Manager.KeysetIDs).
type KeysetID struct {
	Purpose       string   `json:"purpose"`
	KeyIDs        []uint32 `json:"key_ids"`
	WrappedSHA256 string   `json:"wrapped_sha256"`
	WrappedBytes  int64    `json:"wrapped_bytes"`
}

// ShredStore keeps shred requests; vault/sqlite implements it, and
// vault/cell routes it to the firm's cell.
type ShredStore interface {
	// ShredRequest returns the firm's pending request. Errors: not_found.
	ShredRequest(ctx context.Context, tenantID string) (*ShredRequest, error)
	// PutShredRequest stores a new pending request. Errors: conflict (one
	// is pending), not_found (firm), invalid.
	PutShredRequest(ctx context.Context, r *ShredRequest) error
	// DeleteShredRequest deletes the pending request id. Errors: not_found.
	DeleteShredRequest(ctx context.Context, tenantID, id string) error
	// ShredCounts counts what the firm holds. Errors: unavailable.
	ShredCounts(ctx context.Context, tenantID string) (ShredCounts, error)
}

// shredStore returns the store's ShredStore. Errors: unavailable.
func (s *Service) shredStore() (ShredStore, error) {
	ss, ok := s.Store.(ShredStore)
	if !ok {
		return nil, Errorf(EUNAVAILABLE, "Shredding is not supported by this store.")
	}
	return ss, nil
}

// confirmName checks that typed is the firm's name, as a confirmation.
// Errors: not_found (firm), invalid (another name).
func (s *Service) confirmName(ctx context.Context, tenantID, typed string) error {
	t, err := s.Store.Tenant(ctx, tenantID)
	if err != nil {
		return err
	}
	if t.Name == "" || strings.TrimSpace(typed) != t.Name {
		return Errorf(EINVALID, "The confirmation must be the firm's name exactly as it is shown.")
	}
	return nil
}

// RequestShred records the owner's request that the operator shred the
// firm, with a reason (sealed) and the firm's name typed as confirmation.
// Only the owner may. Errors: unauthorized, forbidden, invalid (no reason,
// another name), conflict (a request is pending), unavailable.
func (s *Service) RequestShred(ctx context.Context, actor *User, reason, confirm string) (*ShredRequest, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if actor.Role != RoleOwner {
		return nil, Errorf(EFORBIDDEN, "Only the firm's owner can request that it be shredded.")
	}
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return nil, Errorf(EINVALID, "A reason is required.")
	case utf8.RuneCountInString(reason) > maxShredReason || !utf8.ValidString(reason):
		return nil, Errorf(EINVALID, "The reason must be valid text of at most %d characters.", maxShredReason)
	}
	if err := s.confirmName(ctx, actor.TenantID, confirm); err != nil {
		return nil, err
	}
	ss, err := s.shredStore()
	if err != nil {
		return nil, err
	}
	if _, err := ss.ShredRequest(ctx, actor.TenantID); err == nil {
		return nil, Errorf(ECONFLICT, "A shred request of this firm is pending already.")
	} else if !IsCode(err, ENOTFOUND) {
		return nil, err
	}
	r := &ShredRequest{ID: NewID(PrefixShred), TenantID: actor.TenantID, Reason: reason, RequestedBy: actor.ID, RequestedAt: s.now()}
	ev := event(actor, ActShredRequest, "tenant", actor.TenantID)
	ev.Details["request_id"] = r.ID
	ev.Private["reason"] = reason
	if err := s.act(ctx, func() error { return ss.PutShredRequest(ctx, r) }, ev); err != nil {
		return nil, err
	}
	s.Log.Info().Str("tenant_id", actor.TenantID).Str("request_id", r.ID).Msg("shred requested")
	return r, nil
}

// PendingShred returns the firm's pending shred request. Owners, admins
// and auditors may see it. Errors: unauthorized, forbidden, not_found
// (none pending), unavailable.
func (s *Service) PendingShred(ctx context.Context, actor *User) (*ShredRequest, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if actor.Role != RoleOwner && actor.Role != RoleAdmin && actor.Role != RoleAuditor {
		return nil, Errorf(EFORBIDDEN, "Only owners, admins and auditors can see a shred request.")
	}
	ss, err := s.shredStore()
	if err != nil {
		return nil, err
	}
	return ss.ShredRequest(ctx, actor.TenantID)
}

// CancelShred withdraws the firm's pending request id, until the operator
// acts on it. Only the owner may. Errors: unauthorized, forbidden,
// not_found (no such pending request of the firm), unavailable.
func (s *Service) CancelShred(ctx context.Context, actor *User, id string) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	ss, err := s.shredStore()
	if err != nil {
		return err
	}
	r, err := ss.ShredRequest(ctx, actor.TenantID)
	if err != nil || r.ID != id {
		return Errorf(ENOTFOUND, "Shred request not found.")
	}
	if actor.Role != RoleOwner {
		return Errorf(EFORBIDDEN, "Only the firm's owner can cancel a shred request.")
	}
	ev := event(actor, ActShredCancel, "tenant", actor.TenantID)
	ev.Details["request_id"] = id
	if err := s.act(ctx, func() error { return ss.DeleteShredRequest(ctx, actor.TenantID, id) }, ev); err != nil {
		return err
	}
	s.Log.Info().Str("tenant_id", actor.TenantID).Str("request_id", id).Msg("shred request cancelled")
	return nil
}

// ShredStart is what BeginShred recorded: the request it acts on, the
// seq of the tenant.shred event, and what the firm held.
type ShredStart struct {
	Request *ShredRequest
	Seq     int64
	Time    time.Time
	Counts  ShredCounts
	Keysets []KeysetID
}

// CheckShred checks, before the operator shreds firm tenantID, that its
// owner's request is pending and that confirm is the firm's name, and
// returns the request. Errors: not_found (firm), conflict (no pending
// request), invalid (another name), unavailable.
func (s *Service) CheckShred(ctx context.Context, tenantID, confirm string) (*ShredRequest, error) {
	ss, err := s.shredStore()
	if err != nil {
		return nil, err
	}
	if err := s.confirmName(ctx, tenantID, confirm); err != nil {
		return nil, err
	}
	r, err := ss.ShredRequest(ctx, tenantID)
	if IsCode(err, ENOTFOUND) {
		return nil, Errorf(ECONFLICT, "The firm's owner has not requested that it be shredded (POST /api/v1/shred-request); nothing was done.")
	}
	return r, err
}

// EventAppender appends an event to one firm's log: the audit log of the
// firm's cell itself (audit.Log), which takes the tenant.shred event while
// the cells' freeze keeps every other event of the firm out.
type EventAppender interface {
	// Append appends e and returns its sequence number. Errors:
	// unavailable, internal.
	Append(ctx context.Context, e *AuditEvent) (int64, error)
}

// BeginShred records the tenant.shred event of firm tenantID, the last of
// its log, in log (the firm's cell's), before anything is destroyed: the
// operator's step after CheckShred, once the firm is frozen (the cells'
// freeze, which keeps the firm's users out and routes none of their events
// to the log; the store still answers ShredRequest and ShredCounts).
// requestID must still be the pending request; keysets names the firm's
// keysets (keys.Manager.KeysetIDs). Errors: conflict (the request was
// cancelled or replaced meanwhile), unavailable.
func (s *Service) BeginShred(ctx context.Context, log EventAppender, tenantID, requestID string, keysets []KeysetID) (*ShredStart, error) {
	ss, err := s.shredStore()
	if err != nil {
		return nil, err
	}
	r, err := ss.ShredRequest(ctx, tenantID)
	if IsCode(err, ENOTFOUND) || (err == nil && r.ID != requestID) {
		return nil, Errorf(ECONFLICT, "The firm's shred request was cancelled meanwhile; nothing was done.")
	} else if err != nil {
		return nil, err
	}
	counts, err := ss.ShredCounts(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	st := &ShredStart{Request: r, Counts: counts, Keysets: keysets, Time: s.now()}
	ev := operatorEvent(tenantID, ActShred, "tenant", tenantID)
	ev.Time = st.Time
	ev.Details["request_id"] = r.ID
	ev.Details["requested_by"] = r.RequestedBy
	ev.Details["documents"] = strconv.FormatInt(counts.Documents, 10)
	ev.Details["versions"] = strconv.FormatInt(counts.Versions, 10)
	var ids []string
	for _, k := range keysets {
		for _, id := range k.KeyIDs {
			ids = append(ids, k.Purpose+":"+strconv.FormatUint(uint64(id), 10))
		}
	}
	ev.Details["key_ids"] = strings.Join(ids, " ")
	ev.Private = nil
	m := RequestMetaFrom(ctx)
	ev.Source, ev.UserAgent = m.Source, m.UserAgent
	if st.Seq, err = log.Append(ctx, &ev); err != nil {
		s.Log.Error().Err(err).Str("action", ev.Action).Str("tenant_id", tenantID).Msg("audit log unavailable")
		return nil, WrapError(EUNAVAILABLE, err, "The audit log cannot be written, so nothing was done. Try again later.")
	}
	s.Log.Warn().Str("tenant_id", tenantID).Str("request_id", r.ID).Int64("seq", st.Seq).Msg("shred begun")
	return st, nil
}
