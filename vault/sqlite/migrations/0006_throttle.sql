-- Sign-in throttle (issue #10): failed password checks per account-and-source
-- pair and per account, kept here so that a restart does not reset them and
-- every process on this database shares them. Rows are keyed by blind
-- indexes (HMAC-SHA256 under the service-wide index key) of the pair and of
-- the account, so the tables hold no email and no address: only counts and
-- times. Expired rows read as absent and the janitor deletes them.

CREATE TABLE throttle_pairs (
	key           BLOB PRIMARY KEY CHECK (length(key) = 32),
	failures      INTEGER NOT NULL CHECK (failures > 0),
	last_at       TEXT NOT NULL, -- the last failure counted
	noticed_until TEXT,          -- end of the block last recorded in the audit log
	expires_at    TEXT NOT NULL  -- when the pair forgets its failures
) WITHOUT ROWID;

CREATE INDEX throttle_pairs_expiry ON throttle_pairs (expires_at);

CREATE TABLE throttle_accounts (
	key        BLOB PRIMARY KEY CHECK (length(key) = 32),
	failures   INTEGER NOT NULL CHECK (failures >= 0),
	expires_at TEXT NOT NULL -- end of the window the failures were counted in
) WITHOUT ROWID;

CREATE INDEX throttle_accounts_expiry ON throttle_accounts (expires_at);
