package vault

import (
	"context"
	"slices"
	"strings"
)

// Damage marks an object read from the store whose sealed fields could not
// all be opened: the ciphertext failed authentication (tampered, copied
// from another cell, or the firm's keys destroyed). The unreadable fields
// read as "". One damaged row stays one damaged row (DESIGN.md invariant
// 9): listings show it with its id and "error":"cannot_decrypt" instead of
// failing whole, a single read of it says what cannot be decrypted, and a
// rename gives it readable fields again.
type Damage struct {
	// Error is ECANNOTDECRYPT when a field is unreadable, else "".
	Error string `json:"error,omitempty"`
	// Unreadable lists the stored columns that did not open, comma
	// separated ("name,client"). A string, so objects stay comparable.
	Unreadable string `json:"-"`
}

// MarkUnreadable records that the sealed column could not be opened.
func (d *Damage) MarkUnreadable(column string) {
	if d.Readable(column) {
		d.Unreadable = strings.Join(append(d.fields(), column), ",")
	}
	d.Error = ECANNOTDECRYPT
}

// Damaged reports whether any sealed field is unreadable.
func (d *Damage) Damaged() bool { return d.Unreadable != "" }

// Readable reports whether column was opened (or never was sealed).
func (d *Damage) Readable(column string) bool { return !slices.Contains(d.fields(), column) }

// fields returns the unreadable columns.
func (d *Damage) fields() []string {
	if d.Unreadable == "" {
		return nil
	}
	return strings.Split(d.Unreadable, ",")
}

// repaired records that column holds a new value, given by a person, that
// replaces the unreadable one.
func (d *Damage) repaired(column string) {
	d.Unreadable = strings.Join(slices.DeleteFunc(d.fields(), func(c string) bool { return c == column }), ",")
	if d.Unreadable == "" {
		d.Error = ""
	}
}

// err is the error of a single read of a damaged object; kind names the
// object ("Matter"): "Matter name and client cannot be decrypted."
func (d *Damage) err(kind string) error {
	return Errorf(ECANNOTDECRYPT, "%s %s cannot be decrypted.", kind, strings.Join(d.fields(), " and "))
}

// damageKey names one damaged object in Service.damageSeen.
type damageKey struct{ tenantID, objectType, id string }

// maxDamageSeen bounds the damaged objects a Service remembers having
// reported; past it, damage is reported on every read.
const maxDamageSeen = 10000

// reportDamage logs and audits, once per process and per damaged state, an
// object whose sealed fields did not open when actor read it. The log line
// and the event carry ids and column names, never plaintext. A listing is
// not refused because its report cannot be written: the audit failure is
// logged and the report is tried again on the next read.
func (s *Service) reportDamage(ctx context.Context, actor *User, objectType, id, matterID string, d *Damage) {
	if !d.Damaged() {
		return
	}
	key := damageKey{actor.TenantID, objectType, id}
	fields := d.Unreadable
	s.damageMu.Lock()
	if s.damageSeen == nil {
		s.damageSeen = map[damageKey]string{}
	}
	if s.damageSeen[key] == fields {
		s.damageMu.Unlock()
		return
	}
	remember := len(s.damageSeen) < maxDamageSeen
	if remember {
		s.damageSeen[key] = fields
	}
	s.damageMu.Unlock()

	s.Log.Error().Str("tenant_id", actor.TenantID).Str("object_type", objectType).Str("object_id", id).
		Str("fields", fields).Msg("sealed fields cannot be decrypted")
	ev := event(actor, ActCannotDecrypt, objectType, id)
	ev.Outcome = OutcomeError
	ev.Details["fields"] = fields
	if matterID != "" {
		ev.Details["matter_id"] = matterID
	}
	if _, err := s.record(ctx, ev); err != nil && remember {
		s.damageMu.Lock()
		delete(s.damageSeen, key)
		s.damageMu.Unlock()
	}
}

// forgetDamage forgets a reported object once a rename repaired it, so new
// damage to it is reported again.
func (s *Service) forgetDamage(tenantID, objectType, id string) {
	s.damageMu.Lock()
	delete(s.damageSeen, damageKey{tenantID, objectType, id})
	s.damageMu.Unlock()
}
