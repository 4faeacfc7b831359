-- Who gave each account its existence, its password and its power (issue
-- #10, item 6), so that the vault can tell an account a walled user controls
-- from one that is independent of them, and one-time passwords from an
-- owner's or admin's reset. Each *_by column holds a user id of the same
-- firm or 'operator' (the command line, first-run setup); NULL means the
-- account predates this migration and nothing is known. None of them is
-- confidential: they are ids and times.
ALTER TABLE users ADD COLUMN created_by TEXT;
-- Who last issued the account's password: its creator, or whoever last
-- reset it. A user changing their own password does not change it: whoever
-- issued the old one may have been the one who changed it.
ALTER TABLE users ADD COLUMN credentials_by TEXT;
ALTER TABLE users ADD COLUMN credentials_at TEXT;
-- Who last raised the account's role (to admin or owner, or admin to owner)
-- or enabled it; its creator until then.
ALTER TABLE users ADD COLUMN promoted_by TEXT;
ALTER TABLE users ADD COLUMN promoted_at TEXT;
-- Set by a password reset: the account's sessions may only change the
-- password or sign out until it is changed.
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0
	CHECK (must_change_password IN (0, 1));

-- A wall the vault added by itself because a walled user created an
-- account: the new account is walled off every matter its creator is, and
-- via names the user whose wall it extends (the first walled user of the
-- chain). NULL for walls an owner or admin added.
ALTER TABLE walls ADD COLUMN via TEXT;
