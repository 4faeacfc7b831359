-- Sign-in tokens and service settings (issue #3). A token's secret is never
-- stored, only its SHA-256 hash, which is unique and indexed so a presented
-- secret is found by its hash. A token points at its user through
-- (tenant_id, user_id), so it can never name a user of another firm.

CREATE TABLE tokens (
	id           TEXT PRIMARY KEY,
	tenant_id    TEXT NOT NULL REFERENCES tenants (id),
	user_id      TEXT NOT NULL,
	kind         TEXT NOT NULL CHECK (kind IN ('session', 'api')),
	name         TEXT NOT NULL DEFAULT '',
	hash         BLOB NOT NULL CHECK (length(hash) = 32),
	created_at   TEXT NOT NULL,
	expires_at   TEXT,
	last_used_at TEXT,
	revoked_at   TEXT,
	UNIQUE (tenant_id, id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);

CREATE UNIQUE INDEX tokens_hash ON tokens (hash);
CREATE INDEX tokens_tenant_user ON tokens (tenant_id, user_id, created_at);

-- Service-wide settings, one value per key. The setup token lives here, as
-- its SHA-256 hash, until the first firm is created with it.
CREATE TABLE settings (
	key        TEXT PRIMARY KEY CHECK (key <> ''),
	value      BLOB NOT NULL,
	updated_at TEXT NOT NULL
);
