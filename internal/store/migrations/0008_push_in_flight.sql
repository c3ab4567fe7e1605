-- The agent's in-flight cursor for its pipelined push: push_batch names
-- the batch of the running push that carries the change, written before
-- the batch is sent and cleared when its answer is recorded (AckPush) or
-- the batch is withdrawn unsent. The next batch is read while the one
-- before is still on the wire, so it must skip the changes in flight. A
-- mark left by a crash means "sent, answer unknown": the next push run
-- clears it and sends the change again, and the server answers duplicate
-- if it had it (the change id makes a push idempotent).
ALTER TABLE change_log ADD COLUMN push_batch INTEGER;
CREATE INDEX change_log_in_flight ON change_log(push_batch) WHERE push_batch IS NOT NULL;
