-- A pull names this laptop's own changes by their place in the feed only
-- (protocol revision 2): find them by it.
CREATE INDEX IF NOT EXISTS change_log_by_server_seq ON change_log(server_seq) WHERE server_seq IS NOT NULL;
