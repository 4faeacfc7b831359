package audit

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/casevault/casevault/vault"
)

// newEntry validates e and builds its entry, sealing its private part.
// It returns the entry and the value of its matter_id column.
func (l *Log) newEntry(ctx context.Context, e *vault.AuditEvent) (*Entry, string, error) {
	if e == nil {
		return nil, "", vault.Errorf(vault.EINVALID, "Audit event is missing.")
	}
	if err := validateEvent(e); err != nil {
		return nil, "", err
	}
	t := e.Time
	if t.IsZero() {
		t = l.now()
	}
	t = t.UTC()
	if t.Year() < 1 || t.Year() > 9999 {
		return nil, "", vault.Errorf(vault.EINVALID, "Audit event time is out of range.")
	}
	meta := vault.RequestMetaFrom(ctx)
	source, userAgent := cmp.Or(e.Source, meta.Source), cmp.Or(e.UserAgent, meta.UserAgent)
	if !utf8.ValidString(source) || !utf8.ValidString(userAgent) {
		return nil, "", vault.Errorf(vault.EINVALID, "Audit event request metadata is not valid UTF-8.")
	}
	ent := &Entry{
		V:          FormatVersion,
		Tenant:     e.TenantID,
		ID:         vault.NewID("evt"),
		Time:       t.Format(TimeLayout),
		ActorID:    e.ActorID,
		Action:     e.Action,
		ObjectType: e.ObjectType,
		ObjectID:   e.ObjectID,
		Outcome:    e.Outcome,
		Details:    make(map[string]string, len(e.Details)+2),
	}
	for k, v := range e.Details {
		ent.Details[k] = v
	}
	private, err := l.identities(ctx, ent, e, source, userAgent)
	if err != nil {
		return nil, "", err
	}
	matter := e.Details["matter_id"]
	if matter == "" && e.ObjectType == "matter" {
		matter = e.ObjectID
	}
	// Whether the leaf decodes to itself cannot depend on what is added
	// later (Seq and Prev by the writer, base64 by sealing): check it here,
	// in the caller's goroutine, so the log never holds an event that
	// Records cannot read.
	draft := *ent
	draft.Seq = 1
	if leaf, err := Encode(&draft); err != nil {
		return nil, "", vault.WrapError(vault.EINVALID, err, "Audit event cannot be encoded.")
	} else if _, err := Decode(leaf); err != nil {
		return nil, "", vault.WrapError(vault.EINVALID, err, "Audit event cannot be encoded canonically.")
	}
	if len(private) > 0 {
		if err := l.seal(ctx, ent, private); err != nil {
			return nil, "", err
		}
	}
	return ent, matter, nil
}

// seal commits to and seals the private part of ent.
func (l *Log) seal(ctx context.Context, ent *Entry, private map[string]string) error {
	if ent.Tenant == "" {
		// The service log belongs to no firm, so there is no field key to
		// seal with, and nothing confidential may go in the clear.
		return vault.Errorf(vault.EINVALID, "Service log events cannot carry private details.")
	}
	if l.opts.Sealer == nil {
		return vault.Errorf(vault.EINTERNAL, "Audit log has no field sealer.")
	}
	p, err := EncodePrivate(Private(private))
	if err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot encode private details.")
	}
	nonce := make([]byte, NonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return unavailable(err)
	}
	ref := vault.FieldRef{Table: "audit_events", Column: "private", RowID: ent.ID}
	ct, err := l.opts.Sealer.SealField(ctx, ent.Tenant, ref, SealedPlaintext(nonce, p))
	if err != nil {
		return vault.WrapError(vault.EUNAVAILABLE, err, "Audit event cannot be sealed.")
	}
	ent.Sealed = base64.StdEncoding.EncodeToString(ct)
	ent.Commit = CommitTo(nonce, p)
	return nil
}

// validateEvent checks what the caller controls. Every string must be valid
// UTF-8, or the JSON encoding would replace bytes and the leaf would not
// decode to itself.
func validateEvent(e *vault.AuditEvent) error {
	if !validTenant(e.TenantID) {
		return vault.Errorf(vault.EINVALID, "Invalid audit tenant.")
	}
	if e.Action == "" {
		return vault.Errorf(vault.EINVALID, "Audit event action is required.")
	}
	switch e.Outcome {
	case OutcomeOK, OutcomeDenied, OutcomeError:
	default:
		return vault.Errorf(vault.EINVALID, "Audit event outcome must be ok, denied or error.")
	}
	size := 0
	valid := func(s string) bool { size += len(s); return utf8.ValidString(s) }
	ok := valid(e.ActorID) && valid(e.ActorEmail) && valid(e.Source) && valid(e.UserAgent) &&
		valid(e.Action) && valid(e.ObjectType) && valid(e.ObjectID)
	for k, v := range e.Details {
		ok = ok && valid(k) && valid(v)
	}
	for k, v := range e.Private {
		ok = ok && valid(k) && valid(v)
	}
	if !ok {
		return vault.Errorf(vault.EINVALID, "Audit event text is not valid UTF-8.")
	}
	if size > maxEventSize {
		return vault.Errorf(vault.EINVALID, "Audit event is too large.")
	}
	return nil
}

// validTenant reports whether tenant can name a log: it is the first line
// of signed checkpoints, so it has no spaces or control characters.
func validTenant(tenant string) bool {
	return len(tenant) <= 128 && utf8.ValidString(tenant) &&
		strings.IndexFunc(tenant, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) < 0
}
