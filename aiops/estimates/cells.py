"""Timing rows to cells, in SQL: one row per workflow, phase, week, AI-assisted flag and segment.

Before aggregating, two sample-level checks run here because they need every row (outliers first, so
that a stray 60-day loop cannot trigger the censoring restriction):
- outliers: a row whose minutes per loop lie more than ``outlier_fence`` robust standard deviations
  (the interquartile range of the log / 1.349) above its phase's median is left out. On a log
  scale a lognormal loop time is normal, so on clean data the fence (6 sd, wide because quartiles
  from 20 rows are noisy) drops about one row in a billion: the mean is not biased; a 60-day ticket
  among 30-minute loops sits ~10 sd out and is dropped. A row longer than a working day is left out
  from ``long_outlier_fence`` (4.5) sd: a timer left running for two days in a 30-minute workflow;
- censoring: when the longest loop is longer than a working day (``long_loop_hours``) and exceeds
  ``censor_fraction`` of the shorter phase window (the baseline's first start to its last close; the
  after phase's follow-up, go-live to the export's end), only loops that had the same time
  (``horizon``, half that window) to finish are kept in both phases: no longer than ``horizon``, and
  started at least ``horizon`` before their phase's observation ended (a baseline loop: the last
  baseline close, so a split by start date keeps baseline loops that closed after go-live; an after
  loop: the export's end). When the horizon is shorter than four typical (median) loops the
  restriction would leave little to compare, or when it would leave a phase fewer loops than
  ``min_samples_per_phase``: the workflow is only flagged. Each phase's loops left
  out as outliers or out of the window are counted, so the figure can say what it lost and why.
Cells carry sums (n, loops, minutes, cross products) so phase means, their ratio-estimator variances
and weekly means are all exact sums of cells.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from aiops.policy import EvidenceRules
from aiops.store import Reader, pending

RESTRICT_TYPICAL = 4

# What one cell sums from its rows (two places below: see ``cells``).
CELL_SUMS = """
           count(*) AS samples, sum(loops) AS loops, sum(minutes) AS minutes,
           sum(rework_minutes) AS rework_minutes,
           sum(minutes * minutes) AS syy, sum(minutes * loops) AS sxy, sum(loops * loops) AS sxx,
           max(minutes) AS largest,
           min(measured_at) AS first_measured, max(measured_at) AS last_measured,
           coalesce(sum(loops) FILTER (WHERE CAST($start AS TIMESTAMP) IS NULL
                                        OR measured_at >= CAST($start AS TIMESTAMP)), 0) AS period_loops,
           coalesce(sum(loops) FILTER (WHERE recent), 0) AS recent_loops,
           bool_or(current) AS current,
           bool_or(elapsed) AS elapsed,
           coalesce(sum(loops) FILTER (WHERE per_loop > $long_minutes), 0) AS long_loops"""

# Two passes over the rows, never a copy of them: the first gives each phase's quartiles and span,
# the second flags each row (outlier, out of the window) and sums the cells split by those flags;
# everything between and after is per workflow or per cell. DuckDB's common-subplan optimizer copies
# rows that two passes read alike when they come from a join (two base relations), so ``samples`` is
# one table where it can be (``pending.committed_rows``) and the scope a filter, not a semi-join.
CELLS = """
WITH s0 AS NOT MATERIALIZED (
    SELECT t.workflow_id, t.phase, t.measured_at, t.loops, t.ai_assisted, t.segment,
           t.time_kind = 'elapsed' AS elapsed,
           t.duration_minutes + t.rework_minutes AS minutes, t.rework_minutes,
           (t.duration_minutes + t.rework_minutes) / t.loops AS per_loop,
           epoch(t.measured_at) / 60.0 AS end_minute
    FROM {samples} t
    WHERE (CAST($end AS TIMESTAMP) IS NULL OR t.measured_at < CAST($end AS TIMESTAMP))
      -- A function, not a join: a second relation under each read of the rows makes DuckDB copy them.
      AND ($scope IS NULL OR list_contains($scope, t.workflow_id))
),
phase_bounds AS (
    SELECT workflow_id, phase, count(*) AS raw_samples,
           quantile_cont(per_loop, [0.25, 0.5, 0.75]) AS q,
           max(per_loop) AS longest, min(end_minute - per_loop) AS first_start, max(end_minute) AS last_end,
           max(measured_at) AS last_raw,
           -- Loops done count whether or not they enter the estimate (outliers, censoring).
           coalesce(sum(loops) FILTER (WHERE CAST($start AS TIMESTAMP) IS NULL
                                        OR measured_at >= CAST($start AS TIMESTAMP)), 0)
               AS phase_period_loops
    FROM s0 GROUP BY workflow_id, phase
),
window_ AS (
    -- Each workflow's run-rate window ends at the end of its own last complete week of data when that
    -- is earlier than the view's: a late export's run rate covers the weeks it has, not empty ones.
    SELECT workflow_id,
           least(CAST($recent_end AS TIMESTAMP),
                 CAST(date_trunc('week', CAST(max(last_raw) AS DATE) + 1) AS TIMESTAMP)) AS recent_end
    FROM phase_bounds GROUP BY workflow_id
),
fence AS (
    -- Robust sd of the log: the interquartile range of the log over 1.349 (normal: 1 sd). A loop is
    -- left out beyond the wide fence, or beyond the long-loop fence when it also lasts longer than a
    -- working day (a timer left running in a workflow of minutes).
    SELECT *, q[2] AS median_per_loop,
           CASE WHEN q[1] > 0 AND q[3] > q[1]
                THEN least(exp(ln(q[2]) + $outlier_fence * (ln(q[3]) - ln(q[1])) / 1.349),
                           greatest($long_minutes,
                                    exp(ln(q[2]) + $long_outlier_fence * (ln(q[3]) - ln(q[1])) / 1.349)))
           END AS upper
    FROM phase_bounds
),
bounds AS (
    -- The after window starts at go-live (the first after loop's start), never at the last close of a
    -- baseline loop; before loops are observed until the last one closed.
    SELECT workflow_id,
           max(last_end) FILTER (WHERE phase = 'before') AS before_end,
           min(first_start) FILTER (WHERE phase = 'after') AS go_live,
           max(last_end) AS export_end,
           max(last_end) FILTER (WHERE phase = 'before') - min(first_start) FILTER (WHERE phase = 'before')
               AS before_window,
           max(last_end) - min(first_start) FILTER (WHERE phase = 'after') AS after_window,
           max(least(longest, coalesce(upper, longest))) AS longest,
           max(median_per_loop) AS typical
    FROM fence GROUP BY workflow_id
),
horizon AS (
    SELECT workflow_id, before_end, go_live, export_end,
           least(before_window, after_window) AS span, longest, typical
    FROM bounds
),
censoring AS (
    SELECT workflow_id, before_end, go_live, export_end,
           span > 0 AND longest > $long_minutes AND longest > $censor_fraction * span AS censored,
           CASE WHEN span > 0 AND longest > $long_minutes AND longest > $censor_fraction * span
                 AND span / 2 >= $restrict_typical * typical THEN span / 2 END AS horizon
    FROM horizon
),
flagged AS NOT MATERIALIZED (
    -- current: from the window's start on (the current saving); recent: inside it (the run rate,
    -- complete weeks only). Every kept loop had ``horizon`` to finish: before loops until the last
    -- baseline close, after loops until the export's end.
    SELECT s0.*, s0.measured_at >= w.recent_end - to_days(CAST($recent_days AS INTEGER)) AS current,
           s0.measured_at >= w.recent_end - to_days(CAST($recent_days AS INTEGER))
               AND s0.measured_at < w.recent_end AS recent,
           f.upper IS NOT NULL AND s0.per_loop > f.upper AS outlier,
           c.horizon IS NOT NULL AND NOT (
               s0.per_loop <= c.horizon
               AND s0.end_minute - s0.per_loop + c.horizon
                   <= CASE WHEN s0.phase = 'before' THEN c.before_end ELSE c.export_end END
           ) AS out_of_window,
           -- Monday-based week number (1970-01-05 was a Monday): an integer key groups faster than a date.
           (epoch(s0.measured_at)::BIGINT - 345600) // 604800 AS week_number
    FROM s0 JOIN window_ w USING (workflow_id) JOIN fence f USING (workflow_id, phase)
    JOIN censoring c USING (workflow_id)
),
split_cells AS (
    -- Every row's cell, apart by its two flags: whether the restriction applies is known only
    -- once the rows it would keep are counted.
    SELECT workflow_id, phase, week_number, ai_assisted, segment, outlier, out_of_window,
           {cell_sums},
           coalesce(sum(loops) FILTER (WHERE recent), 0) AS all_recent_loops
    FROM flagged GROUP BY workflow_id, phase, week_number, ai_assisted, segment, outlier, out_of_window
),
phase_rows AS (
    SELECT workflow_id, phase,
           coalesce(sum(samples) FILTER (WHERE NOT outlier AND NOT out_of_window), 0) AS kept,
           CAST(coalesce(sum(samples) FILTER (WHERE outlier), 0) AS BIGINT) AS outlier_samples,
           CAST(coalesce(sum(samples) FILTER (WHERE out_of_window AND NOT outlier), 0) AS BIGINT)
               AS out_of_window_samples,
           coalesce(sum(all_recent_loops), 0) AS phase_recent_loops
    FROM split_cells GROUP BY workflow_id, phase
),
restrictable AS (
    -- The restriction must leave each phase enough loops to compare; otherwise it is only flagged.
    SELECT workflow_id, count(*) = 2 AND min(kept) >= $min_samples AS restrict
    FROM phase_rows GROUP BY workflow_id
),
unrestricted AS (
    -- Workflows with loops out of the window that stay in (the restriction would leave too few).
    SELECT workflow_id FROM censoring JOIN restrictable USING (workflow_id)
    WHERE horizon IS NOT NULL AND NOT restrict
),
cells AS (
    SELECT * EXCLUDE (outlier, out_of_window, all_recent_loops) FROM split_cells
    WHERE NOT outlier AND NOT out_of_window AND workflow_id NOT IN (SELECT workflow_id FROM unrestricted)
    UNION ALL
    -- Their cells are summed from their rows again (a sum of two cells' sums adds in another order).
    SELECT workflow_id, phase, week_number, ai_assisted, segment, {cell_sums}
    FROM flagged WHERE NOT outlier AND workflow_id IN (SELECT workflow_id FROM unrestricted)
    GROUP BY workflow_id, phase, week_number, ai_assisted, segment
)
SELECT c.* EXCLUDE (week_number),
       TIMESTAMP '1970-01-05' + to_days(CAST(c.week_number * 7 AS INTEGER)) AS week,
       f.median_per_loop, f.q[1] AS q1_per_loop, f.q[3] AS q3_per_loop, f.raw_samples, f.last_raw,
       f.phase_period_loops, p.phase_recent_loops, p.outlier_samples,
       CASE WHEN r.restrict THEN p.out_of_window_samples ELSE 0 END AS censored_samples,
       h.censored, h.horizon IS NOT NULL AND r.restrict AS restricted
FROM cells c JOIN fence f USING (workflow_id, phase) JOIN censoring h USING (workflow_id)
JOIN phase_rows p USING (workflow_id, phase) JOIN restrictable r USING (workflow_id)
""".replace("{cell_sums}", CELL_SUMS.strip())


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
    is the relation the rows come from (the store's readers pass ``committed_samples``, which
    leaves pending uploads out; read as the table itself while none is pending: see
    ``pending.committed_rows``)."""
    if samples == pending.VIEW:
        samples = pending.committed_rows(db)
    params = {
        "scope": scope,
        "start": start,
        "end": end,
        "recent_end": recent[1],
        "recent_days": (recent[1] - recent[0]).days,
        "censor_fraction": rules.censor_fraction,
        "outlier_fence": rules.outlier_fence,
        "long_outlier_fence": rules.long_outlier_fence,
        "long_minutes": rules.long_loop_hours * 60,
        "restrict_typical": RESTRICT_TYPICAL,
        "min_samples": rules.min_samples_per_phase,
    }
    return db.query_df(CELLS.replace("{samples}", samples), params)
