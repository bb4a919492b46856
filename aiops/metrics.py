"""Saved-loops metrics with honest statistics, aggregated in SQL.

Per workflow and phase, SQL returns the samples (rows), loops, minutes per loop (after includes
rework) and the variance of that mean. A row may aggregate several loops, so the mean per loop is a
ratio estimator (total minutes / total loops) with its cluster variance
``sum((y - R x)^2) / (n (n - 1) xbar^2)``; for one loop per row this is exactly ``s^2 / n``.
The saving is a difference of means with a Welch interval; totals add variances and use the
Welch-Satterthwaite degrees of freedom. Before/after is observational, and every figure keeps its n.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from scipy.special import stdtrit

from aiops.period import Period
from aiops.policy import EvidenceRules
from aiops.store import Reader

EVIDENCE_LABELS = ("insufficient", "inconclusive", "saving", "slower")
EVIDENCE_HELP = {
    "insufficient": "too few samples in a phase to say anything",
    "inconclusive": "the 95% interval of the saving includes zero",
    "saving": "the whole 95% interval is a saving",
    "slower": "the whole 95% interval is a slowdown: AI made this loop slower",
}


_PHASE_STATS = """
WITH s AS (
    SELECT t.workflow_id, t.phase, t.loops, t.measured_at,
           t.duration_minutes + t.rework_minutes AS minutes, t.rework_minutes
    FROM timing_samples t
    WHERE (CAST(? AS TIMESTAMP) IS NULL OR t.measured_at < CAST(? AS TIMESTAMP))
),
agg AS (
    SELECT workflow_id, phase,
           count(*) AS samples,
           sum(loops) AS loops,
           sum(minutes) AS minutes,
           sum(rework_minutes) AS rework_minutes,
           sum(minutes) / sum(loops) AS mean_per_loop,
           median(minutes / loops) AS median_per_loop,
           min(measured_at) AS first_measured,
           max(measured_at) AS last_measured,
           sum(loops) FILTER (WHERE CAST(? AS TIMESTAMP) IS NULL
                               OR measured_at >= CAST(? AS TIMESTAMP)) AS period_loops,
           sum(loops) FILTER (WHERE measured_at >= CAST(? AS TIMESTAMP)
                               AND measured_at < CAST(? AS TIMESTAMP)) AS recent_loops,
           sum(minutes * minutes) AS syy, sum(minutes * loops) AS sxy, sum(loops * loops) AS sxx
    FROM s GROUP BY workflow_id, phase
)
-- One pass: sum((y - R x)^2) = syy - 2 R sxy + R^2 sxx (clamped: rounding can dip below 0).
SELECT * EXCLUDE (syy, sxy, sxx),
       CASE WHEN samples > 1
            THEN greatest(syy - 2 * mean_per_loop * sxy + mean_per_loop ^ 2 * sxx, 0)
                 / (samples * (samples - 1) * (loops / samples) ^ 2) END AS var_mean
FROM agg
"""

_WORKFLOWS = """
SELECT w.workflow_id, w.name, w.department, w.owner,
       coalesce(c.risk, 'unclassified') AS risk, coalesce(c.status, 'unclassified') AS status,
       coalesce(c.stop_conditions, []) AS stop_conditions
FROM workflows w LEFT JOIN classifications c USING (workflow_id)
"""

_PHASE_COLUMNS = [
    "samples",
    "loops",
    "minutes",
    "rework_minutes",
    "mean_per_loop",
    "median_per_loop",
    "first_measured",
    "last_measured",
    "period_loops",
    "recent_loops",
    "var_mean",
]


def _t_quantile(df: np.ndarray | float, level: float) -> np.ndarray:
    return stdtrit(np.asarray(df, dtype=float), 0.5 + level / 2)


def workflow_metrics(
    db: Reader,
    rules: EvidenceRules,
    period: Period = Period(),
    as_of: datetime | None = None,
) -> pd.DataFrame:
    """One row per workflow: samples and loops per phase, the saving with its interval and evidence,
    loops removed, hours returned in the period and per week (run rate), freshness."""
    start, end = period.bounds()
    # The run rate looks back from the period's end, or from ``as_of`` (the read model passes the
    # end of the last complete week of data) when that is earlier.
    now = as_of or datetime.now()
    run_rate_end = min(end, now) if end else now
    recent_start = run_rate_end - timedelta(weeks=rules.run_rate_weeks)
    phases = db.query_df(_PHASE_STATS, [end, end, start, start, recent_start, run_rate_end])
    frame = db.query_df(_WORKFLOWS)
    for phase in ("before", "after"):
        part = phases[phases.phase == phase].drop(columns="phase").set_index("workflow_id")
        part = part.reindex(columns=_PHASE_COLUMNS).add_suffix(f"_{phase}")
        frame = frame.join(part, on="workflow_id")
    return _finish(frame, rules)


def _finish(f: pd.DataFrame, rules: EvidenceRules) -> pd.DataFrame:
    for col in ("samples", "loops", "period_loops", "recent_loops"):
        for phase in ("before", "after"):
            f[f"{col}_{phase}"] = f[f"{col}_{phase}"].fillna(0).astype("int64")
    mb, ma = f.mean_per_loop_before.astype(float), f.mean_per_loop_after.astype(float)
    vb, va = f.var_mean_before.astype(float), f.var_mean_after.astype(float)
    nb, na = f.samples_before, f.samples_after
    f["saved_per_loop"] = mb - ma
    se = np.sqrt(vb + va)
    dof = (vb + va) ** 2 / (vb**2 / (nb - 1).clip(lower=1) + va**2 / (na - 1).clip(lower=1))
    half = np.where(se > 0, _t_quantile(dof.fillna(1.0), rules.interval_level) * se, 0.0)
    half = np.where(np.isnan(se), np.nan, half)
    f["saved_dof"] = np.where(se > 0, dof, np.inf)
    f["saved_low"] = f.saved_per_loop - half
    f["saved_high"] = f.saved_per_loop + half
    f["evidence"] = _evidence_labels(f, rules)
    period_after = f.period_loops_after
    t = np.where(se > 0, _t_quantile(dof.fillna(1.0), rules.interval_level), 0.0)
    f["hours_returned"] = f.saved_per_loop * period_after / 60
    f["hours_var"] = (se * period_after / 60) ** 2
    f["hours_returned_low"] = f.hours_returned - t * np.sqrt(f.hours_var)
    f["hours_returned_high"] = f.hours_returned + t * np.sqrt(f.hours_var)
    f["hours_per_week"] = f.saved_per_loop * f.recent_loops_after / 60 / rules.run_rate_weeks
    # Loops removed = after loops x (1 - after/before); delta-method variance of the ratio.
    ratio = ma / mb
    f["loops_removed"] = period_after * (1 - ratio)
    f["loops_removed_var"] = (period_after * ratio) ** 2 * (va / ma**2 + vb / mb**2)
    f["loops_removed_low"] = f.loops_removed - t * np.sqrt(f.loops_removed_var)
    f["loops_removed_high"] = f.loops_removed + t * np.sqrt(f.loops_removed_var)
    f["last_measured"] = f[["last_measured_before", "last_measured_after"]].max(axis=1)
    f["baseline_until"] = f.last_measured_before
    return f


def _evidence_labels(f: pd.DataFrame, rules: EvidenceRules) -> pd.Series:
    few = (f.samples_before < rules.min_samples_per_phase) | (f.samples_after < rules.min_samples_per_phase)
    label = np.select(
        [few | f.saved_low.isna(), f.saved_low > 0, f.saved_high < 0],
        ["insufficient", "saving", "slower"],
        default="inconclusive",
    )
    return pd.Series(label, index=f.index)


def total_with_interval(
    values: pd.Series,
    variances: pd.Series,
    dofs: pd.Series,
    level: float,
) -> tuple[float, float, float]:
    """Sum of estimates with the interval of the sum (variances add; Satterthwaite dof)."""
    total, var_total = float(values.sum()), float(variances.sum())
    if var_total == 0:
        return total, total, total
    finite_dofs = dofs.replace(np.inf, 1e9).to_numpy()
    dof_total = var_total**2 / float(np.sum(variances.to_numpy() ** 2 / finite_dofs))
    half = float(_t_quantile(dof_total, level)) * np.sqrt(var_total)
    return total, total - half, total + half


def rollup(metrics: pd.DataFrame, by: str | None, level: float) -> pd.DataFrame:
    """Totals per ``by`` (e.g. department) or for the company (``by=None``).

    Workflows with insufficient evidence are counted but not summed: they have no interval.
    """
    groups = metrics.groupby(by, sort=True) if by else [("company", metrics)]
    rows = []
    for key, group in groups:
        usable = group[group.evidence != "insufficient"]
        hours = total_with_interval(usable.hours_returned, usable.hours_var, usable.saved_dof, level)
        loops = total_with_interval(usable.loops_removed, usable.loops_removed_var, usable.saved_dof, level)
        rows.append(
            {
                by or "scope": key,
                "workflows": len(group),
                "workflows_with_evidence": len(usable),
                "hours_returned": hours[0],
                "hours_returned_low": hours[1],
                "hours_returned_high": hours[2],
                "hours_per_week": float(usable.hours_per_week.sum()),
                "loops_removed": loops[0],
                "loops_removed_low": loops[1],
                "loops_removed_high": loops[2],
                "samples_before": int(group.samples_before.sum()),
                "samples_after": int(group.samples_after.sum()),
                "after_loops": int(group.period_loops_after.sum()),
                **{f"evidence_{label}": int((group.evidence == label).sum()) for label in EVIDENCE_LABELS},
                "open_stop_conditions": int(group.stop_conditions.map(len).sum()),
                "paused": int((group.status == "paused").sum()),
                "last_measured": group.last_measured.max(),
            }
        )
    return pd.DataFrame(rows)


_WEEKLY = """
SELECT t.workflow_id, w.department, date_trunc('week', t.measured_at) AS week, t.phase,
       count(*) AS samples, sum(t.loops) AS loops,
       sum(t.duration_minutes + t.rework_minutes) / sum(t.loops) AS mean_per_loop
FROM timing_samples t JOIN workflows w USING (workflow_id)
WHERE (CAST(? AS TIMESTAMP) IS NULL OR t.measured_at >= CAST(? AS TIMESTAMP))
  AND (CAST(? AS TIMESTAMP) IS NULL OR t.measured_at < CAST(? AS TIMESTAMP))
GROUP BY ALL
"""


def weekly_series(db: Reader, metrics: pd.DataFrame, period: Period = Period()) -> pd.DataFrame:
    """Per workflow and week: samples, loops and minutes per loop by phase, and hours returned
    (after loops that week times the workflow's saving per loop, with its interval)."""
    start, end = period.bounds()
    weeks = db.query_df(_WEEKLY, [start, start, end, end])
    saving = metrics.set_index("workflow_id")[["saved_per_loop", "saved_low", "saved_high", "evidence"]]
    weeks = weeks.join(saving, on="workflow_id")
    after = weeks.phase == "after"
    for col, src in (
        ("hours_returned", "saved_per_loop"),
        ("hours_returned_low", "saved_low"),
        ("hours_returned_high", "saved_high"),
    ):
        weeks[col] = np.where(after, weeks[src] * weeks.loops / 60, 0.0)
    return weeks.sort_values(["week", "workflow_id", "phase"]).reset_index(drop=True)


_FRESHNESS = """
WITH per_workflow AS (
    SELECT workflow_id, max(measured_at) AS last_measured,
           max(measured_at) FILTER (WHERE phase = 'before') AS baseline_until
    FROM timing_samples GROUP BY workflow_id
),
uploads AS (
    SELECT unnest(workflow_ids) AS workflow_id, batch_id, uploaded_at
    FROM upload_batches WHERE undone_at IS NULL
)
SELECT w.department,
       max(u.uploaded_at) AS last_upload,
       max(p.last_measured) AS last_measured,
       max(p.baseline_until) AS baseline_until,
       count(DISTINCT u.batch_id) AS uploads,
       count(DISTINCT w.workflow_id) AS workflows,
       count(DISTINCT w.workflow_id) FILTER (WHERE p.baseline_until IS NOT NULL) AS with_baseline
FROM workflows w
LEFT JOIN per_workflow p USING (workflow_id)
LEFT JOIN uploads u USING (workflow_id)
GROUP BY w.department ORDER BY w.department
"""


def freshness(db: Reader) -> pd.DataFrame:
    """Per department: the last upload, the last loop measured, and until when the baseline runs.
    (Samples are aggregated per workflow first: no join over every timing row.)"""
    return db.query_df(_FRESHNESS)
