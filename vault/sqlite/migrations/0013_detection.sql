-- Breach detection (issue #15 item 2): alerts raised by the rules, each
-- firm's detection settings, users contained by a rule, and the
-- detector's memory across restarts: per-user hourly counts of views and
-- downloads (the baseline rule) and the keyed hashes of the sources each
-- API token was used from (never the sources themselves). Nothing here
-- names a person: ids, counts and times; the one text a person writes, an
-- alert's resolution note, is sealed with the firm's field key.

CREATE TABLE alerts (
	id              TEXT NOT NULL,
	tenant_id       TEXT NOT NULL REFERENCES tenants (id),
	rule            TEXT NOT NULL,
	user_id         TEXT NOT NULL DEFAULT '',
	token_id        TEXT NOT NULL DEFAULT '',
	status          TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
	seq             INTEGER NOT NULL,          -- the alert.raised event
	evidence        TEXT NOT NULL,             -- JSON array of the seqs that tripped it
	threshold       REAL NOT NULL,
	observed        REAL NOT NULL,
	contained       INTEGER NOT NULL DEFAULT 0,
	created_at      TEXT NOT NULL,
	acknowledged_by TEXT NOT NULL DEFAULT '',
	acknowledged_at TEXT,
	resolved_by     TEXT NOT NULL DEFAULT '',
	resolved_at     TEXT,
	note            BLOB,                      -- sealed
	PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;

CREATE INDEX alerts_status ON alerts (tenant_id, status, created_at);

CREATE TABLE detection_settings (
	tenant_id  TEXT PRIMARY KEY REFERENCES tenants (id),
	settings   TEXT NOT NULL, -- JSON vault.DetectionSettings: numbers, a time zone, weekdays
	updated_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE containments (
	tenant_id    TEXT NOT NULL,
	user_id      TEXT NOT NULL,
	alert_id     TEXT NOT NULL,
	contained_at TEXT NOT NULL,
	PRIMARY KEY (tenant_id, user_id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
) WITHOUT ROWID;

CREATE TABLE detection_hours (
	tenant_id TEXT NOT NULL REFERENCES tenants (id),
	user_id   TEXT NOT NULL,
	hour      INTEGER NOT NULL, -- unix seconds, a whole UTC hour
	count     INTEGER NOT NULL CHECK (count >= 0),
	PRIMARY KEY (tenant_id, hour, user_id)
) WITHOUT ROWID;

CREATE TABLE token_sources (
	tenant_id TEXT NOT NULL REFERENCES tenants (id),
	token_id  TEXT NOT NULL,
	hash      BLOB NOT NULL CHECK (length(hash) = 32), -- Indexer "token_source" of token id and source
	seen_at   TEXT NOT NULL,
	PRIMARY KEY (tenant_id, token_id, hash)
) WITHOUT ROWID;
