-- migrate: foreign_keys off
-- Identifying text is sealed (issue #10). Firm names, users' emails and
-- names, API token names and content types become BLOBs sealed with the
-- firm's field key, bound to their cell like matter and document names, and
-- a user is found by email only through email_index: a keyed blind index
-- (HMAC-SHA256 under the region's index key) of the lower-cased address. An
-- email is unique within its firm only, so the same address can have an
-- account in several firms.
--
-- SQL cannot seal, so this migration only reshapes the schema: the
-- plaintext of rows written before it moves to legacy_* columns, and the
-- sealed columns hold placeholders (X'', and a random email_index) until
-- the step that runs once the keys are loaded (DB.SealPlaintext) seals each
-- row, clears its legacy values and drops the legacy_* columns.

-- users is rebuilt (https://www.sqlite.org/lang_altertable.html, section 7)
-- because its email column is UNIQUE across firms, which no ALTER can
-- undo. Every other table refers to it, hence foreign keys off, and the
-- foreign key check before commit.
CREATE TABLE users_new (
	id            TEXT PRIMARY KEY,
	tenant_id     TEXT NOT NULL REFERENCES tenants (id),
	email_index   BLOB NOT NULL CHECK (length(email_index) = 32),
	email         BLOB NOT NULL,
	name          BLOB NOT NULL,
	role          TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'lawyer', 'auditor')),
	password_hash TEXT NOT NULL,
	disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
	created_at    TEXT NOT NULL,
	updated_at    TEXT NOT NULL,
	legacy_email  TEXT,
	legacy_name   TEXT,
	UNIQUE (tenant_id, id),
	UNIQUE (tenant_id, email_index)
);

INSERT INTO users_new (id, tenant_id, email_index, email, name, role, password_hash, disabled,
	created_at, updated_at, legacy_email, legacy_name)
SELECT id, tenant_id, randomblob(32), X'', X'', role, password_hash, disabled,
	created_at, updated_at, email, name
FROM users;

DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

-- Sign-in looks an address up in every firm at once.
CREATE INDEX users_email_index ON users (email_index);

-- The other columns are not UNIQUE, so they are renamed in place and their
-- sealed successors added.
ALTER TABLE tenants RENAME COLUMN name TO legacy_name;
ALTER TABLE tenants ADD COLUMN name BLOB NOT NULL DEFAULT X'';

-- NULL: the token has no name.
ALTER TABLE tokens RENAME COLUMN name TO legacy_name;
ALTER TABLE tokens ADD COLUMN name BLOB;

ALTER TABLE documents RENAME COLUMN content_type TO legacy_content_type;
ALTER TABLE documents ADD COLUMN content_type BLOB NOT NULL DEFAULT X'';

ALTER TABLE versions RENAME COLUMN content_type TO legacy_content_type;
ALTER TABLE versions ADD COLUMN content_type BLOB NOT NULL DEFAULT X'';
