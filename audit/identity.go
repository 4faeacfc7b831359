package audit

import (
	"context"
	"encoding/hex"
	"strings"

	"github.com/casevault/casevault/vault"
)

// What identifies a person or a client — the actor's email, the client's
// address and user agent, the email of a user created or changed — is kept
// out of the public part of a version 2 leaf. In a firm's log it goes into
// the sealed, committed private part under these keys; in the service log,
// which has no firm key to seal with, it is kept only as a keyed hash
// (vault.Indexer, the service-wide key) or not at all.
const (
	// PrivateActorEmail, PrivateSource and PrivateUserAgent hold the
	// event's AuditEvent.ActorEmail, Source and UserAgent. The log sets
	// them; callers cannot.
	PrivateActorEmail = "actor_email"
	PrivateSource     = "source"
	PrivateUserAgent  = "user_agent"
)

// shownAsDetails are the private keys that version 1 kept among the public
// details. Readers show them among the details again, once opened, so that
// an event reads the same whichever version recorded it.
var shownAsDetails = []string{"email", "owner_email", "content_type"}

// Details of service log events that replace identities there: lowercase
// hex of vault.Indexer.Index(ctx, "", purpose, normalised value).
const (
	DetailEmailHash      = "email_hash"       // Private["email"], vault.IndexEmail
	DetailActorEmailHash = "actor_email_hash" // ActorEmail, vault.IndexEmail
	DetailSourceHash     = "source_hash"      // Source, vault.IndexSource
)

// identityKey reports whether a details key names an identity, which a
// version 2 event must not carry in the clear.
func identityKey(k string) bool {
	switch k {
	case PrivateActorEmail, PrivateSource, PrivateUserAgent, "email":
		return true
	}
	return strings.HasSuffix(k, "_email") || strings.HasSuffix(k, "_source") || strings.HasSuffix(k, "_user_agent")
}

// identities moves the identifying text of e into private (a firm's log) or
// into keyed hashes among details (the service log). source and userAgent
// are e's, or the request's when e has none.
func (l *Log) identities(ctx context.Context, ent *Entry, e *vault.AuditEvent, source, userAgent string) (Private, error) {
	for k := range e.Details {
		if identityKey(k) {
			return nil, vault.Errorf(vault.EINVALID, "Audit event detail %q names a person or a client: put it in the private part.", k)
		}
	}
	for _, k := range []string{PrivateActorEmail, PrivateSource, PrivateUserAgent} {
		if _, ok := e.Private[k]; ok {
			return nil, vault.Errorf(vault.EINVALID, "Audit event private key %q is reserved for the log.", k)
		}
	}
	private := make(Private, len(e.Private)+3)
	for k, v := range e.Private {
		private[k] = v
	}
	if ent.Tenant != "" {
		for k, v := range map[string]string{PrivateActorEmail: e.ActorEmail, PrivateSource: source, PrivateUserAgent: userAgent} {
			if v != "" {
				private[k] = v
			}
		}
		return private, nil
	}
	// The service log: hashes, under the service-wide index key.
	email := private["email"]
	delete(private, "email")
	if len(private) > 0 {
		return nil, vault.Errorf(vault.EINVALID, "Service log events cannot carry private details.")
	}
	for _, h := range []struct{ detail, purpose, value string }{
		{DetailEmailHash, vault.IndexEmail, email},
		{DetailActorEmailHash, vault.IndexEmail, e.ActorEmail},
		{DetailSourceHash, vault.IndexSource, source},
	} {
		if h.value == "" {
			continue
		}
		if _, ok := ent.Details[h.detail]; ok {
			return nil, vault.Errorf(vault.EINVALID, "Audit event detail %q is reserved for the log.", h.detail)
		}
		sum, err := IdentityHash(ctx, l.opts.Indexer, h.purpose, h.value)
		if err != nil {
			return nil, err
		}
		ent.Details[h.detail] = sum
	}
	return nil, nil
}

// IdentityHash is the keyed hash the service log keeps of an email
// (purpose vault.IndexEmail) or a client address (vault.IndexSource):
// lowercase hex of ix.Index(ctx, "", purpose, value normalised by
// NormalizeEmail or NormalizeSource). `casevault audit hash` prints it, so
// that an investigator can find the events of a given email or address.
// Errors: unavailable (no indexer, or the index key cannot be used),
// invalid (unknown purpose).
func IdentityHash(ctx context.Context, ix vault.Indexer, purpose, value string) (string, error) {
	if ix == nil {
		return "", vault.Errorf(vault.EUNAVAILABLE, "Audit log has no index key for the service log.")
	}
	switch purpose {
	case vault.IndexEmail:
		value = NormalizeEmail(value)
	case vault.IndexSource:
		value = NormalizeSource(value)
	default:
		return "", vault.Errorf(vault.EINVALID, "Unknown identity hash purpose %q.", purpose)
	}
	sum, err := ix.Index(ctx, "", purpose, value)
	if err != nil {
		return "", vault.WrapError(vault.EUNAVAILABLE, err, "The service index key cannot be used.")
	}
	return hex.EncodeToString(sum), nil
}

// NormalizeEmail is the form of an email that is hashed: trimmed and
// lowercased, as sign-in compares it.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// NormalizeSource is the form of a client address that is hashed: the
// one the sign-in throttle groups addresses by (vault.NormalizeSource).
func NormalizeSource(source string) string { return vault.NormalizeSource(source) }

// readableEvent is an event as readers show it, whichever its version: the
// actor's email, the source and the user agent from the leaf (version 1)
// or the opened private part (version 2); the details with the private
// members that version 1 kept among them; and the rest of the private part
// (names). Fields that are in a private part that was not opened are empty.
type readableEvent struct {
	ActorEmail, Source, UserAgent string
	Details                       map[string]string
	Names                         Private // nil when there are none
}

// readableOf builds the readable form of e, whose private part p is nil
// when it has none or it was not opened.
func readableOf(e *Entry, p Private) readableEvent {
	r := readableEvent{ActorEmail: e.ActorEmail, Source: e.Source, UserAgent: e.UserAgent, Details: e.Details}
	if r.Details == nil {
		r.Details = map[string]string{}
	}
	if len(p) == 0 {
		return r
	}
	r.Names = make(Private, len(p))
	for k, v := range p {
		r.Names[k] = v
	}
	if e.V >= FormatV2 {
		r.ActorEmail, r.Source, r.UserAgent = r.Names[PrivateActorEmail], r.Names[PrivateSource], r.Names[PrivateUserAgent]
		delete(r.Names, PrivateActorEmail)
		delete(r.Names, PrivateSource)
		delete(r.Names, PrivateUserAgent)
		var d map[string]string
		for _, k := range shownAsDetails {
			v, ok := r.Names[k]
			if !ok {
				continue
			}
			if d == nil {
				d = make(map[string]string, len(r.Details)+1)
				for dk, dv := range r.Details {
					d[dk] = dv
				}
			}
			d[k] = v
			delete(r.Names, k)
		}
		if d != nil {
			r.Details = d
		}
	}
	if len(r.Names) == 0 {
		r.Names = nil
	}
	return r
}
