-- The app's sync bar counts the changes the server refused once a second;
-- they are few, the change log may hold a hundred thousand entries.
CREATE INDEX change_log_rejected ON change_log(seq) WHERE rejected IS NOT NULL;
