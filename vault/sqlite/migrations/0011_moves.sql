-- Moves of firms between regions in progress (issue #13, `casevault tenant
-- move`). Only the service database (DATA_DIR/service.db) fills this table:
-- one row per firm being moved, with the last step that completed, so that
-- a rerun after a crash resumes after it. It holds ids, region names, step
-- names and times, and the last error's code (never a message that could
-- quote anything of the firm). The row is deleted when the move is done;
-- the firm's history of moves is the handover events in its audit log.
CREATE TABLE moves (
	tenant_id   TEXT NOT NULL PRIMARY KEY,
	from_region TEXT NOT NULL CHECK (from_region <> ''),
	to_region   TEXT NOT NULL CHECK (to_region <> '' AND to_region <> from_region),
	step        TEXT NOT NULL,
	started_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL,
	last_error  TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
