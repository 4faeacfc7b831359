-- Passkeys (issue #16): WebAuthn credentials. The credential id and the
-- credential (public key, flags, sign count, as the library's JSON) are
-- random or public bytes; the user's label is sealed with the firm's
-- field key.
CREATE TABLE passkeys (
	id            TEXT PRIMARY KEY,
	tenant_id     TEXT NOT NULL,
	user_id       TEXT NOT NULL,
	credential_id BLOB NOT NULL UNIQUE,
	credential    BLOB NOT NULL,
	sign_count    INTEGER NOT NULL DEFAULT 0,
	name          BLOB NOT NULL,
	created_at    TEXT NOT NULL,
	last_used_at  TEXT,
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX passkeys_user ON passkeys (tenant_id, user_id);

-- Whether the firm lets passkeys replace passwords (off when no row).
CREATE TABLE passkey_policies (
	tenant_id  TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
	sign_in    INTEGER NOT NULL CHECK (sign_in IN (0, 1)),
	updated_by TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
