-- A closed matter is read-only: no uploads, new versions, renames, moves in
-- or out, or trash changes in it. closed_at is when it was closed, NULL while
-- it is open; who closed or reopened it is in the audit log.
ALTER TABLE matters ADD COLUMN closed_at TEXT;
