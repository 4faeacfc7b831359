package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
)

// textColumns are the only TEXT columns the metadata database may have, and
// what each holds: ids, times, fixed words and hashes, never a person's
// words. Names, emails, clients, token names and content types are sealed
// BLOBs; a user is found by a keyed blind index of the email. A new TEXT
// column fails this test until it is added here, with what it holds.
var textColumns = map[string]string{
	"documents.id": "id", "documents.tenant_id": "id", "documents.matter_id": "id", "documents.created_by": "id",
	"documents.trashed_at": "time", "documents.created_at": "time", "documents.updated_at": "time",
	"grants.id": "id", "grants.tenant_id": "id", "grants.user_id": "id", "grants.document_id": "id",
	"grants.matter_id": "id", "grants.created_by": "id", "grants.revoked_by": "id",
	"grants.permissions": "read, download, edit", "grants.expires_at": "time", "grants.created_at": "time",
	"grants.revoked_at": "time", "grants.expiry_recorded_at": "time",
	"matters.id": "id", "matters.tenant_id": "id", "matters.created_by": "id", "matters.created_at": "time",
	"matters.closed_at": "time",
	"migrations.name":   "migration file name", "migrations.applied_at": "time",
	"pending_blobs.key": "blob key: tenant id / document id / blob id", "pending_blobs.tenant_id": "id",
	"pending_blobs.region": "region name", "pending_blobs.created_at": "time",
	"settings.key": "setting name", "settings.updated_at": "time",
	"tenants.id": "id", "tenants.region": "region name", "tenants.created_at": "time",
	"sso_configs.tenant_id": "id", "sso_configs.updated_at": "time", "sso_configs.updated_by": "user id", // issue #16: single sign-on
	"tokens.id": "id", "tokens.tenant_id": "id", "tokens.user_id": "id", "tokens.kind": "session or api", "tokens.method": "password, mfa, passkey, sso or empty",
	"tokens.created_at": "time", "tokens.expires_at": "time", "tokens.last_used_at": "time", "tokens.revoked_at": "time",
	"users.id": "id", "users.tenant_id": "id", "users.role": "owner, admin, lawyer or auditor",
	"users.password_hash": "argon2id hash", "users.created_at": "time", "users.updated_at": "time",
	"users.created_by": "id or operator", "users.credentials_by": "id or operator", "users.credentials_at": "time",
	"users.promoted_by": "id or operator", "users.promoted_at": "time",
	"versions.tenant_id": "id", "versions.document_id": "id", "versions.blob_key": "blob key: ids",
	"versions.created_by": "id", "versions.created_at": "time",
	"walls.tenant_id": "id", "walls.matter_id": "id", "walls.user_id": "id", "walls.created_by": "id", "walls.created_at": "time",
	"walls.via":              "id",
	"throttle_pairs.last_at": "time", "throttle_pairs.noticed_until": "time", "throttle_pairs.expires_at": "time",
	"throttle_accounts.expires_at": "time",
	"audit_sinks.tenant_id":        "id", "audit_sinks.id": "id", "audit_sinks.kind": "s3 or webhook",
	"audit_sinks.created_by": "id", "audit_sinks.created_at": "time", "audit_sinks.signed_at": "time",
	"audit_sinks.delivered_at": "time", "audit_sinks.last_error_at": "time",
	"directory_tenants.id": "id", "directory_tenants.region": "region name", "directory_emails.region": "region name",
	"moves.tenant_id": "id", "moves.from_region": "region name", "moves.to_region": "region name",
	"moves.step": "a move step's name", "moves.started_at": "time", "moves.updated_at": "time",
	"moves.last_error":         "an error code",
	"shred_requests.tenant_id": "id", "shred_requests.id": "id", "shred_requests.requested_by": "id",
	"shred_requests.requested_at": "time",
	"notify_channels.id":          "id", "notify_channels.tenant_id": "id", "notify_channels.kind": "email or webhook",
	"notify_channels.created_by": "id", "notify_channels.created_at": "time",
	"notify_notices.id": "id", "notify_notices.tenant_id": "id", "notify_notices.kind": "a vault.Notice kind",
	"notify_notices.object_id": "id (or a database's file name for a late backup)", "notify_notices.rule": "a rule id",
	"notify_notices.severity": "info, warning or critical", "notify_notices.at": "time",
	"notify_notices.path": "a UI path of fixed words and ids", "notify_notices.created_at": "time",
	"notify_deliveries.id": "id", "notify_deliveries.tenant_id": "id", "notify_deliveries.notice_id": "id",
	"notify_deliveries.channel_id": "id", "notify_deliveries.state": "pending, delivered or dead",
	"notify_deliveries.next_at": "time", "notify_deliveries.created_at": "time", "notify_deliveries.updated_at": "time",
	"notify_attempts.delivery_id": "id", "notify_attempts.tenant_id": "id", "notify_attempts.channel_id": "id",
	"notify_attempts.at": "time", "notify_attempts.result": "ok or failed", "notify_attempts.error": "a fixed error word",
	"notify_attempts.next_at": "time",
	"alerts.id":               "id", "alerts.tenant_id": "id", "alerts.rule": "a rule's name", "alerts.user_id": "id",
	"alerts.token_id": "id", "alerts.status": "open, acknowledged or resolved", "alerts.evidence": "JSON array of seqs",
	"alerts.threshold": "a number", "alerts.observed": "a number", "alerts.created_at": "time",
	"alerts.acknowledged_by": "id", "alerts.acknowledged_at": "time", "alerts.resolved_by": "id", "alerts.resolved_at": "time",
	"detection_settings.tenant_id": "id", "detection_settings.updated_at": "time",
	"detection_settings.settings": "JSON of switches, numbers, an IANA zone name and weekday names, picked, not written",
	"containments.tenant_id":      "id", "containments.user_id": "id", "containments.alert_id": "id", "containments.contained_at": "time",
	"detection_hours.tenant_id": "id", "detection_hours.user_id": "id",
	"token_sources.tenant_id": "id", "token_sources.token_id": "id", "token_sources.seen_at": "time",
	"tenant_addons.tenant_id": "id", "tenant_addons.addon": "hipaa", "tenant_addons.enabled_at": "time",
	"baa_decisions.tenant_id": "id", "baa_decisions.version": "a BAA version id (v1)",
	"baa_decisions.decision": "accepted or declined", "baa_decisions.text_sha256": "hash",
	"baa_decisions.decided_by": "id", "baa_decisions.decided_at": "time",
	"breaches.id": "id", "breaches.tenant_id": "id", "breaches.alert_id": "id", "breaches.status": "open or closed",
	"breaches.regulator_notified_at": "time", "breaches.clients_notified_at": "time",
	"breaches.individuals_notified_at": "time", "breaches.created_by": "id", "breaches.created_at": "time",
	"breaches.updated_by": "id", "breaches.updated_at": "time",
	"breach_subjects.tenant_id": "id", "breach_subjects.breach_id": "id", "breach_subjects.kind": "matter or user",
	"breach_subjects.object_id": "id",

	// Multi-factor sign-in (issue #16). TOTP secrets are sealed BLOBs,
	// recovery codes and challenges BLOB hashes.
	"mfa_totp.tenant_id": "id", "mfa_totp.user_id": "id", "mfa_totp.created_at": "time", "mfa_totp.confirmed_at": "time",
	"mfa_recovery_codes.tenant_id": "id", "mfa_recovery_codes.user_id": "id", "mfa_recovery_codes.created_at": "time",
	"mfa_recovery_codes.used_at": "time",
	"mfa_challenges.id":          "id", "mfa_challenges.tenant_id": "id", "mfa_challenges.user_id": "id",
	"mfa_challenges.created_at": "time", "mfa_challenges.expires_at": "time",
	"mfa_policies.tenant_id": "id", "mfa_policies.required": "off, admins or everyone", "mfa_policies.updated_by": "id",
	"mfa_policies.updated_at": "time",
	// Passkeys (issue #16).
	"passkeys.id": "id", "passkeys.tenant_id": "id", "passkeys.user_id": "id", "passkeys.created_at": "time",
	"passkeys.last_used_at":      "time",
	"passkey_policies.tenant_id": "id", "passkey_policies.updated_by": "id", "passkey_policies.updated_at": "time",
}

// checkSchemaText fails for every column of the database at path that is
// not a BLOB, INTEGER or one of textColumns.
func checkSchemaText(t *testing.T, path string) {
	t.Helper()
	rows, err := rawDB(t, path).QueryContext(context.Background(), `
		SELECT m.name, p.name, p.type FROM sqlite_schema m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var table, col, typ string
		if err := rows.Scan(&table, &col, &typ); err != nil {
			t.Fatal(err)
		}
		n++
		if typ == "BLOB" || typ == "INTEGER" {
			continue
		}
		if _, ok := textColumns[table+"."+col]; !ok {
			t.Errorf("column %s.%s is %s: seal it (BLOB), or add it to textColumns saying why it holds no one's words", table, col, typ)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n < len(textColumns) {
		t.Fatalf("only %d columns read", n)
	}
}

func TestSchema_NoPlaintextColumns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "casevault.db")
	MustCloseDB(t, MustOpenDBAt(t, path))
	checkSchemaText(t, path)
}
