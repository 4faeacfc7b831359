-- audit_held holds the logs a move between cells holds still (issue #13,
-- docs/AUDIT-FORMAT.md §5 "Moving a firm"): 'moved_out' in the old cell's
-- file from the handover event on (nothing is appended or signed after
-- it there), 'moving_in' in the new cell's file from the first copied row
-- until the new region's key signs the moved log (Log.Adopt). It is state,
-- not history: its rows are deleted when the hold ends (Adopt, DropTenant).
CREATE TABLE audit_held (
	tenant_id TEXT NOT NULL PRIMARY KEY,
	reason    TEXT NOT NULL CHECK (reason IN ('moved_out', 'moving_in')),
	since     TEXT NOT NULL
) WITHOUT ROWID;
