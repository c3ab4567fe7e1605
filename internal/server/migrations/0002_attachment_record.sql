-- Attachments belong to a record: they are keyed by (tenant, record,
-- SHA-256), so two records whose attachments have the same plain bytes (a
-- replayed signature) each have their own upload, sealed under their own
-- record's key. Before, the second record's change was accepted on the
-- strength of the first record's upload. Every existing upload keeps the
-- record it was made for; its pieces follow it.
CREATE TABLE attachment_new (
	tenant        TEXT NOT NULL,
	record_id     TEXT NOT NULL,
	sha256        TEXT NOT NULL,
	length        INTEGER NOT NULL,
	sealed_sha256 TEXT NOT NULL,
	received      INTEGER NOT NULL,
	complete      INTEGER NOT NULL,
	created_at    TEXT NOT NULL,
	completed_at  TEXT,
	PRIMARY KEY (tenant, record_id, sha256)
) STRICT;
INSERT INTO attachment_new(tenant, record_id, sha256, length, sealed_sha256, received, complete, created_at, completed_at)
	SELECT tenant, record_id, sha256, length, sealed_sha256, received, complete, created_at, completed_at FROM attachment;

CREATE TABLE attachment_piece_new (
	tenant    TEXT NOT NULL,
	record_id TEXT NOT NULL,
	sha256    TEXT NOT NULL,
	pos       INTEGER NOT NULL,
	data      BLOB NOT NULL,
	PRIMARY KEY (tenant, record_id, sha256, pos)
) STRICT;
INSERT INTO attachment_piece_new(tenant, record_id, sha256, pos, data)
	SELECT p.tenant, a.record_id, p.sha256, p.pos, p.data
	FROM attachment_piece p JOIN attachment a ON a.tenant = p.tenant AND a.sha256 = p.sha256;

DROP TABLE attachment_piece;
DROP TABLE attachment;
ALTER TABLE attachment_new RENAME TO attachment;
ALTER TABLE attachment_piece_new RENAME TO attachment_piece;

-- A record whose change was accepted on the strength of another record's
-- upload of the same bytes has no upload of its own. Copying one needs the
-- keys, so the server does it once at its next start (Server.Open), then
-- clears this mark.
INSERT INTO meta(key, value) VALUES ('attachments_to_copy', '1')
	ON CONFLICT(key) DO UPDATE SET value = excluded.value;
