-- Measurement designs (issue 11): what kind of time a loop is, whether the AI helped, its segment,
-- a one-phase upload, and a comparison workflow. Existing rows read as hands-on time, unrecorded.
ALTER TABLE timing_samples ADD COLUMN time_kind VARCHAR DEFAULT 'hands_on';
UPDATE timing_samples SET time_kind = 'hands_on' WHERE time_kind IS NULL;
ALTER TABLE timing_samples ALTER COLUMN time_kind SET NOT NULL;
ALTER TABLE timing_samples ADD COLUMN ai_assisted BOOLEAN;
ALTER TABLE timing_samples ADD COLUMN segment VARCHAR;

ALTER TABLE upload_batches ADD COLUMN time_kind VARCHAR DEFAULT 'hands_on';
UPDATE upload_batches SET time_kind = 'hands_on' WHERE time_kind IS NULL;
ALTER TABLE upload_batches ALTER COLUMN time_kind SET NOT NULL;
ALTER TABLE upload_batches ADD COLUMN phase_only VARCHAR;

ALTER TABLE workflows ADD COLUMN comparison_workflow_id VARCHAR;
