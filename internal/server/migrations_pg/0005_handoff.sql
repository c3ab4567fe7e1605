-- The hand-off of sealed cases through FIT-Connect, as SQLite's
-- migrations/0006_handoff.sql: routes, each case's way, the worker.

CREATE TABLE handoff_route (
	tenant         text COLLATE "C" NOT NULL REFERENCES tenant(id),
	service        text COLLATE "C" NOT NULL,
	destination_id text COLLATE "C" NOT NULL,
	created_at     text COLLATE "C" NOT NULL,
	created_by     text COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, service)
);

CREATE TABLE handoff_case (
	tenant             text COLLATE "C" NOT NULL REFERENCES tenant(id),
	case_id            text COLLATE "C" NOT NULL,
	service            text COLLATE "C" NOT NULL,
	feed_seq           bigint NOT NULL,
	destination_id     text COLLATE "C" NOT NULL,
	submission_id      text COLLATE "C" NOT NULL,
	fitconnect_case_id text COLLATE "C" NOT NULL,
	step               text COLLATE "C" NOT NULL,
	attachments_done   text COLLATE "C" NOT NULL,
	attempts           bigint NOT NULL,
	last_error         text COLLATE "C" NOT NULL,
	next_attempt_at    text COLLATE "C" NOT NULL,
	submitted_at       text COLLATE "C" NOT NULL,
	status             text COLLATE "C" NOT NULL,
	reason             text COLLATE "C" NOT NULL,
	event_offset       bigint NOT NULL,
	events_refused     bigint NOT NULL,
	created_at         text COLLATE "C" NOT NULL,
	updated_at         text COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, case_id)
);
CREATE INDEX handoff_case_by_step ON handoff_case(tenant, step, feed_seq);

CREATE TABLE handoff_worker (
	tenant      text COLLATE "C" PRIMARY KEY REFERENCES tenant(id),
	feed_seq    bigint NOT NULL,
	owner       text COLLATE "C" NOT NULL,
	lease_until text COLLATE "C" NOT NULL
);
