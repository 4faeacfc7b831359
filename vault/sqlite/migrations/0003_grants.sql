-- Grants and ethical walls. Both point at their users, documents and
-- matters through composite (tenant_id, id) foreign keys (users, matters and
-- documents are UNIQUE (tenant_id, id)), so neither can ever name an object
-- of another firm. Neither holds confidential text.

-- A grant gives one user permissions on exactly one document or one matter.
-- Grants are never edited or deleted: revoking one sets revoked_at and
-- revoked_by, and an expired or revoked grant stays on record. Times are
-- fixed-width UTC text (see formatTime), so they compare in time order.
CREATE TABLE grants (
	id          TEXT PRIMARY KEY,
	tenant_id   TEXT NOT NULL REFERENCES tenants (id),
	user_id     TEXT NOT NULL,
	document_id TEXT CHECK (document_id <> ''),
	matter_id   TEXT CHECK (matter_id <> ''),
	-- FormatPermissions of canonical permissions: no duplicates, in the
	-- order read, download, edit.
	permissions TEXT NOT NULL CHECK (permissions IN (
		'read', 'download', 'edit',
		'read,download', 'read,edit', 'download,edit',
		'read,download,edit')),
	expires_at  TEXT,
	created_by  TEXT NOT NULL,
	created_at  TEXT NOT NULL,
	revoked_at  TEXT,
	revoked_by  TEXT,
	CHECK ((document_id IS NULL) <> (matter_id IS NULL)),
	CHECK ((revoked_at IS NULL) = (revoked_by IS NULL)),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
	FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id),
	FOREIGN KEY (tenant_id, revoked_by) REFERENCES users (tenant_id, id),
	FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id),
	FOREIGN KEY (tenant_id, matter_id) REFERENCES matters (tenant_id, id)
);

-- At most one unrevoked grant with the same user, object, permissions and
-- expiry. CreateGrant reports a violation as conflict, naming this index.
CREATE UNIQUE INDEX grants_unrevoked_key ON grants (
	tenant_id, user_id, COALESCE(document_id, ''), COALESCE(matter_id, ''),
	permissions, COALESCE(expires_at, '')
) WHERE revoked_at IS NULL;

-- Authorization checks (AccessGrants) and listings by user and object.
-- Each ends in the listing order (created_at, id), so a lookup reads its
-- rows already sorted and the planner, which has no statistics, never
-- prefers walking a whole firm in time order instead. Not partial, so they
-- also serve listings of revoked and expired grants.
CREATE INDEX grants_tenant_user_document ON grants (tenant_id, user_id, document_id, created_at, id);
CREATE INDEX grants_tenant_user_matter ON grants (tenant_id, user_id, matter_id, created_at, id);
-- The grants on one object; these also serve foreign key checks from
-- documents and matters.
CREATE INDEX grants_tenant_document ON grants (tenant_id, document_id, created_at, id);
CREATE INDEX grants_tenant_matter ON grants (tenant_id, matter_id, created_at, id);

-- A wall bars one user from one matter, whatever grants or ownership the
-- user has. Walls carry no history: removing one deletes its row.
CREATE TABLE walls (
	tenant_id  TEXT NOT NULL REFERENCES tenants (id),
	matter_id  TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (tenant_id, matter_id, user_id),
	FOREIGN KEY (tenant_id, matter_id) REFERENCES matters (tenant_id, id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
	FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
);

-- The walls around one user; the primary key serves those of one matter.
CREATE INDEX walls_tenant_user ON walls (tenant_id, user_id);
