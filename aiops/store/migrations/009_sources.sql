-- Sources (issue 27): a tool's API that a workflow's timings are pulled from on a schedule. A source
-- names its token by reference only (an environment variable or a private file): the token itself
-- is never stored. ``pull_cursor`` is where the next pull starts (the tool's own `since` timestamp or
-- incremental-export cursor), written in the same transaction as the pull's batch.
CREATE SEQUENCE source_seq START 1;
CREATE TABLE sources (
    source_id   BIGINT PRIMARY KEY DEFAULT nextval('source_seq'),
    name        VARCHAR NOT NULL,
    name_key    VARCHAR NOT NULL UNIQUE,  -- lower(name): one name whatever its case
    tool        VARCHAR NOT NULL CHECK (tool IN ('github_pulls', 'github_issues', 'jira', 'zendesk')),
    base_url    VARCHAR NOT NULL,
    query       VARCHAR NOT NULL,
    workflow_id VARCHAR NOT NULL,
    loop        VARCHAR NOT NULL,
    time_kind   VARCHAR NOT NULL CHECK (time_kind IN ('hands_on', 'elapsed')),
    go_live     VARCHAR NOT NULL,  -- ISO date or date-time, as a mapping's go-live
    token_ref   VARCHAR NOT NULL,  -- env:NAME or file:/path, never the token
    pull_cursor VARCHAR,
    created_at  TIMESTAMP NOT NULL,
    created_by  VARCHAR NOT NULL,
    last_pull_at TIMESTAMP
);

-- Each pull that wrote a batch: the cursor it started from, so that undoing the batch rewinds the
-- source (the next pull fetches those records again, as if the undone pull never ran).
CREATE TABLE source_pulls (
    batch_id      BIGINT PRIMARY KEY,
    source_id     BIGINT NOT NULL,
    cursor_before VARCHAR,
    cursor_after  VARCHAR
);

-- A pulled sample carries its record's id in the tool (namespaced by the source's tool, site, query
-- and loop): pulled again, the record replaces its earlier sample in the same workflow, so
-- overlapping pulls never double count. Uploaded files leave both NULL. One sample per (workflow,
-- source_record_id) is the write path's rule (``aiops.ingest.replacing``: a pull's ids are distinct
-- and its commit deletes the earlier samples of those ids, under the one write lock), not a unique
-- index: DuckDB's index cost 0.5-0.75 s per 100,000 pulled rows, more than half a CSV import's time.
ALTER TABLE timing_samples ADD COLUMN source_id BIGINT;
ALTER TABLE timing_samples ADD COLUMN source_record_id VARCHAR;

-- Samples a later pull replaced, kept with the batch that replaced them: undoing that batch puts
-- them back (unless their own batch was undone too).
CREATE TABLE replaced_samples (
    replaced_by      BIGINT NOT NULL,
    batch_id         BIGINT NOT NULL,
    workflow_id      VARCHAR NOT NULL,
    phase            VARCHAR NOT NULL,
    measured_at      TIMESTAMP NOT NULL,
    duration_minutes DOUBLE NOT NULL,
    loops            BIGINT NOT NULL,
    rework_minutes   DOUBLE NOT NULL,
    time_kind        VARCHAR NOT NULL,
    ai_assisted      BOOLEAN,
    segment          VARCHAR,
    source_id        BIGINT,
    source_record_id VARCHAR
);
