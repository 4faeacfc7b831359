-- Initial schema. Every child row carries its tenant_id and points at its
-- parent through (tenant_id, id), so a row can never reference an object of
-- another firm. Confidential text (matter name and client, document name) is
-- stored only as sealed BLOBs and is never indexed.

CREATE TABLE tenants (
	id           TEXT PRIMARY KEY,
	name         TEXT NOT NULL CHECK (name <> ''),
	region       TEXT NOT NULL CHECK (region <> ''),
	doc_keyset   BLOB NOT NULL CHECK (length(doc_keyset) > 0),
	field_keyset BLOB NOT NULL CHECK (length(field_keyset) > 0),
	created_at   TEXT NOT NULL
);

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	tenant_id     TEXT NOT NULL REFERENCES tenants (id),
	email         TEXT NOT NULL COLLATE NOCASE UNIQUE CHECK (email <> ''),
	name          TEXT NOT NULL,
	role          TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'lawyer', 'auditor')),
	password_hash TEXT NOT NULL,
	disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
	created_at    TEXT NOT NULL,
	updated_at    TEXT NOT NULL,
	UNIQUE (tenant_id, id)
);

CREATE TABLE matters (
	id         TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL REFERENCES tenants (id),
	name       BLOB NOT NULL,
	client     BLOB NOT NULL,
	created_by TEXT NOT NULL,
	created_at TEXT NOT NULL,
	UNIQUE (tenant_id, id),
	FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
);

CREATE INDEX matters_tenant_created ON matters (tenant_id, created_at);

CREATE TABLE documents (
	id              TEXT PRIMARY KEY,
	tenant_id       TEXT NOT NULL REFERENCES tenants (id),
	matter_id       TEXT NOT NULL,
	name            BLOB NOT NULL,
	content_type    TEXT NOT NULL,
	current_version INTEGER NOT NULL CHECK (current_version >= 1),
	size            INTEGER NOT NULL CHECK (size >= 0),
	trashed         INTEGER NOT NULL DEFAULT 0 CHECK (trashed IN (0, 1)),
	trashed_at      TEXT,
	created_by      TEXT NOT NULL,
	created_at      TEXT NOT NULL,
	updated_at      TEXT NOT NULL,
	UNIQUE (tenant_id, id),
	CHECK ((trashed = 0) = (trashed_at IS NULL)),
	FOREIGN KEY (tenant_id, matter_id) REFERENCES matters (tenant_id, id),
	FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
);

CREATE INDEX documents_tenant_matter ON documents (tenant_id, matter_id);
CREATE INDEX documents_tenant_created ON documents (tenant_id, created_at);

CREATE TABLE versions (
	tenant_id        TEXT NOT NULL,
	document_id      TEXT NOT NULL,
	number           INTEGER NOT NULL CHECK (number >= 1),
	size             INTEGER NOT NULL CHECK (size >= 0),
	ciphertext_size  INTEGER NOT NULL CHECK (ciphertext_size >= 0),
	part_size        INTEGER NOT NULL CHECK (part_size >= 0),
	part_cipher_size INTEGER NOT NULL CHECK (part_cipher_size >= 0),
	key_id           INTEGER NOT NULL CHECK (key_id BETWEEN 0 AND 4294967295),
	blob_key         TEXT NOT NULL UNIQUE CHECK (blob_key <> ''),
	content_type     TEXT NOT NULL,
	created_by       TEXT NOT NULL,
	created_at       TEXT NOT NULL,
	PRIMARY KEY (document_id, number),
	FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id),
	FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
);

CREATE INDEX versions_tenant_document ON versions (tenant_id, document_id);

-- Blobs being written and not yet part of a committed version. Rows left by
-- a crash tell the janitor which objects are orphans.
CREATE TABLE pending_blobs (
	key        TEXT PRIMARY KEY CHECK (key <> ''),
	tenant_id  TEXT NOT NULL REFERENCES tenants (id),
	region     TEXT NOT NULL CHECK (region <> ''),
	created_at TEXT NOT NULL
);

CREATE INDEX pending_blobs_created ON pending_blobs (created_at);
CREATE INDEX pending_blobs_tenant ON pending_blobs (tenant_id);
