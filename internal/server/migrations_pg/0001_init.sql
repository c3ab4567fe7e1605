-- The central sync server's database on PostgreSQL: the SQLite schema as
-- it stands after all its migrations (migrations/0001-0003), translated.
-- Personal values are stored only as the sealed bytes devices sent
-- (change.secret); the keys that open them are wrapped (record_key, seal,
-- tenant_key), never stored in clear.
--
-- Times are UTC text of fixed width ("2006-01-02T15:04:05.000000000Z"), as
-- in SQLite, so that they compare as strings and a town moved from SQLite
-- keeps its values byte for byte. The version of this schema is in
-- schema_version, which the migration runner (postgres_migrate.go) keeps.
-- Every text column sorts and compares by bytes (COLLATE "C"), as SQLite
-- does, whatever the database's locale: exports list records in the same
-- order on both, and times and clocks compare as their text.

-- Single values: the server's hybrid logical clock, the master key check,
-- tenant policies.
CREATE TABLE meta (
	key   text COLLATE "C" PRIMARY KEY,
	value text COLLATE "C" NOT NULL
);

CREATE TABLE tenant (
	id         text COLLATE "C" PRIMARY KEY,
	name       text COLLATE "C" NOT NULL,
	created_at text COLLATE "C" NOT NULL
);

-- A tenant's server key pair. private_wrapped: PKCS#8 DER, AES-256-GCM under
-- the master key, AAD "tenant_key:<tenant>:<kid>". ord orders keys made in
-- the same clock tick, as SQLite's rowid does.
CREATE TABLE tenant_key (
	tenant          text COLLATE "C" NOT NULL REFERENCES tenant(id),
	kid             text COLLATE "C" NOT NULL,
	public_pem      text COLLATE "C" NOT NULL,
	private_wrapped bytea NOT NULL,
	created_at      text COLLATE "C" NOT NULL,
	ord             bigint GENERATED ALWAYS AS IDENTITY,
	PRIMARY KEY (tenant, kid)
);

-- One-time enrolment codes, stored as SHA-256 of the normalised code.
CREATE TABLE enrolment (
	code_hash  text COLLATE "C" PRIMARY KEY,
	tenant     text COLLATE "C" NOT NULL REFERENCES tenant(id),
	created_at text COLLATE "C" NOT NULL,
	expires_at text COLLATE "C" NOT NULL,
	used_at    text COLLATE "C",
	device_id  text COLLATE "C"
);

-- Enrolled laptops. token_hash: SHA-256 of the bearer token.
CREATE TABLE device (
	id           text COLLATE "C" PRIMARY KEY,
	tenant       text COLLATE "C" NOT NULL REFERENCES tenant(id),
	name         text COLLATE "C" NOT NULL,
	local_id     text COLLATE "C" NOT NULL,
	token_hash   text COLLATE "C" NOT NULL UNIQUE,
	public_pem   text COLLATE "C" NOT NULL,
	kid          text COLLATE "C" NOT NULL,
	enrolled_at  text COLLATE "C" NOT NULL,
	revoked_at   text COLLATE "C",
	last_seen_at text COLLATE "C"
);
CREATE INDEX device_by_tenant ON device(tenant);

-- A device's seal key, as a JWE for the tenant's server key.
CREATE TABLE seal (
	tenant     text COLLATE "C" NOT NULL,
	id         text COLLATE "C" NOT NULL,
	device     text COLLATE "C" NOT NULL,
	jwe        text COLLATE "C" NOT NULL,
	created_at text COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, id)
);

-- A record's content key: under seal seal_id (AAD "record_key:<record id>")
-- or, when seal_id is "" (made centrally), under the master key.
CREATE TABLE record_key (
	tenant        text COLLATE "C" NOT NULL,
	record_id     text COLLATE "C" NOT NULL,
	seal_id       text COLLATE "C" NOT NULL,
	wrapped       bytea NOT NULL,
	origin_device text COLLATE "C" NOT NULL,
	created_at    text COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, record_id)
);

-- The server's state of each record: state is the merge.Record as JSON
-- (text, as the server wrote it); status repeats a case's plain status for
-- the pull, which must not send the key of a signed case.
CREATE TABLE record (
	tenant  text COLLATE "C" NOT NULL,
	id      text COLLATE "C" NOT NULL,
	type    text COLLATE "C" NOT NULL,
	version bigint NOT NULL,
	deleted boolean NOT NULL,
	status  text COLLATE "C" NOT NULL,
	state   text COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, id)
);

-- Each tenant's newest feed position. A write transaction holds its
-- tenant's advisory lock (postgres.go) from its start to its commit and
-- takes its positions here, so positions are gapless and follow the
-- order of commits: no reader can see seq n+1 before seq n.
CREATE TABLE feed_head (
	tenant text COLLATE "C" PRIMARY KEY,
	seq    bigint NOT NULL
);

-- The feed: every accepted change, in the order the server accepted it.
-- fields: JSON array of names; plain: JSON of old/new of the plain ones
-- ("" if none); secret: the sealed personal values as the device sent them;
-- state: the fields' sources after merging (map of syncproto.FieldState).
CREATE TABLE change (
	tenant       text COLLATE "C" NOT NULL,
	seq          bigint NOT NULL,
	id           text COLLATE "C" NOT NULL UNIQUE,
	record_id    text COLLATE "C" NOT NULL,
	record_type  text COLLATE "C" NOT NULL,
	op           text COLLATE "C" NOT NULL,
	fields       text COLLATE "C" NOT NULL,
	plain        text COLLATE "C" NOT NULL,
	secret       bytea,
	base_version bigint NOT NULL,
	version      bigint NOT NULL,
	hlc          text COLLATE "C" NOT NULL,
	device       text COLLATE "C" NOT NULL,
	clerk        text COLLATE "C" NOT NULL,
	created_at   text COLLATE "C" NOT NULL,
	received_at  text COLLATE "C" NOT NULL,
	state        text COLLATE "C" NOT NULL,
	deleted      boolean NOT NULL,
	PRIMARY KEY (tenant, seq)
);

-- Attachments, per record. received: bytes stored so far (the upload
-- offset); the bytes are in attachment_piece, one bytea row per piece
-- appended, so that an append writes only its piece.
CREATE TABLE attachment (
	tenant        text COLLATE "C" NOT NULL,
	record_id     text COLLATE "C" NOT NULL,
	sha256        text COLLATE "C" NOT NULL,
	length        bigint NOT NULL,
	sealed_sha256 text COLLATE "C" NOT NULL,
	received      bigint NOT NULL,
	complete      boolean NOT NULL,
	created_at    text COLLATE "C" NOT NULL,
	completed_at  text COLLATE "C",
	PRIMARY KEY (tenant, record_id, sha256)
);
CREATE INDEX attachment_by_sha ON attachment(tenant, sha256);

CREATE TABLE attachment_piece (
	tenant    text COLLATE "C" NOT NULL,
	record_id text COLLATE "C" NOT NULL,
	sha256    text COLLATE "C" NOT NULL,
	pos       bigint NOT NULL,
	data      bytea NOT NULL,
	PRIMARY KEY (tenant, record_id, sha256, pos)
);

-- The head of each device's audit chain, from its last push (chain.go).
CREATE TABLE device_chain (
	device      text COLLATE "C" PRIMARY KEY REFERENCES device(id),
	count       bigint NOT NULL,
	hash        text COLLATE "C" NOT NULL,
	flag        text COLLATE "C" NOT NULL DEFAULT '',
	flag_detail text COLLATE "C" NOT NULL DEFAULT '',
	flagged_at  text COLLATE "C",
	updated_at  text COLLATE "C" NOT NULL
);
