-- Compliance (issue #15, items 1 and 4).
--
-- tenant_addons: the add-ons the operator enabled for a firm (today only
-- 'hipaa'). A row is an add-on that is on; turning it off deletes the row.
CREATE TABLE tenant_addons (
	tenant_id  TEXT NOT NULL REFERENCES tenants (id),
	addon      TEXT NOT NULL CHECK (addon IN ('hipaa')),
	enabled_at TEXT NOT NULL,
	PRIMARY KEY (tenant_id, addon)
) WITHOUT ROWID;

-- baa_decisions: the owner's last decision on each version of the business
-- associate agreement: the version id, the SHA-256 of the exact text the
-- owner was served, who and when, and the audit event that recorded it.
CREATE TABLE baa_decisions (
	tenant_id   TEXT    NOT NULL REFERENCES tenants (id),
	version     TEXT    NOT NULL,
	decision    TEXT    NOT NULL CHECK (decision IN ('accepted', 'declined')),
	text_sha256 TEXT    NOT NULL CHECK (length(text_sha256) = 64),
	decided_by  TEXT    NOT NULL,
	decided_at  TEXT    NOT NULL,
	seq         INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, version)
) WITHOUT ROWID;

-- breaches: the firm's breach register. What a person wrote (the
-- description, the risk assessment and whether it finds a real risk of
-- significant harm) is one sealed JSON cell, FieldRef{Table: "breaches",
-- Column: "body", RowID: id}; the rest is ids, a fixed word and times.
CREATE TABLE breaches (
	id                     TEXT NOT NULL PRIMARY KEY,
	tenant_id              TEXT NOT NULL REFERENCES tenants (id),
	alert_id               TEXT NOT NULL DEFAULT '',
	body                   BLOB NOT NULL,
	status                 TEXT NOT NULL CHECK (status IN ('open', 'closed')),
	regulator_notified_at  TEXT,
	clients_notified_at    TEXT,
	individuals_notified_at TEXT,
	created_by             TEXT NOT NULL,
	created_at             TEXT NOT NULL,
	updated_by             TEXT NOT NULL,
	updated_at             TEXT NOT NULL
);
CREATE INDEX breaches_tenant ON breaches (tenant_id, created_at);

-- breach_subjects: the matters and users a breach affects, by id. No
-- foreign key to breaches: a firm's move copies and deletes tables in name
-- order, and this one sorts first; the store deletes a breach's subjects
-- with it.
CREATE TABLE breach_subjects (
	tenant_id TEXT NOT NULL REFERENCES tenants (id),
	breach_id TEXT NOT NULL,
	kind      TEXT NOT NULL CHECK (kind IN ('matter', 'user')),
	object_id TEXT NOT NULL,
	PRIMARY KEY (breach_id, kind, object_id)
) WITHOUT ROWID;
