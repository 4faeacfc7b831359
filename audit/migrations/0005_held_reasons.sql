-- A move interrupted between the handover and the switch leaves the firm
-- served from its old cell, and one interrupted between the switch and the
-- adoption from its new cell: in both the firm's log takes appends again,
-- unsigned, until the move goes on (docs/AUDIT-FORMAT.md §5 "Moving a
-- firm"). audit_held gets the two reasons of those windows:
-- 'handing_over' in the old cell's file from the handover event to the
-- switch, 'adopting' in the new cell's from the switch until Log.Adopt.
-- 'moved_out' is the old cell's from the switch on, 'moving_in' the new
-- cell's while the copy is made.
CREATE TABLE audit_held_new (
	tenant_id TEXT NOT NULL PRIMARY KEY,
	reason    TEXT NOT NULL CHECK (reason IN ('handing_over', 'moved_out', 'moving_in', 'adopting')),
	since     TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO audit_held_new (tenant_id, reason, since) SELECT tenant_id, reason, since FROM audit_held;
DROP TABLE audit_held;
ALTER TABLE audit_held_new RENAME TO audit_held;
