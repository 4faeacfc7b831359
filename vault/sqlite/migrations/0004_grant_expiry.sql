-- When the audit log recorded a grant's expiry. Expiry takes effect on the
-- clock by itself; the janitor then records a grant.expire event and marks
-- the grant here, so each expiry is recorded once.
ALTER TABLE grants ADD COLUMN expiry_recorded_at TEXT;

CREATE INDEX grants_unrecorded_expiry ON grants (expires_at)
	WHERE expires_at IS NOT NULL AND revoked_at IS NULL AND expiry_recorded_at IS NULL;
