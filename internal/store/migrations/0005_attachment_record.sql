-- Attachments belong to a record: they are keyed by (record, SHA-256), so
-- two cases whose attachments have the same bytes (a signature replayed
-- from the pad) each keep their own copy, encrypted under their own key
-- and shredded with their own case. Before, the second case pointed at the
-- first case's copy and lost it when the first was shredded. Every
-- existing row keeps the record it was written for.
CREATE TABLE attachment_new (
	record_id   TEXT NOT NULL REFERENCES record(id),
	sha256      TEXT NOT NULL,
	kind        TEXT NOT NULL,
	media_type  TEXT NOT NULL,
	size        INTEGER NOT NULL,
	data        BLOB,
	created_at  TEXT NOT NULL,
	uploaded_at TEXT,
	PRIMARY KEY (record_id, sha256)
) STRICT;
INSERT INTO attachment_new(record_id, sha256, kind, media_type, size, data, created_at, uploaded_at)
	SELECT record_id, sha256, kind, media_type, size, data, created_at, uploaded_at FROM attachment;
DROP TABLE attachment;
ALTER TABLE attachment_new RENAME TO attachment;
