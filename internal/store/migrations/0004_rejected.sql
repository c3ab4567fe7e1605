-- Changes the server refused: a clerk acknowledges each (having told the
-- town hall's IT), after which the app stops counting it; the entry and
-- its reason stay. The app counts the unacknowledged ones once a second;
-- they are few, the change log may hold a hundred thousand entries.
ALTER TABLE change_log ADD COLUMN rejected_seen_at TEXT;
ALTER TABLE change_log ADD COLUMN rejected_seen_by TEXT;
CREATE INDEX change_log_rejected ON change_log(seq) WHERE rejected IS NOT NULL AND rejected_seen_at IS NULL;
