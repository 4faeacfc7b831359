-- The service-wide directory of cells (issue #13): which region's cell holds
-- each firm, and in which regions' cells an email's keyed blind index (the
-- users.email_index of that region) has a user, so that sign-in asks only
-- those cells. It holds nothing else: no name, no email, no row of a firm.
-- Only the service database (DATA_DIR/service.db) fills these tables; in a
-- cell's database they stay empty.
CREATE TABLE directory_tenants (
	id     TEXT NOT NULL PRIMARY KEY,
	region TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE directory_emails (
	email_index BLOB NOT NULL CHECK (length(email_index) = 32),
	region      TEXT NOT NULL,
	PRIMARY KEY (email_index, region)
) WITHOUT ROWID;
