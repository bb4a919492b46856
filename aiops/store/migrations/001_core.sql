-- Workflows (the inventory) and the append-only audit log.
CREATE TABLE workflows (
    workflow_id        VARCHAR PRIMARY KEY,
    name               VARCHAR NOT NULL,
    department         VARCHAR NOT NULL,
    manual_process     VARCHAR NOT NULL DEFAULT '',
    data_touched       VARCHAR[] NOT NULL DEFAULT [],
    changes            VARCHAR[] NOT NULL DEFAULT [],
    customer_impact    VARCHAR NOT NULL DEFAULT '',
    expected_output    VARCHAR NOT NULL DEFAULT '',
    owner              VARCHAR NOT NULL DEFAULT '',
    reviewer           VARCHAR NOT NULL DEFAULT '',
    review_requirement VARCHAR NOT NULL DEFAULT '',
    success_metric     VARCHAR NOT NULL DEFAULT '',
    "trigger"          VARCHAR NOT NULL DEFAULT '',
    acceptable_output  VARCHAR NOT NULL DEFAULT '',
    failure_plan       VARCHAR NOT NULL DEFAULT '',
    failure_detection  VARCHAR NOT NULL DEFAULT '',
    checkpoints        VARCHAR[] NOT NULL DEFAULT [],
    signed_off_by      VARCHAR NOT NULL DEFAULT '',
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);

CREATE SEQUENCE audit_seq START 1;
CREATE TABLE audit_log (
    audit_id    BIGINT PRIMARY KEY DEFAULT nextval('audit_seq'),
    recorded_at TIMESTAMP NOT NULL,
    actor       VARCHAR NOT NULL,
    action      VARCHAR NOT NULL,
    entity      VARCHAR NOT NULL,
    entity_id   VARCHAR,
    detail      JSON
);
