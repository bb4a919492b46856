-- A period's figures (aiops.views.parts: its metrics frame, weekly cells, adoption and totals) kept
-- by what they were computed from and by the code that computed them, so that a new process (a
-- restarted server, a command) starts warm. Derived data: no audit row, only the most recently
-- computed entries are kept (aiops.views.part_store).
CREATE TABLE part_cache (
    part_key    VARCHAR PRIMARY KEY,
    computed_at TIMESTAMP NOT NULL,
    payload     BLOB NOT NULL
);
