-- Sync with the central server (see internal/syncproto).

-- server_version: the server's version of the record that this laptop has
-- integrated; a change is based on it. src: for each personal field, the
-- change whose (sealed) new value the field holds now; secret_src: the
-- sources the secret blob reflects. A pulled change moves src without
-- opening anything (the agent has no key); the app folds the values into
-- secret when it next reads or writes the record.
ALTER TABLE record ADD COLUMN server_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE record ADD COLUMN src TEXT NOT NULL DEFAULT '{}';
ALTER TABLE record ADD COLUMN secret_src TEXT NOT NULL DEFAULT '{}';

-- origin: 'local' (made here) or 'remote' (pulled). server_wrapped: the
-- content key under seal seal_id, for the server. page_wrapped: a pulled
-- content key under the key of pull page page_id, for this device.
ALTER TABLE record_key ADD COLUMN origin TEXT NOT NULL DEFAULT 'local';
ALTER TABLE record_key ADD COLUMN seal_id TEXT;
ALTER TABLE record_key ADD COLUMN server_wrapped BLOB;
ALTER TABLE record_key ADD COLUMN key_pushed_at TEXT;
ALTER TABLE record_key ADD COLUMN page_id TEXT;
ALTER TABLE record_key ADD COLUMN page_wrapped BLOB;
CREATE INDEX record_key_unsealed ON record_key(id) WHERE server_wrapped IS NULL AND origin = 'local';

-- A seal key, as a JWE for the server's public key. The app makes one per
-- session and wraps record keys under it; it never stores it in clear.
CREATE TABLE seal (
	id         TEXT PRIMARY KEY,
	jwe        TEXT NOT NULL,
	created_at TEXT NOT NULL,
	pushed_at  TEXT
) STRICT;

-- A pull page's key, as the server sealed it for this device.
CREATE TABLE pull_page (
	id         TEXT PRIMARY KEY,
	jwe        TEXT NOT NULL,
	created_at TEXT NOT NULL
) STRICT;

-- server_seq: where the server put this change in the tenant's feed.
-- rejected: why the server refused it (never retried).
ALTER TABLE change_log ADD COLUMN server_seq INTEGER;
ALTER TABLE change_log ADD COLUMN rejected TEXT;
DROP INDEX change_log_pending;
CREATE INDEX change_log_pending ON change_log(seq) WHERE pushed_at IS NULL AND rejected IS NULL;

-- Changes pulled from the server, as they came: the agent stores them, the
-- app opens their values when unlocked.
CREATE TABLE remote_change (
	seq           INTEGER PRIMARY KEY,
	id            TEXT NOT NULL UNIQUE,
	record_id     TEXT NOT NULL,
	record_type   TEXT NOT NULL,
	op            TEXT NOT NULL,
	fields        TEXT NOT NULL,
	plain_values  TEXT NOT NULL,
	secret_values BLOB,
	base_version  INTEGER NOT NULL,
	version       INTEGER NOT NULL,
	hlc           TEXT NOT NULL,
	device_id     TEXT NOT NULL,
	clerk_id      TEXT NOT NULL,
	created_at    TEXT NOT NULL,
	state         TEXT NOT NULL,
	deleted       INTEGER NOT NULL
) STRICT;
CREATE INDEX remote_change_by_record ON remote_change(record_id);
