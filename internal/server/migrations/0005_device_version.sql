-- The release each laptop last synced with (its Buergerkoffer-Version
-- header), for the operator's device list: which laptops still wait for
-- an update. '' until a laptop of a release that sends it syncs.
ALTER TABLE device ADD COLUMN version TEXT NOT NULL DEFAULT '';
