-- Multi-factor sign-in (issue #16).
--
-- A user's TOTP authenticator: the secret sealed with the firm's field key
-- (never stored plain), unconfirmed until the first code (confirmed_at),
-- and the last time step a code was accepted for, so a code is never
-- accepted twice.
CREATE TABLE mfa_totp (
	tenant_id    TEXT NOT NULL,
	user_id      TEXT NOT NULL,
	secret       BLOB NOT NULL,
	created_at   TEXT NOT NULL,
	confirmed_at TEXT,
	last_step    INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, user_id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

-- Recovery codes: stored only as hashes; used_at set when one is spent.
CREATE TABLE mfa_recovery_codes (
	tenant_id  TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	hash       BLOB NOT NULL,
	created_at TEXT NOT NULL,
	used_at    TEXT,
	PRIMARY KEY (tenant_id, user_id, hash),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

-- MFA challenges: what a right password earns when a second factor is
-- needed. Only the SHA-256 hash of the secret is stored; a challenge is
-- deleted when it is used and dies after too many wrong codes.
CREATE TABLE mfa_challenges (
	id         TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	hash       BLOB NOT NULL UNIQUE,
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL,
	failures   INTEGER NOT NULL DEFAULT 0,
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX mfa_challenges_expiry ON mfa_challenges (expires_at);

-- The firm's MFA policy: off, admins (owners and admins) or everyone.
CREATE TABLE mfa_policies (
	tenant_id  TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
	required   TEXT NOT NULL CHECK (required IN ('off', 'admins', 'everyone')),
	updated_by TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
