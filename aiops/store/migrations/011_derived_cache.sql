-- Data derived from the rest and kept so that a new process (a restarted server, a command) starts
-- warm: a period's figures (aiops.views.part_store) and the dashboard's chart specs (ui/charts.py),
-- each under a key made of what it was computed from and the code that computed it. No audit row;
-- only the most recently computed entries are kept (aiops.store.derived).
CREATE TABLE derived_cache (
    derived_key VARCHAR PRIMARY KEY,
    computed_at TIMESTAMP NOT NULL,
    payload     BLOB NOT NULL
);
