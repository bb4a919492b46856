-- Each workflow's estimate kept by what it was computed from (its timing rows' fingerprint, the
-- period, the policy's evidence rules, the estimates' code): a read recomputes only the workflows
-- whose inputs changed. One row per workflow and period; derived data, so no audit row.
CREATE TABLE estimate_cache (
    workflow_id VARCHAR NOT NULL,
    period_key  VARCHAR NOT NULL,
    inputs_key  VARCHAR NOT NULL,
    computed_at TIMESTAMP NOT NULL,
    record      VARCHAR NOT NULL,
    PRIMARY KEY (workflow_id, period_key)
);
