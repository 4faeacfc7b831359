-- Notifications (issue #15, item 3): each firm's channels, the queue of its
-- notices, one delivery per notice and channel, and every attempt. A
-- channel's config (recipient addresses, or a webhook URL and its signing
-- secret) is sealed with the firm's field key, for the cell
-- FieldRef{Table: "notify_channels", Column: "config", RowID: id}. The rest
-- is ids, times, counts, fixed words and status codes: a notice carries ids
-- and a UI path of ids only (vault.Notice), never a name.
CREATE TABLE notify_channels (
	id         TEXT NOT NULL PRIMARY KEY,
	tenant_id  TEXT NOT NULL REFERENCES tenants (id),
	kind       TEXT NOT NULL CHECK (kind IN ('email', 'webhook')),
	config     BLOB NOT NULL,
	created_by TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX notify_channels_tenant ON notify_channels (tenant_id, created_at);

CREATE TABLE notify_notices (
	id         TEXT    NOT NULL PRIMARY KEY,
	tenant_id  TEXT    NOT NULL REFERENCES tenants (id),
	kind       TEXT    NOT NULL,
	object_id  TEXT    NOT NULL,
	seq        INTEGER NOT NULL DEFAULT 0,
	rule       TEXT    NOT NULL DEFAULT '',
	severity   TEXT    NOT NULL DEFAULT '',
	at         TEXT    NOT NULL,
	path       TEXT    NOT NULL DEFAULT '',
	created_at TEXT    NOT NULL
);
CREATE INDEX notify_notices_tenant ON notify_notices (tenant_id, created_at);

-- channel_id is not a foreign key: a deleted channel's deliveries stay on
-- record (the next attempt of a pending one fails as channel_deleted).
CREATE TABLE notify_deliveries (
	id         TEXT    NOT NULL PRIMARY KEY,
	tenant_id  TEXT    NOT NULL REFERENCES tenants (id),
	notice_id  TEXT    NOT NULL REFERENCES notify_notices (id),
	channel_id TEXT    NOT NULL,
	state      TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
	tries      INTEGER NOT NULL DEFAULT 0 CHECK (tries >= 0),
	next_at    TEXT,
	created_at TEXT    NOT NULL,
	updated_at TEXT    NOT NULL,
	UNIQUE (notice_id, channel_id)
);
CREATE INDEX notify_deliveries_due ON notify_deliveries (state, next_at);
CREATE INDEX notify_deliveries_tenant ON notify_deliveries (tenant_id, created_at);

CREATE TABLE notify_attempts (
	delivery_id TEXT    NOT NULL REFERENCES notify_deliveries (id),
	n           INTEGER NOT NULL CHECK (n >= 1),
	tenant_id   TEXT    NOT NULL REFERENCES tenants (id),
	channel_id  TEXT    NOT NULL,
	at          TEXT    NOT NULL,
	result      TEXT    NOT NULL CHECK (result IN ('ok', 'failed')),
	status      INTEGER NOT NULL DEFAULT 0,
	error       TEXT    NOT NULL DEFAULT '',
	next_at     TEXT,
	PRIMARY KEY (delivery_id, n)
) WITHOUT ROWID;
