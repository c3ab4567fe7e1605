-- The hand-off of sealed cases to the authorities' specialist procedures
-- through FIT-Connect (`syncd handoff`, package handoff): which
-- destination each service of a tenant goes to, where each case stands on
-- its way there, and how far the worker has read the tenant's feed.
-- No personal data: ids, steps, and the reasons the submission service or
-- the receiving authority gave.

-- A service's destination (a FIT-Connect destination id, a UUID).
CREATE TABLE handoff_route (
	tenant         TEXT NOT NULL REFERENCES tenant(id),
	service        TEXT NOT NULL,
	destination_id TEXT NOT NULL,
	created_at     TEXT NOT NULL,
	created_by     TEXT NOT NULL,
	PRIMARY KEY (tenant, service)
) STRICT;

-- One sealed case on its way: step is due, created, uploading, submitted,
-- accepted, rejected, failed (a problem that stops it; last_error says
-- which) or skipped (no longer sealed when its turn came). submission_id
-- and fitconnect_case_id are written right after the submission is
-- created, before anything else; attachments_done is the JSON array of
-- the attachment ids uploaded. status is the case status last written to
-- the record (submitted, accepted, rejected), reason the authority's.
-- event_offset: how many entries of the case's event log were handled.
CREATE TABLE handoff_case (
	tenant             TEXT NOT NULL REFERENCES tenant(id),
	case_id            TEXT NOT NULL,
	service            TEXT NOT NULL,
	feed_seq           INTEGER NOT NULL,
	destination_id     TEXT NOT NULL,
	submission_id      TEXT NOT NULL,
	fitconnect_case_id TEXT NOT NULL,
	step               TEXT NOT NULL,
	attachments_done   TEXT NOT NULL,
	attempts           INTEGER NOT NULL,
	last_error         TEXT NOT NULL,
	next_attempt_at    TEXT NOT NULL,
	submitted_at       TEXT NOT NULL,
	status             TEXT NOT NULL,
	reason             TEXT NOT NULL,
	event_offset       INTEGER NOT NULL,
	events_refused     INTEGER NOT NULL,
	created_at         TEXT NOT NULL,
	updated_at         TEXT NOT NULL,
	PRIMARY KEY (tenant, case_id)
) STRICT;
CREATE INDEX handoff_case_by_step ON handoff_case(tenant, step, feed_seq);

-- The worker of a tenant: how far it has read the feed, and the lease
-- that keeps a second worker from submitting the same cases.
CREATE TABLE handoff_worker (
	tenant      TEXT PRIMARY KEY REFERENCES tenant(id),
	feed_seq    INTEGER NOT NULL,
	owner       TEXT NOT NULL,
	lease_until TEXT NOT NULL
) STRICT;
