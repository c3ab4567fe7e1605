-- The head of each device's audit chain, from its last push: the number
-- of entries and the newest MAC. flag is '' while the chain only grew,
-- 'went_back' or 'forked' once it did not; it stays until an operator
-- has looked (the laptop keeps syncing either way).
CREATE TABLE device_chain (
	device      TEXT PRIMARY KEY REFERENCES device(id),
	count       INTEGER NOT NULL,
	hash        TEXT NOT NULL,
	flag        TEXT NOT NULL DEFAULT '',
	flag_detail TEXT NOT NULL DEFAULT '',
	flagged_at  TEXT,
	updated_at  TEXT NOT NULL
) STRICT;
