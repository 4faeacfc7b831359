-- A firm's single sign-on provider (issue #16). config is sealed with the
-- firm's field key: a JSON object of the issuer URL, client id, client
-- secret and allowed email domains, all words the firm wrote.
CREATE TABLE sso_configs (
	tenant_id   TEXT PRIMARY KEY REFERENCES tenants (id),
	config      BLOB NOT NULL,
	jit         INTEGER NOT NULL DEFAULT 0,
	require_sso INTEGER NOT NULL DEFAULT 0,
	updated_at  TEXT NOT NULL,
	updated_by  TEXT NOT NULL
);
