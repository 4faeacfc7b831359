-- Each firm's checkpoint sink (issue #11, item 5): where every signed
-- checkpoint of its audit log is delivered, and how far delivery got. The
-- config (endpoint or URL, bucket, prefix, credentials) and the last error
-- (which may quote the endpoint) are sealed with the firm's field key, for
-- the cells FieldRef{Table: "audit_sinks", Column: "config" or
-- "last_error", RowID: id}. The cursor is the last checkpoint delivered:
-- sizes, a tree root and times, nothing anyone wrote.
CREATE TABLE audit_sinks (
	tenant_id      TEXT    NOT NULL PRIMARY KEY REFERENCES tenants (id),
	id             TEXT    NOT NULL UNIQUE,
	kind           TEXT    NOT NULL CHECK (kind IN ('s3', 'webhook')),
	config         BLOB    NOT NULL,
	created_by     TEXT    NOT NULL,
	created_at     TEXT    NOT NULL,
	delivered_size INTEGER NOT NULL DEFAULT 0 CHECK (delivered_size >= 0),
	delivered_root BLOB    CHECK (delivered_root IS NULL OR length(delivered_root) = 32),
	signed_at      TEXT,
	delivered_at   TEXT,
	pending        INTEGER NOT NULL DEFAULT 0 CHECK (pending >= 0),
	last_error     BLOB,
	last_error_at  TEXT
) WITHOUT ROWID;
