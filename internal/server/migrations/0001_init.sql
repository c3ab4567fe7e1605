-- The central sync server's database: tenants (towns), their devices, and
-- each tenant's feed of changes. Personal values are stored only as the
-- sealed bytes devices sent (change.secret); the keys that open them are
-- wrapped (record_key, seal, tenant_key), never stored in clear.
-- Times are UTC text of fixed width, so that they compare as strings.

-- Single values: the server's hybrid logical clock, the master key check.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

CREATE TABLE tenant (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	created_at TEXT NOT NULL
) STRICT;

-- A tenant's server key pair. private_wrapped: PKCS#8 DER, AES-256-GCM under
-- the master key, AAD "tenant_key:<tenant>:<kid>".
CREATE TABLE tenant_key (
	tenant          TEXT NOT NULL REFERENCES tenant(id),
	kid             TEXT NOT NULL,
	public_pem      TEXT NOT NULL,
	private_wrapped BLOB NOT NULL,
	created_at      TEXT NOT NULL,
	PRIMARY KEY (tenant, kid)
) STRICT;

-- One-time enrolment codes, stored as SHA-256 of the normalised code.
CREATE TABLE enrolment (
	code_hash  TEXT PRIMARY KEY,
	tenant     TEXT NOT NULL REFERENCES tenant(id),
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL,
	used_at    TEXT,
	device_id  TEXT
) STRICT;

-- Enrolled laptops. token_hash: SHA-256 of the bearer token.
CREATE TABLE device (
	id           TEXT PRIMARY KEY,
	tenant       TEXT NOT NULL REFERENCES tenant(id),
	name         TEXT NOT NULL,
	local_id     TEXT NOT NULL,
	token_hash   TEXT NOT NULL UNIQUE,
	public_pem   TEXT NOT NULL,
	kid          TEXT NOT NULL,
	enrolled_at  TEXT NOT NULL,
	revoked_at   TEXT,
	last_seen_at TEXT
) STRICT;
CREATE INDEX device_by_tenant ON device(tenant);

-- A device's seal key, as a JWE for the tenant's server key.
CREATE TABLE seal (
	tenant     TEXT NOT NULL,
	id         TEXT NOT NULL,
	device     TEXT NOT NULL,
	jwe        TEXT NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (tenant, id)
) STRICT;

-- A record's content key: under seal seal_id (AAD "record_key:<record id>")
-- or, when seal_id is "" (made centrally), under the master key.
CREATE TABLE record_key (
	tenant        TEXT NOT NULL,
	record_id     TEXT NOT NULL,
	seal_id       TEXT NOT NULL,
	wrapped       BLOB NOT NULL,
	origin_device TEXT NOT NULL,
	created_at    TEXT NOT NULL,
	PRIMARY KEY (tenant, record_id)
) STRICT;

-- The server's state of each record: state is the merge.Record as JSON;
-- status repeats a case's plain status for the pull, which must not send
-- the key of a signed case.
CREATE TABLE record (
	tenant  TEXT NOT NULL,
	id      TEXT NOT NULL,
	type    TEXT NOT NULL,
	version INTEGER NOT NULL,
	deleted INTEGER NOT NULL,
	status  TEXT NOT NULL,
	state   TEXT NOT NULL,
	PRIMARY KEY (tenant, id)
) STRICT;

-- The feed: every accepted change, in the order the server accepted it.
-- fields: JSON array of names; plain: JSON of old/new of the plain ones
-- ("" if none); secret: the sealed personal values as the device sent them;
-- state: the fields' sources after merging (map of syncproto.FieldState).
CREATE TABLE change (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant       TEXT NOT NULL,
	id           TEXT NOT NULL UNIQUE,
	record_id    TEXT NOT NULL,
	record_type  TEXT NOT NULL,
	op           TEXT NOT NULL,
	fields       TEXT NOT NULL,
	plain        TEXT NOT NULL,
	secret       BLOB,
	base_version INTEGER NOT NULL,
	version      INTEGER NOT NULL,
	hlc          TEXT NOT NULL,
	device       TEXT NOT NULL,
	clerk        TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	received_at  TEXT NOT NULL,
	state        TEXT NOT NULL,
	deleted      INTEGER NOT NULL
) STRICT;
CREATE INDEX change_by_tenant ON change(tenant, seq);

-- Attachments, content-addressed per tenant. received: bytes stored so far
-- (the upload offset); the bytes are in attachment_piece, one row per
-- piece appended, because appending to one BLOB rewrites all of it.
CREATE TABLE attachment (
	tenant        TEXT NOT NULL,
	sha256        TEXT NOT NULL,
	record_id     TEXT NOT NULL,
	length        INTEGER NOT NULL,
	sealed_sha256 TEXT NOT NULL,
	received      INTEGER NOT NULL,
	complete      INTEGER NOT NULL,
	created_at    TEXT NOT NULL,
	completed_at  TEXT,
	PRIMARY KEY (tenant, sha256)
) STRICT;

CREATE TABLE attachment_piece (
	tenant TEXT NOT NULL,
	sha256 TEXT NOT NULL,
	pos    INTEGER NOT NULL,
	data   BLOB NOT NULL,
	PRIMARY KEY (tenant, sha256, pos)
) STRICT;
