"""Timing rows to cells, in SQL: one row per workflow, phase, week, AI-assisted flag and segment.

Before aggregating, two sample-level checks run here because they need every row (outliers first, so
that a stray 60-day loop cannot trigger the censoring restriction):
- outliers: a row whose minutes per loop lie more than ``outlier_fence`` robust standard deviations
  (1.4826 x MAD of the log) above its phase's median is left out. On a log scale a lognormal loop
  time is normal, so on clean data the fence (6 sd, wide because a MAD from 20 rows is noisy) drops
  about one row in a billion: the mean is not biased; a 60-day ticket among 30-minute loops sits
  ~10 sd out and is dropped;
- censoring: when the longest loop is longer than a working day (``long_loop_hours``) and exceeds
  ``censor_fraction`` of the shorter phase window (first to last loop of a phase), only loops that
  had the same time (``horizon``, half the shorter window) to finish in both phases are kept:
  started at least ``horizon`` before the phase's end (go-live, or the export's last loop),
  after-loops started after go-live, and no longer than ``horizon``. When the horizon is shorter
  than four typical (median) loops the restriction would leave little to compare: the workflow is
  only flagged.
Cells carry sums (n, loops, minutes, cross products) so phase means, their ratio-estimator variances
and weekly means are all exact sums of cells.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from aiops.policy import EvidenceRules
from aiops.store import Reader

RESTRICT_TYPICAL = 4

CELLS = """
WITH s AS (
    SELECT t.workflow_id, t.phase, t.measured_at, t.loops, t.ai_assisted, t.segment,
           t.time_kind = 'elapsed' AS elapsed,
           t.duration_minutes + t.rework_minutes AS minutes, t.rework_minutes,
           (t.duration_minutes + t.rework_minutes) / t.loops AS per_loop,
           epoch(t.measured_at) / 60.0 AS end_minute
    FROM timing_samples t
    WHERE CAST($end AS TIMESTAMP) IS NULL OR t.measured_at < CAST($end AS TIMESTAMP)
),
fence AS (
    SELECT workflow_id, phase, count(*) AS raw_samples, median(per_loop) AS median_per_loop,
           CASE WHEN mad(ln(greatest(per_loop, 1e-6))) > 0
                THEN ln(greatest(median(per_loop), 1e-6))
                     + $outlier_fence * 1.4826 * mad(ln(greatest(per_loop, 1e-6))) END AS log_upper
    FROM s GROUP BY workflow_id, phase
),
fenced AS (
    SELECT s.* FROM s JOIN fence f USING (workflow_id, phase)
    WHERE f.log_upper IS NULL OR ln(greatest(s.per_loop, 1e-6)) <= f.log_upper
),
bounds AS (
    SELECT workflow_id,
           max(end_minute) FILTER (WHERE phase = 'before') AS go_live,
           max(end_minute) FILTER (WHERE phase = 'before')
               - min(end_minute) FILTER (WHERE phase = 'before') AS window_before,
           max(end_minute) FILTER (WHERE phase = 'after')
               - min(end_minute) FILTER (WHERE phase = 'after') AS window_after,
           max(end_minute) AS last_end,
           max(per_loop) AS longest
    FROM fenced GROUP BY workflow_id
),
horizon AS (
    SELECT b.*, CASE WHEN least(window_before, window_after) > 0 AND longest > $long_minutes
                      AND longest > $censor_fraction * least(window_before, window_after)
                     THEN least(window_before, window_after) / 2 END AS horizon,
           m.typical
    FROM bounds b
    JOIN (SELECT workflow_id, max(median_per_loop) AS typical FROM fence GROUP BY workflow_id) m
    USING (workflow_id)
),
windowed AS (
    SELECT s.* FROM fenced s JOIN horizon h USING (workflow_id)
    WHERE h.horizon IS NULL OR h.horizon < $restrict_typical * h.typical
       OR (s.per_loop <= h.horizon
           AND s.end_minute - s.per_loop + h.horizon
               <= CASE WHEN s.phase = 'before' THEN h.go_live ELSE h.last_end END
           AND (s.phase = 'before' OR s.end_minute - s.per_loop >= h.go_live))
),
cells AS (
    SELECT workflow_id, phase, date_trunc('week', measured_at) AS week, ai_assisted, segment,
           count(*) AS samples, sum(loops) AS loops, sum(minutes) AS minutes,
           sum(rework_minutes) AS rework_minutes,
           sum(minutes * minutes) AS syy, sum(minutes * loops) AS sxy, sum(loops * loops) AS sxx,
           max(minutes) AS largest,
           min(measured_at) AS first_measured, max(measured_at) AS last_measured,
           coalesce(sum(loops) FILTER (WHERE CAST($start AS TIMESTAMP) IS NULL
                                        OR measured_at >= CAST($start AS TIMESTAMP)), 0) AS period_loops,
           coalesce(sum(loops) FILTER (WHERE measured_at >= CAST($recent_start AS TIMESTAMP)
                                        AND measured_at < CAST($recent_end AS TIMESTAMP)), 0) AS recent_loops,
           bool_or(elapsed) AS elapsed,
           coalesce(sum(loops) FILTER (WHERE per_loop > $long_minutes), 0) AS long_loops
    FROM windowed GROUP BY workflow_id, phase, week, ai_assisted, segment
)
SELECT c.*, f.median_per_loop, f.raw_samples, h.horizon IS NOT NULL AS censored
FROM cells c JOIN fence f USING (workflow_id, phase) JOIN horizon h USING (workflow_id)
"""


def load_cells(
    db: Reader,
    rules: EvidenceRules,
    start: datetime | None,
    end: datetime | None,
    recent: tuple[datetime, datetime],
) -> pd.DataFrame:
    """Cells for timing rows before ``end``; ``period_loops`` count rows from ``start``, and
    ``recent_loops`` rows in the half-open run-rate window ``recent``."""
    params = {
        "start": start,
        "end": end,
        "recent_start": recent[0],
        "recent_end": recent[1],
        "censor_fraction": rules.censor_fraction,
        "outlier_fence": rules.outlier_fence,
        "long_minutes": rules.long_loop_hours * 60,
        "restrict_typical": RESTRICT_TYPICAL,
    }
    return db.query_df(CELLS, params)
