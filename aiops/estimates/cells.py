"""Timing rows to cells, in SQL: one row per workflow, phase, week, AI-assisted flag and segment.

Before aggregating, two sample-level checks run here because they need every row (outliers first, so
that a stray 60-day loop cannot trigger the censoring restriction):
- outliers: a row whose minutes per loop lie more than ``outlier_fence`` robust standard deviations
  (the interquartile range of the log / 1.349) above its phase's median is left out. On a log
  scale a lognormal loop time is normal, so on clean data the fence (6 sd, wide because quartiles
  from 20 rows are noisy) drops about one row in a billion: the mean is not biased; a 60-day ticket
  among 30-minute loops sits ~10 sd out and is dropped;
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
    FROM {samples} t
    WHERE (CAST($end AS TIMESTAMP) IS NULL OR t.measured_at < CAST($end AS TIMESTAMP))
      AND ($scope IS NULL OR t.workflow_id IN (SELECT unnest($scope)))
),
phase_bounds AS (
    SELECT workflow_id, phase, count(*) AS raw_samples,
           quantile_cont(per_loop, [0.25, 0.5, 0.75]) AS q,
           max(per_loop) AS longest, min(end_minute) AS first_end, max(end_minute) AS last_end,
           -- Loops done count whether or not they enter the estimate (outliers, censoring).
           coalesce(sum(loops) FILTER (WHERE CAST($start AS TIMESTAMP) IS NULL
                                        OR measured_at >= CAST($start AS TIMESTAMP)), 0)
               AS phase_period_loops,
           coalesce(sum(loops) FILTER (WHERE measured_at >= CAST($recent_start AS TIMESTAMP)
                                        AND measured_at < CAST($recent_end AS TIMESTAMP)), 0)
               AS phase_recent_loops
    FROM s GROUP BY workflow_id, phase
),
fence AS (
    -- Robust sd of the log: the interquartile range of the log over 1.349 (normal: 1 sd).
    SELECT *, q[2] AS median_per_loop,
           CASE WHEN q[1] > 0 AND q[3] > q[1]
                THEN exp(ln(q[2]) + $outlier_fence * (ln(q[3]) - ln(q[1])) / 1.349) END AS upper
    FROM phase_bounds
),
bounds AS (
    SELECT workflow_id,
           max(last_end) FILTER (WHERE phase = 'before') AS go_live,
           max(last_end) AS export_end,
           least(max(last_end - first_end) FILTER (WHERE phase = 'before'),
                 max(last_end - first_end) FILTER (WHERE phase = 'after')) AS span,
           max(least(longest, coalesce(upper, longest))) AS longest,
           max(median_per_loop) AS typical
    FROM fence GROUP BY workflow_id
),
horizon AS (
    SELECT workflow_id, go_live, export_end,
           span > 0 AND longest > $long_minutes AND longest > $censor_fraction * span AS censored,
           CASE WHEN span > 0 AND longest > $long_minutes AND longest > $censor_fraction * span
                 AND span / 2 >= $restrict_typical * typical THEN span / 2 END AS horizon
    FROM bounds
),
limits AS (
    SELECT f.workflow_id, f.phase, f.upper, h.horizon, h.censored,
           CASE WHEN f.phase = 'before' THEN h.go_live ELSE h.export_end END AS phase_end,
           CASE WHEN f.phase = 'before' THEN -1e300 ELSE h.go_live END AS phase_start
    FROM fence f JOIN horizon h USING (workflow_id)
),
kept AS (
    SELECT s.* FROM s JOIN limits l USING (workflow_id, phase)
    WHERE (l.upper IS NULL OR s.per_loop <= l.upper)
      AND (l.horizon IS NULL
           OR (s.per_loop <= l.horizon AND s.end_minute - s.per_loop + l.horizon <= l.phase_end
               AND s.end_minute - s.per_loop >= l.phase_start))
),
cells AS (
    -- Monday-based week number (1970-01-05 was a Monday): an integer key groups faster than a date.
    SELECT workflow_id, phase, (epoch(measured_at)::BIGINT - 345600) // 604800 AS week_number,
           ai_assisted, segment,
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
    FROM kept GROUP BY workflow_id, phase, week_number, ai_assisted, segment
)
SELECT c.* EXCLUDE (week_number),
       TIMESTAMP '1970-01-05' + to_days(CAST(c.week_number * 7 AS INTEGER)) AS week,
       f.median_per_loop, f.raw_samples, f.phase_period_loops, f.phase_recent_loops, h.censored
FROM cells c JOIN fence f USING (workflow_id, phase) JOIN horizon h USING (workflow_id)
"""


def load_cells(
    db: Reader,
    rules: EvidenceRules,
    start: datetime | None,
    end: datetime | None,
    recent: tuple[datetime, datetime],
    scope: list[str] | None = None,
    samples: str = "timing_samples",
) -> pd.DataFrame:
    """Cells for timing rows before ``end``; ``period_loops`` count rows from ``start``, and
    ``recent_loops`` rows in the half-open run-rate window ``recent``. Only the workflows in
    ``scope`` when it is given (each workflow's cells depend on its own rows alone). ``samples``
    is the table (or parenthesised query) the rows come from: an upload classifies with its own
    rows before they are copied into ``timing_samples`` (see ``governance.reclassify``)."""
    params = {
        "scope": scope,
        "start": start,
        "end": end,
        "recent_start": recent[0],
        "recent_end": recent[1],
        "censor_fraction": rules.censor_fraction,
        "outlier_fence": rules.outlier_fence,
        "long_minutes": rules.long_loop_hours * 60,
        "restrict_typical": RESTRICT_TYPICAL,
    }
    return db.query_df(CELLS.replace("{samples}", samples), params)
