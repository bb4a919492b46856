-- Upload batches, their timing samples, and saved column mappings.
CREATE SEQUENCE batch_seq START 1;
CREATE TABLE upload_batches (
    batch_id     BIGINT PRIMARY KEY DEFAULT nextval('batch_seq'),
    uploaded_at  TIMESTAMP NOT NULL,
    actor        VARCHAR NOT NULL,
    file_name    VARCHAR NOT NULL,
    file_sha256  VARCHAR NOT NULL,
    workflow_ids VARCHAR[] NOT NULL,
    mapping      JSON NOT NULL,
    rows_total   BIGINT NOT NULL,
    accepted     BIGINT NOT NULL,
    rejected     BIGINT NOT NULL,
    undone_at    TIMESTAMP,
    undone_by    VARCHAR
);

CREATE TABLE timing_samples (
    batch_id         BIGINT NOT NULL,
    workflow_id      VARCHAR NOT NULL,
    phase            VARCHAR NOT NULL CHECK (phase IN ('before', 'after')),
    measured_at      TIMESTAMP NOT NULL,
    duration_minutes DOUBLE NOT NULL CHECK (duration_minutes >= 0),
    loops            BIGINT NOT NULL CHECK (loops >= 1),
    rework_minutes   DOUBLE NOT NULL CHECK (rework_minutes >= 0)
);

CREATE TABLE mapping_presets (
    name       VARCHAR PRIMARY KEY,
    mapping    JSON NOT NULL,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL
);
