-- Policy versions, stored classifications, and the checkpoint ladder's events.
CREATE TABLE policy_versions (
    version     VARCHAR PRIMARY KEY,
    sha256      VARCHAR NOT NULL,
    source_text VARCHAR NOT NULL,
    applied_at  TIMESTAMP NOT NULL,
    applied_by  VARCHAR NOT NULL
);

CREATE TABLE classifications (
    workflow_id     VARCHAR PRIMARY KEY,
    policy_version  VARCHAR NOT NULL,
    risk            VARCHAR NOT NULL,
    status          VARCHAR NOT NULL,
    stop_conditions VARCHAR[] NOT NULL,
    evidence        VARCHAR NOT NULL,
    detail          JSON NOT NULL,
    classified_at   TIMESTAMP NOT NULL
);

CREATE SEQUENCE checkpoint_event_seq START 1;
CREATE TABLE checkpoint_events (
    event_id    BIGINT PRIMARY KEY DEFAULT nextval('checkpoint_event_seq'),
    workflow_id VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL CHECK (kind IN ('sign_off', 'checkpoint_removed', 'incident')),
    checkpoint  VARCHAR,
    note        VARCHAR NOT NULL DEFAULT '',
    actor       VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
