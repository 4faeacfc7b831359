-- The audit log: one Merkle tree per firm (tenant_id '' is the service log).
-- Every table is append-only: the triggers below refuse UPDATE and DELETE,
-- so the only way to change history is to drop them first, and then the
-- stored hashes and signed checkpoints give the change away.

-- audit_events holds each leaf verbatim, exactly as it was hashed, with a
-- few of its fields copied out so that queries can filter on them. The
-- copies are for finding events only; exports and verifiers read the leaf.
--
-- It is a rowid table on purpose: rows (about 1 KiB) are stored in commit
-- order across firms, so a group commit appends them to a few fresh pages
-- at the end of the file instead of dirtying one page per firm, and the
-- primary key is a small index beside them.
CREATE TABLE audit_events (
	tenant_id   TEXT    NOT NULL,
	seq         INTEGER NOT NULL CHECK (seq >= 1), -- leaf index seq-1
	leaf        BLOB    NOT NULL,
	time        TEXT    NOT NULL, -- audit.TimeLayout, so text order is time order
	actor_id    TEXT    NOT NULL,
	action      TEXT    NOT NULL,
	object_type TEXT    NOT NULL,
	object_id   TEXT    NOT NULL,
	matter_id   TEXT    NOT NULL, -- details["matter_id"], or object_id of a matter
	outcome     TEXT    NOT NULL,
	PRIMARY KEY (tenant_id, seq)
);

-- Each index ends in seq so that a filtered listing comes out in seq order
-- without a sort, and a seq cursor is a range scan.
CREATE INDEX audit_events_actor  ON audit_events (tenant_id, actor_id, seq);
CREATE INDEX audit_events_object ON audit_events (tenant_id, object_id, seq);
CREATE INDEX audit_events_matter ON audit_events (tenant_id, matter_id, seq);
CREATE INDEX audit_events_action ON audit_events (tenant_id, action, seq);
CREATE INDEX audit_events_time   ON audit_events (tenant_id, time, seq);

-- audit_hashes holds the tlog stored hashes of each tree (tlog.StoredHashes
-- of every leaf, at tlog.StoredHashIndex positions), from which tree heads
-- and inclusion proofs are computed without rereading the leaves.
CREATE TABLE audit_hashes (
	tenant_id TEXT    NOT NULL,
	idx       INTEGER NOT NULL CHECK (idx >= 0),
	hash      BLOB    NOT NULL CHECK (length(hash) = 32),
	PRIMARY KEY (tenant_id, idx)
) WITHOUT ROWID;

-- audit_checkpoints holds the signed tree heads: note is the signed note
-- whose text is audit.CheckpointText(tenant_id, size, root).
CREATE TABLE audit_checkpoints (
	tenant_id  TEXT    NOT NULL,
	size       INTEGER NOT NULL CHECK (size >= 1),
	root       BLOB    NOT NULL CHECK (length(root) = 32),
	note       BLOB    NOT NULL,
	created_at TEXT    NOT NULL,
	PRIMARY KEY (tenant_id, size)
) WITHOUT ROWID;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
	SELECT RAISE(ABORT, 'audit log is append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
	SELECT RAISE(ABORT, 'audit log is append-only');
END;
CREATE TRIGGER audit_hashes_no_update BEFORE UPDATE ON audit_hashes
BEGIN
	SELECT RAISE(ABORT, 'audit log is append-only');
END;
CREATE TRIGGER audit_hashes_no_delete BEFORE DELETE ON audit_hashes
BEGIN
	SELECT RAISE(ABORT, 'audit log is append-only');
END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
	SELECT RAISE(ABORT, 'audit log is append-only');
END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
	SELECT RAISE(ABORT, 'audit log is append-only');
END;

-- INSERT OR REPLACE deletes the row it replaces without firing the DELETE
-- triggers, so an insert over an existing row is refused before it starts.
CREATE TRIGGER audit_events_no_replace BEFORE INSERT ON audit_events
WHEN EXISTS (SELECT 1 FROM audit_events WHERE tenant_id = NEW.tenant_id AND seq = NEW.seq)
BEGIN
	SELECT RAISE(ABORT, 'audit log is append-only');
END;
CREATE TRIGGER audit_hashes_no_replace BEFORE INSERT ON audit_hashes
WHEN EXISTS (SELECT 1 FROM audit_hashes WHERE tenant_id = NEW.tenant_id AND idx = NEW.idx)
BEGIN
	SELECT RAISE(ABORT, 'audit log is append-only');
END;
CREATE TRIGGER audit_checkpoints_no_replace BEFORE INSERT ON audit_checkpoints
WHEN EXISTS (SELECT 1 FROM audit_checkpoints WHERE tenant_id = NEW.tenant_id AND size = NEW.size)
BEGIN
	SELECT RAISE(ABORT, 'audit log is append-only');
END;

-- A firm's events are numbered 1, 2, … without gaps.
CREATE TRIGGER audit_events_no_gap BEFORE INSERT ON audit_events
WHEN NEW.seq > 1 AND NOT EXISTS (SELECT 1 FROM audit_events WHERE tenant_id = NEW.tenant_id AND seq = NEW.seq - 1)
BEGIN
	SELECT RAISE(ABORT, 'audit sequence would have a gap');
END;
