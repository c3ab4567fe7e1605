-- The town hall's web application (`syncd office`), as SQLite's
-- migrations/0004_office.sql: staff, sessions, failed sign-ins, the
-- office audit log and the inbox's index of arrived cases.

CREATE TABLE office_staff (
	username      text COLLATE "C" PRIMARY KEY,
	tenant        text COLLATE "C" NOT NULL REFERENCES tenant(id),
	role          text COLLATE "C" NOT NULL,
	password_hash text COLLATE "C" NOT NULL,
	created_at    text COLLATE "C" NOT NULL,
	disabled_at   text COLLATE "C"
);
CREATE INDEX office_staff_by_tenant ON office_staff(tenant, username);

CREATE TABLE office_session (
	token_hash   text COLLATE "C" PRIMARY KEY,
	username     text COLLATE "C" NOT NULL REFERENCES office_staff(username) ON DELETE CASCADE,
	tenant       text COLLATE "C" NOT NULL,
	csrf         text COLLATE "C" NOT NULL,
	created_at   text COLLATE "C" NOT NULL,
	last_seen_at text COLLATE "C" NOT NULL,
	addr         text COLLATE "C" NOT NULL
);
CREATE INDEX office_session_by_user ON office_session(username);

CREATE TABLE office_login_failure (
	key text COLLATE "C" NOT NULL,
	at  text COLLATE "C" NOT NULL
);
CREATE INDEX office_login_failure_by_key ON office_login_failure(key, at);

CREATE TABLE office_audit (
	id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant    text COLLATE "C" NOT NULL,
	at        text COLLATE "C" NOT NULL,
	username  text COLLATE "C" NOT NULL,
	action    text COLLATE "C" NOT NULL,
	record_id text COLLATE "C" NOT NULL,
	addr      text COLLATE "C" NOT NULL,
	detail    text COLLATE "C" NOT NULL
);
CREATE INDEX office_audit_by_tenant ON office_audit(tenant, id);
CREATE FUNCTION office_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'office audit log is append-only';
END $$;
CREATE TRIGGER office_audit_append_only BEFORE UPDATE OR DELETE ON office_audit
	FOR EACH ROW EXECUTE FUNCTION office_audit_append_only();

CREATE TABLE office_case (
	tenant     text COLLATE "C" NOT NULL,
	record_id  text COLLATE "C" NOT NULL,
	status     text COLLATE "C" NOT NULL,
	service_id text COLLATE "C" NOT NULL,
	visit_id   text COLLATE "C" NOT NULL,
	day        text COLLATE "C" NOT NULL,
	clerk      text COLLATE "C" NOT NULL,
	arrived_at text COLLATE "C" NOT NULL,
	version    bigint NOT NULL,
	PRIMARY KEY (tenant, record_id)
);
CREATE INDEX office_case_by_arrival ON office_case(tenant, arrived_at, record_id);
CREATE INDEX office_case_by_status ON office_case(tenant, status, arrived_at, record_id);

-- Planning lists a tenant's visits and appointments by type.
CREATE INDEX record_by_type ON record(tenant, type);

INSERT INTO office_case(tenant, record_id, status, service_id, visit_id, day, clerk, arrived_at, version)
	SELECT tenant, id, status,
		coalesce(state::jsonb #>> '{fields,service_id,val}', ''),
		coalesce(state::jsonb #>> '{fields,visit_id,val}', ''),
		substr(coalesce(state::jsonb #>> '{fields,created_at,val}', ''), 1, 10),
		coalesce(state::jsonb #>> '{fields,created_by,val}', ''),
		coalesce(state::jsonb #>> '{fields,sealed_at,val}', state::jsonb #>> '{fields,created_at,val}', ''),
		version
	FROM record WHERE type = 'case' AND NOT deleted
		AND status IN ('sealed', 'submitted', 'accepted', 'rejected', 'needs_info');
