-- What `syncd agent` records for the app to show: one row per named value
-- (pending count, bytes, last success, last error, conflicts), and the pull
-- checkpoint, which is committed together with the data it covers.
CREATE TABLE sync_state (
	key        TEXT PRIMARY KEY,
	value      TEXT NOT NULL,
	updated_at TEXT NOT NULL
) STRICT;

-- The agent pushes in seq order; this index keeps "what is still to push"
-- cheap however long the outbox grows.
CREATE INDEX change_log_pending ON change_log(seq) WHERE pushed_at IS NULL;
