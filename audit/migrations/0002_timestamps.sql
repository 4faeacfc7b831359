-- audit_timestamps holds the checkpoints signed again at a size that has a
-- checkpoint in audit_checkpoints already: the heartbeats of an idle log
-- (the same tree with a fresh timestamp) and the checkpoints an export
-- signs of the tree that ends with its own audit.export event. note is the
-- signed note (the checkpoint text, the note signature and the
-- cosignature/v1 timestamp line); signed_at is the timestamp's time in
-- audit.TimeLayout. Append-only, like every audit table.
CREATE TABLE audit_timestamps (
	id        INTEGER PRIMARY KEY,
	tenant_id TEXT    NOT NULL,
	size      INTEGER NOT NULL CHECK (size >= 1),
	note      BLOB    NOT NULL,
	signed_at TEXT    NOT NULL
);

CREATE INDEX audit_timestamps_size ON audit_timestamps (tenant_id, size, signed_at);

CREATE TRIGGER audit_timestamps_no_update BEFORE UPDATE ON audit_timestamps
BEGIN
	SELECT RAISE(ABORT, 'audit log is append-only');
END;
CREATE TRIGGER audit_timestamps_no_delete BEFORE DELETE ON audit_timestamps
BEGIN
	SELECT RAISE(ABORT, 'audit log is append-only');
END;
CREATE TRIGGER audit_timestamps_no_replace BEFORE INSERT ON audit_timestamps
WHEN EXISTS (SELECT 1 FROM audit_timestamps WHERE id = NEW.id)
BEGIN
	SELECT RAISE(ABORT, 'audit log is append-only');
END;
