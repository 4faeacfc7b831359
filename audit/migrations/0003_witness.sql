-- audit_cosignatures holds the cosignatures independent witnesses returned
-- for the log's checkpoints (C2SP tlog-witness, tlog-cosignature): line is
-- the whole signature line, "— <key_name> <base64>\n", exactly as the
-- witness sent it, ready to be appended to the checkpoint's note. One per
-- witness key and checkpoint; like every audit table it is append-only.
CREATE TABLE audit_cosignatures (
	tenant_id  TEXT    NOT NULL,
	size       INTEGER NOT NULL CHECK (size >= 1),
	key_name   TEXT    NOT NULL,
	key_hash   INTEGER NOT NULL, -- the 4-byte key hash of the line, as a number
	line       TEXT    NOT NULL,
	created_at TEXT    NOT NULL, -- when it was stored; the signed time is in line
	PRIMARY KEY (tenant_id, size, key_name, key_hash)
) WITHOUT ROWID;

CREATE TRIGGER audit_cosignatures_no_update BEFORE UPDATE ON audit_cosignatures
BEGIN
	SELECT RAISE(ABORT, 'audit log is append-only');
END;
CREATE TRIGGER audit_cosignatures_no_delete BEFORE DELETE ON audit_cosignatures
BEGIN
	SELECT RAISE(ABORT, 'audit log is append-only');
END;
CREATE TRIGGER audit_cosignatures_no_replace BEFORE INSERT ON audit_cosignatures
WHEN EXISTS (SELECT 1 FROM audit_cosignatures WHERE tenant_id = NEW.tenant_id AND size = NEW.size
	AND key_name = NEW.key_name AND key_hash = NEW.key_hash)
BEGIN
	SELECT RAISE(ABORT, 'audit log is append-only');
END;
