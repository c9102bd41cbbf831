-- Run leases with a scope, for a store that several workers write at once (a DuckLake).
--
-- `scope` NULL is the whole store, as before: such a run excludes every other. A run with a scope
-- (an ingest partition, 'ingest:2/4') excludes only the runs of the same scope and whole-store
-- runs, so the four partitions of one ingest write side by side while a retag waits for all.
-- `heartbeat_at` is renewed while a lake run works: a holder on another machine whose heartbeat
-- stopped (its worker was killed) is stale, and its partition may be taken over at once.
ALTER TABLE run_lease ADD COLUMN scope VARCHAR;
ALTER TABLE run_lease ADD COLUMN heartbeat_at TIMESTAMPTZ;
