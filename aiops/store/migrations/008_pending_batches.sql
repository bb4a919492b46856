-- Pending uploads: a previewed upload's rows are written when it is previewed, as a batch no read
-- sees, so that Confirm only flips it (deletes its row here) instead of copying every row. Every
-- read of timing rows goes through committed_samples; pending batches left by a cancelled
-- preview, a closed session or a crash are removed at the next start (see aiops.store.pending).
CREATE TABLE pending_batches (
    batch_id   BIGINT PRIMARY KEY,
    owner      VARCHAR NOT NULL,
    actor      VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE VIEW committed_samples AS
SELECT batch_id, workflow_id, phase, measured_at, duration_minutes, loops, rework_minutes,
       time_kind, ai_assisted, segment
FROM timing_samples
WHERE batch_id NOT IN (SELECT batch_id FROM pending_batches);
