-- Crypto-shredding requests (issue #15, item 5): the firm's owner asks the
-- operator to destroy the firm (`casevault tenant shred`). One row per firm
-- at most: the pending request, until the owner cancels it or the shred
-- deletes it with every other row of the firm. The reason is sealed with
-- the firm's field key, FieldRef{Table: "shred_requests", Column: "reason",
-- RowID: id}; the rest is ids and a time. The history of requests and
-- cancellations is the firm's audit log (tenant.shred_request,
-- tenant.shred_cancel).
CREATE TABLE shred_requests (
	tenant_id    TEXT NOT NULL PRIMARY KEY REFERENCES tenants (id),
	id           TEXT NOT NULL UNIQUE,
	reason       BLOB NOT NULL,
	requested_by TEXT NOT NULL,
	requested_at TEXT NOT NULL
) WITHOUT ROWID;
