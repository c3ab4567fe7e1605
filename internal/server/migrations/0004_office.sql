-- The town hall's web application (`syncd office`): its staff, their
-- sessions (in the database, so that several office processes share
-- them), failed sign-ins (the throttle, shared likewise), the office
-- audit log (who opened or decided which case, when, from where; never
-- content), and the inbox's index of arrived cases.

-- Staff of a tenant. username is unique across the database, so that the
-- sign-in asks for no tenant. password_hash: argon2id, PHC string.
CREATE TABLE office_staff (
	username      TEXT PRIMARY KEY,
	tenant        TEXT NOT NULL REFERENCES tenant(id),
	role          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	created_at    TEXT NOT NULL,
	disabled_at   TEXT
) STRICT;
CREATE INDEX office_staff_by_tenant ON office_staff(tenant, username);

-- A signed-in browser: the SHA-256 of its cookie token, its CSRF token.
CREATE TABLE office_session (
	token_hash   TEXT PRIMARY KEY,
	username     TEXT NOT NULL REFERENCES office_staff(username) ON DELETE CASCADE,
	tenant       TEXT NOT NULL,
	csrf         TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	last_seen_at TEXT NOT NULL,
	addr         TEXT NOT NULL
) STRICT;
CREATE INDEX office_session_by_user ON office_session(username);

-- One row per failed sign-in and key ("user:NAME", "addr:IP").
CREATE TABLE office_login_failure (
	key TEXT NOT NULL,
	at  TEXT NOT NULL
) STRICT;
CREATE INDEX office_login_failure_by_key ON office_login_failure(key, at);

-- The office audit log, append-only.
CREATE TABLE office_audit (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant    TEXT NOT NULL,
	at        TEXT NOT NULL,
	username  TEXT NOT NULL,
	action    TEXT NOT NULL,
	record_id TEXT NOT NULL,
	addr      TEXT NOT NULL,
	detail    TEXT NOT NULL
) STRICT;
CREATE INDEX office_audit_by_tenant ON office_audit(tenant, id);
CREATE TRIGGER office_audit_no_update BEFORE UPDATE ON office_audit
	BEGIN SELECT RAISE(ABORT, 'office audit log is append-only'); END;
CREATE TRIGGER office_audit_no_delete BEFORE DELETE ON office_audit
	BEGIN SELECT RAISE(ABORT, 'office audit log is append-only'); END;

-- The inbox: a tenant's cases from sealed on, their plain fields, written
-- with the record in the same transaction (PutRecords). arrived_at is the
-- sort key (sealed_at, else created_at); keyset paging walks the indexes.
CREATE TABLE office_case (
	tenant     TEXT NOT NULL,
	record_id  TEXT NOT NULL,
	status     TEXT NOT NULL,
	service_id TEXT NOT NULL,
	visit_id   TEXT NOT NULL,
	day        TEXT NOT NULL,
	clerk      TEXT NOT NULL,
	arrived_at TEXT NOT NULL,
	version    INTEGER NOT NULL,
	PRIMARY KEY (tenant, record_id)
) STRICT;
CREATE INDEX office_case_by_arrival ON office_case(tenant, arrived_at, record_id);
CREATE INDEX office_case_by_status ON office_case(tenant, status, arrived_at, record_id);

-- Planning lists a tenant's visits and appointments by type.
CREATE INDEX record_by_type ON record(tenant, type);

-- The cases already here (their times as the laptops wrote them).
INSERT INTO office_case(tenant, record_id, status, service_id, visit_id, day, clerk, arrived_at, version)
	SELECT tenant, id, status,
		coalesce(json_extract(state, '$.fields.service_id.val'), ''),
		coalesce(json_extract(state, '$.fields.visit_id.val'), ''),
		substr(coalesce(json_extract(state, '$.fields.created_at.val'), ''), 1, 10),
		coalesce(json_extract(state, '$.fields.created_by.val'), ''),
		coalesce(json_extract(state, '$.fields.sealed_at.val'), json_extract(state, '$.fields.created_at.val'), ''),
		version
	FROM record WHERE type = 'case' AND deleted = 0
		AND status IN ('sealed', 'submitted', 'accepted', 'rejected', 'needs_info');
