-- The field store of one laptop. Shared by the app and `syncd agent`, which
-- run as two processes on this one file.

-- Device identity, the hybrid logical clock and other single values.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

-- Clerks who can unlock this laptop. wrapped_key is the device data key,
-- wrapped under a key derived from the clerk's password (JSON).
CREATE TABLE clerk (
	id           TEXT PRIMARY KEY,
	username     TEXT NOT NULL UNIQUE,
	display_name TEXT NOT NULL,
	wrapped_key  TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	updated_at   TEXT NOT NULL
) STRICT;

-- One content key per record. local_wrapped: under the device data key, so
-- the app can open the record when unlocked. server_sealed: a JWE for the
-- server's public key, so the agent can push without any key of its own.
-- Destroying local_wrapped is crypto-shredding.
CREATE TABLE record_key (
	id            TEXT PRIMARY KEY,
	local_wrapped BLOB,
	server_sealed TEXT,
	created_at    TEXT NOT NULL,
	shredded_at   TEXT
) STRICT;

-- Every synced record. plain: JSON of the fields that are not personal
-- data; secret: the personal fields as JSON, AES-256-GCM under the record's
-- content key.
CREATE TABLE record (
	id         TEXT PRIMARY KEY,
	type       TEXT NOT NULL,
	version    INTEGER NOT NULL,
	key_id     TEXT NOT NULL REFERENCES record_key(id),
	plain      TEXT NOT NULL,
	secret     BLOB,
	deleted    INTEGER NOT NULL DEFAULT 0,
	hlc        TEXT NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX record_by_type ON record(type, deleted);

-- The transactional outbox: one entry per mutation, written in the same
-- transaction as the record. fields: the names that changed (JSON array);
-- plain_values: old and new of the plain ones; secret_values: old and new of
-- the personal ones, AES-256-GCM under the record's content key.
CREATE TABLE change_log (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	id            TEXT NOT NULL UNIQUE,
	record_id     TEXT NOT NULL,
	record_type   TEXT NOT NULL,
	op            TEXT NOT NULL CHECK (op IN ('create', 'update', 'delete')),
	fields        TEXT NOT NULL,
	plain_values  TEXT NOT NULL,
	secret_values BLOB,
	key_id        TEXT NOT NULL REFERENCES record_key(id),
	base_version  INTEGER NOT NULL,
	hlc           TEXT NOT NULL,
	device_id     TEXT NOT NULL,
	clerk_id      TEXT NOT NULL,
	created_at    TEXT NOT NULL,
	pushed_at     TEXT
) STRICT;
CREATE INDEX change_log_by_record ON change_log(record_id);

-- Attachments, addressed by the SHA-256 of their content, encrypted under
-- the content key of the record they belong to.
CREATE TABLE attachment (
	sha256      TEXT PRIMARY KEY,
	record_id   TEXT NOT NULL REFERENCES record(id),
	kind        TEXT NOT NULL,
	media_type  TEXT NOT NULL,
	size        INTEGER NOT NULL,
	data        BLOB,
	created_at  TEXT NOT NULL,
	uploaded_at TEXT
) STRICT;
CREATE INDEX attachment_by_record ON attachment(record_id);

-- Append-only, hash-chained audit log: who did what, when, on which device
-- and record. Never the content.
CREATE TABLE audit_log (
	seq         INTEGER PRIMARY KEY,
	at          TEXT NOT NULL,
	device_id   TEXT NOT NULL,
	clerk_id    TEXT NOT NULL,
	action      TEXT NOT NULL,
	record_type TEXT NOT NULL,
	record_id   TEXT NOT NULL,
	prev_hash   TEXT NOT NULL,
	hash        TEXT NOT NULL
) STRICT;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
