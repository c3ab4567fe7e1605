-- The audit chain is keyed (HMAC-SHA256). key_id names the key of each
-- entry: 'device' (derived from the device data key, held by an unlocked
-- session only), 'agent' (the key in audit_key, for what is written with
-- no session: `syncd agent`, failed unlocks) or 'sha256' (entries written
-- before this migration, plain SHA-256; they may only precede keyed ones).
ALTER TABLE audit_log ADD COLUMN key_id TEXT NOT NULL DEFAULT 'sha256';

-- The agent's audit key, made on first use. It is as protected as the
-- device token beside it in meta (see internal/store/audit.go).
CREATE TABLE audit_key (
	id         TEXT PRIMARY KEY,
	mac_key    BLOB NOT NULL,
	created_at TEXT NOT NULL
) STRICT;
