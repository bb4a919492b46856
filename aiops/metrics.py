"""Saved-loops metrics with honest statistics.

SQL (``aiops.estimates.cells``) aggregates timing rows to cells per workflow, phase and week; the
phase means are ratio estimators (total minutes / total loops) with their cluster variance
``sum((y - R x)^2) / (n (n - 1) xbar^2)`` (for one loop per row exactly ``s^2 / n``).
``aiops.estimates`` chooses each workflow's design (concurrent, comparison, trend_adjusted, or the
unadjusted before_after difference with a Welch interval) and its warnings; hours returned and loops
removed use the design's saving. Totals add variances and use Welch-Satterthwaite degrees of
freedom. Elapsed-time workflows report cycle time in days and never add hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from aiops.clock import utcnow
from aiops.columns import ESTIMATE, PHASES, Kind, declared
from aiops.estimates import estimate, load_cells
from aiops.estimates.cache import Window, cached, inputs_keys
from aiops.estimates.codes import Design, EvidenceLabel, WarningCode, is_proven
from aiops.estimates.fit import Coef, Interval
from aiops.estimates.record import Estimate
from aiops.period import Period
from aiops.policy import EvidenceRules
from aiops.store import Reader, Store
from aiops.student_t import t_quantile

RECORD_COLUMNS = (*PHASES, *ESTIMATE)

MINUTES_PER_DAY = 24 * 60

EVIDENCE_HELP: dict[str, str] = {
    EvidenceLabel.INSUFFICIENT: "too few samples in a phase to say anything",
    EvidenceLabel.INCONCLUSIVE: "a 95% interval of the saving (now, or over the period) includes zero",
    EvidenceLabel.SAVING: "the whole 95% interval is a saving, now and over the period",
    EvidenceLabel.SLOWER: (
        "the whole 95% interval is a slowdown, now and over the period: AI made this loop slower"
    ),
}


# What a workflow's classification says, as every frame reads it (``c``: its classification row).
CLASSIFIED = """coalesce(c.risk, 'unclassified') AS risk, coalesce(c.status, 'unclassified') AS status,
       coalesce(c.stop_conditions, []) AS stop_conditions"""

_WORKFLOWS = f"""
SELECT w.workflow_id, w.name, w.department, w.owner, w.comparison_workflow_id, {CLASSIFIED}
FROM workflows w LEFT JOIN classifications c USING (workflow_id)
WHERE $scope IS NULL OR w.workflow_id IN (SELECT unnest($scope))
"""


def _t_quantile(df: np.ndarray | float, level: float) -> np.ndarray:
    # Not scipy's stdtrit: a read (the company summary) would import scipy.special for it alone.
    return t_quantile(0.5 + level / 2, df)


def workflow_metrics(
    db: Reader,
    rules: EvidenceRules,
    period: Period = Period(),
    as_of: datetime | None = None,
    workflow_ids: list[str] | None = None,
    samples: str = "committed_samples",
) -> pd.DataFrame:
    """One row per workflow (or per workflow in ``workflow_ids``): samples and loops per phase, the
    saving with its design, warnings, interval and evidence, loops removed, hours returned in the
    period and per week (run rate), cycle-time change for elapsed-time workflows, freshness."""
    window = estimate_window(rules, period, as_of, samples)
    frame = db.query_df(_WORKFLOWS, {"scope": workflow_ids})
    comparisons = frame.dropna(subset=["comparison_workflow_id"])
    comparisons = dict(zip(comparisons.workflow_id, comparisons.comparison_workflow_id, strict=True))
    records = estimates(db, rules, window, comparisons, workflow_ids)
    frame = frame.join(record_frame(records), on="workflow_id")
    return _finish(frame, rules)


def estimate_window(
    rules: EvidenceRules,
    period: Period = Period(),
    as_of: datetime | None = None,
    samples: str = "committed_samples",
) -> Window:
    """What the estimates of ``period`` read. The run rate looks back from the period's end, or
    from ``as_of`` (the read model passes the end of the last complete week of data) when that is
    earlier."""
    start, end = period.bounds()
    now = as_of or utcnow()
    return Window(start, end, min(end, now) if end else now, rules.run_rate_weeks * 7, samples)


def evidence_labels(records: list[Estimate], rules: EvidenceRules) -> list[EvidenceLabel]:
    """Each record's evidence label, as the metrics frame gives it (``_finish``), without the frame:
    what a classification reads after every write."""
    saved = _coef_interval([r.saving for r in records], rules)
    current = _coef_interval([r.current for r in records], rules)
    raw_before = np.array([r.before.raw_samples for r in records], dtype=float)
    raw_after = np.array([r.after.raw_samples for r in records], dtype=float)
    labels = _labels(
        raw_before,
        raw_after,
        current_low=current.low,
        current_high=current.high,
        saved_low=saved.low,
        saved_high=saved.high,
        rules=rules,
    )
    return [EvidenceLabel(label) for label in labels]


def _coef_interval(coefs: list[Coef], rules: EvidenceRules) -> Bounds:
    value, var, dof = ([c.value for c in coefs], [c.var for c in coefs], [c.dof for c in coefs])
    return interval(value, var, dof, rules.interval_level)


def estimates(
    db: Reader, rules: EvidenceRules, window: Window, comparisons: dict[str, str], scope: list[str] | None
) -> list[Estimate]:
    """Every workflow's estimate record (of ``scope``): kept ones as they are, the others computed
    from the cells of their own rows and their comparison workflows' (``aiops.estimates.cache``)."""

    def compute(ids: list[str]) -> list[Estimate]:
        if not ids:  # nothing to read (a workflow without timings, computed afresh)
            return []
        wanted = sorted({*ids, *(comparisons[w] for w in ids if w in comparisons)})
        recent = (window.recent_end - timedelta(days=window.recent_days), window.recent_end)
        cells = load_cells(db, rules, window.start, window.end, recent, wanted, window.samples)
        return estimate(cells, comparisons, rules, window.start)

    if isinstance(db, Store):  # the fingerprints and the cells must see the same rows
        with db.snapshot() as reader:
            return estimates(reader, rules, window, comparisons, scope)
    keys = inputs_keys(db, rules, window, comparisons, scope)
    # On PostgreSQL each process keeps its own (see aiops.estimates.cache): no table is read.
    return list(cached(db, keys, compute, window, db if db.keeps_derived else None).values())


def record_frame(records: list[Estimate]) -> pd.DataFrame:
    """The records' columns (declared in ``aiops.columns``), indexed by workflow id."""
    data = {c.name: [c.read(r) for r in records] for c in RECORD_COLUMNS if c.read is not None}
    return pd.DataFrame(data, index=pd.Index([r.workflow_id for r in records], name="workflow_id"))


def _finish(f: pd.DataFrame, rules: EvidenceRules) -> pd.DataFrame:
    # A workflow without timings has no record: zero counts, no design, no warnings.
    for column in RECORD_COLUMNS:
        if column.kind is Kind.COUNT:
            f[column.name] = f[column.name].fillna(0).astype("int64")
        elif column.kind is Kind.TIME:
            f[column.name] = pd.to_datetime(f[column.name]).astype(column.dtype)
    f["samples_excluded"] = f.raw_samples_before + f.raw_samples_after - f.samples_before - f.samples_after
    f["design"] = _filled(f.design, Design.NONE.value)
    for codes in ("warnings", "blocking"):
        f[codes] = [w if isinstance(w, list) else [] for w in f[codes]]
    f["segmented"] = _filled(f.segmented, False).astype(bool)
    f["time_kind"] = _filled(f.time_kind, "hands_on")
    saved = _interval(f, SAVED, rules.interval_level)
    _interval(f, CURRENT, rules.interval_level)
    _interval(f, CONCURRENT, rules.interval_level)
    # Status follows the current saving (the run-rate window); the period average is shown beside.
    f["evidence"] = _evidence_labels(f, rules)
    f["proven"] = [
        is_proven(label, design, warnings, segmented, rules.gate_designs)
        for label, design, warnings, segmented in zip(
            f.evidence, f.design, f.warnings, f.segmented, strict=True
        )
    ]
    _hours(f, rules, saved)
    elapsed = f.time_kind == "elapsed"
    for col, src in (
        ("cycle_time_change_days", "saved_per_loop"),
        ("cycle_time_change_low", "saved_low"),
        ("cycle_time_change_high", "saved_high"),
    ):
        f[col] = np.where(elapsed, f[src] / MINUTES_PER_DAY, np.nan)
    # Data through: the last timing stored, also one the estimate set aside (censoring, outliers).
    f["last_measured"] = f[["last_raw_before", "last_raw_after"]].max(axis=1)
    f["baseline_until"] = f.last_measured_before
    return f


def _filled(column: pd.Series, value: object) -> pd.Series:
    """``column`` with ``value`` where it has none (a workflow without a record)."""
    return column.astype(object).where(column.notna(), value)


@dataclass(frozen=True, slots=True)
class SavingColumns:
    """A saving's frame columns: value, variance and degrees of freedom in; the interval's bounds
    out (each checked to be a declared column)."""

    value: str
    var: str
    dof: str
    low: str
    high: str

    def __post_init__(self) -> None:
        declared((self.value, self.var, self.dof, self.low, self.high))


SAVED = SavingColumns(
    value="saved_per_loop", var="saved_var", dof="saved_dof", low="saved_low", high="saved_high"
)
CURRENT = SavingColumns(
    value="current_per_loop", var="current_var", dof="current_dof", low="current_low", high="current_high"
)
CONCURRENT = SavingColumns(
    value="concurrent_per_loop",
    var="concurrent_var",
    dof="concurrent_dof",
    low="concurrent_low",
    high="concurrent_high",
)


def _interval(f: pd.DataFrame, columns: SavingColumns, level: float) -> Bounds:
    """The saving's interval, written to the frame's columns; returned too."""
    f[columns.value] = f[columns.value].astype(float)
    bounds = interval(f[columns.value], f[columns.var], f[columns.dof], level)
    f[columns.dof] = bounds.dof
    f[columns.low], f[columns.high] = bounds.low, bounds.high
    return bounds


@dataclass(frozen=True)
class Bounds:
    """A saving's ``level`` interval, per workflow: its bounds, standard error, t quantile and
    degrees of freedom (infinite where there is no variance)."""

    low: np.ndarray
    high: np.ndarray
    se: np.ndarray
    t: np.ndarray
    dof: np.ndarray


def interval(value: ArrayLike, var: ArrayLike, dof: ArrayLike, level: float) -> Bounds:
    """The interval of savings from their values, variances and degrees of freedom (a missing dof
    counts as 1; no variance, no width; an unknown variance, unknown bounds)."""
    value, var, dof = (np.asarray(x, dtype=float) for x in (value, var, dof))
    se = np.sqrt(var)
    t = np.where(se > 0, _t_quantile(np.where(np.isnan(dof), 1.0, dof), level), 0.0)
    half = np.where(np.isnan(se), np.nan, t * se)
    return Bounds(low=value - half, high=value + half, se=se, t=t, dof=np.where(se > 0, dof, np.inf))


def _hours(f: pd.DataFrame, rules: EvidenceRules, saved: Bounds) -> None:
    """Hours returned, run rate and loops removed from the design's saving (``saved``: its interval)
    and the loops it applies to. Elapsed-time workflows (and hands-on uploads of mostly day-long
    loops) add nothing."""
    se, t = saved.se, saved.t
    counts = (f.time_kind == "hands_on") & ~f.warnings.map(lambda w: WarningCode.ELAPSED_TIME in w)
    f["counts_in_hours"] = counts
    treated = f.treated_loops.fillna(0).astype(float).where(counts, 0.0)
    f["hours_returned"] = (f.saved_per_loop * treated / 60).where(counts, 0.0)
    f["hours_var"] = ((se * treated / 60) ** 2).where(counts, 0.0)
    f["hours_returned_low"], f["hours_returned_high"] = _bounds(f.hours_returned, f.hours_var, t, counts)
    recent = f.treated_recent_loops.fillna(0).astype(float)
    # The run rate is the current saving (the run-rate window's) on the window's loops.
    f["hours_per_week"] = (f.current_per_loop * recent / 60 / rules.run_rate_weeks).where(counts, 0.0)
    # Loops removed = loops x saving / counterfactual mean; before/after: after x (1 - after/before)
    # with the delta-method variance of the ratio, else the design's variance over the baseline.
    mb = f.mean_per_loop_before.astype(float)
    base = f.baseline_mean.astype(float)
    ratio = (base - f.saved_per_loop) / base
    vb = f.var_mean_before.astype(float)
    va = f.saved_var.astype(float) - vb
    plain = (treated * ratio) ** 2 * (va / (mb * ratio) ** 2 + vb / mb**2)
    adjusted = (treated / base) ** 2 * f.saved_var.astype(float)
    f["loops_removed"] = (treated * (1 - ratio)).where(counts, 0.0)
    f["loops_removed_var"] = np.where(f.design == Design.BEFORE_AFTER.value, plain, adjusted)
    f["loops_removed_var"] = f.loops_removed_var.where(counts, 0.0)
    f["loops_removed_low"], f["loops_removed_high"] = _bounds(f.loops_removed, f.loops_removed_var, t, counts)


def _bounds(
    value: pd.Series, var: pd.Series, t: np.ndarray, counts: pd.Series
) -> tuple[pd.Series, pd.Series]:
    half = t * np.sqrt(var)
    return (value - half).where(counts), (value + half).where(counts)


def _evidence_labels(f: pd.DataFrame, rules: EvidenceRules) -> pd.Series:
    before, after = f.raw_samples_before.to_numpy(float), f.raw_samples_after.to_numpy(float)
    labels = _labels(
        before,
        after,
        current_low=f.current_low.to_numpy(float),
        current_high=f.current_high.to_numpy(float),
        saved_low=f.saved_low.to_numpy(float),
        saved_high=f.saved_high.to_numpy(float),
        rules=rules,
    )
    return pd.Series(labels, index=f.index)


def _labels(
    raw_before: np.ndarray,
    raw_after: np.ndarray,
    current_low: np.ndarray,
    current_high: np.ndarray,
    saved_low: np.ndarray,
    saved_high: np.ndarray,
    rules: EvidenceRules,
) -> np.ndarray:
    # Measured rows count (a loop left out as an outlier was still measured; `outliers` says so).
    few = (raw_before < rules.min_samples_per_phase) | (raw_after < rules.min_samples_per_phase)
    # The current saving (status follows it) and the period's must agree: a claim that holds now and
    # over the period (under no effect, both intervals above zero is rarer than either).
    return np.select(
        [
            few | np.isnan(current_low),
            (current_low > 0) & (saved_low > 0),
            (current_high < 0) & (saved_high < 0),
        ],
        [EvidenceLabel.INSUFFICIENT.value, EvidenceLabel.SAVING.value, EvidenceLabel.SLOWER.value],
        default=EvidenceLabel.INCONCLUSIVE.value,
    )


def nan_sum(values: np.ndarray) -> float:
    """A float column's sum as pandas takes it (a missing value counts 0): the same bits."""
    return float(np.where(np.isnan(values), 0.0, values).sum())


def total_with_interval(
    values: np.ndarray,
    variances: np.ndarray,
    dofs: np.ndarray,
    level: float,
) -> Interval:
    """Sum of estimates with the interval of the sum (variances add; Satterthwaite dof)."""
    total, var_total = nan_sum(values), nan_sum(variances)
    if var_total == 0:
        return Interval(value=total, low=total, high=total)
    finite_dofs = np.where(dofs == np.inf, 1e9, dofs)
    dof_total = var_total**2 / float(np.sum(variances**2 / finite_dofs))
    half = float(_t_quantile(dof_total, level)) * np.sqrt(var_total)
    return Interval(value=total, low=total - half, high=total + half)


# One scan of the period's rows: what the weekly chart and the adoption figures both read. The cells
# are summed first and their department joined after: a join per cell, not per timing row.
_WEEKLY = """
WITH cells AS (
    SELECT workflow_id, date_trunc('week', measured_at) AS week, phase,
           count(*) AS samples, sum(loops) AS loops,
           sum(duration_minutes + rework_minutes) / sum(loops) AS mean_per_loop,
           coalesce(sum(loops) FILTER (WHERE ai_assisted), 0) AS ai_loops,
           coalesce(sum(loops) FILTER (WHERE ai_assisted IS NOT NULL), 0) AS adoption_loops
    FROM committed_samples
    WHERE (CAST($start AS TIMESTAMP) IS NULL OR measured_at >= CAST($start AS TIMESTAMP))
      AND (CAST($end AS TIMESTAMP) IS NULL OR measured_at < CAST($end AS TIMESTAMP))
    GROUP BY ALL
)
SELECT c.workflow_id, w.department, c.week, c.phase, c.samples, c.loops, c.mean_per_loop, c.ai_loops,
       c.adoption_loops
FROM cells c JOIN workflows w USING (workflow_id)
"""


def weekly_cells(db: Reader, period: Period = Period()) -> pd.DataFrame:
    """Per workflow, week and phase in ``period``: samples, loops, minutes per loop, and the loops
    done with the AI among those that record whether it helped."""
    start, end = period.bounds()
    return db.query_df(_WEEKLY, {"start": start, "end": end})


def weekly_series(weeks: pd.DataFrame, metrics: pd.DataFrame) -> pd.DataFrame:
    """``weekly_cells`` with hours returned per week (after loops that week times the workflow's
    saving per loop, with its interval; for the concurrent design only the AI-assisted share of the
    loops; nothing for elapsed time)."""
    reads = ["treated_loops", "period_loops_after", "counts_in_hours", "evidence"]
    reads += ["saved_per_loop", "saved_low", "saved_high"]
    m = metrics[["workflow_id", *reads]].set_index("workflow_id")
    share = (m.treated_loops.astype(float) / m.period_loops_after.where(m.period_loops_after > 0)).fillna(0)
    share = share.where(m.counts_in_hours, 0.0).rename("treated_share")
    saving = m[["saved_per_loop", "saved_low", "saved_high", "evidence"]].join(share)
    weeks = weeks.drop(columns=["ai_loops", "adoption_loops"]).join(saving, on="workflow_id")
    after = weeks.phase == "after"
    for col, src in (
        ("hours_returned", "saved_per_loop"),
        ("hours_returned_low", "saved_low"),
        ("hours_returned_high", "saved_high"),
    ):
        weeks[col] = np.where(after, weeks[src] * weeks.loops * weeks.treated_share / 60, 0.0)
    weeks = weeks.drop(columns="treated_share")
    return weeks.sort_values(["week", "workflow_id", "phase"]).reset_index(drop=True)


class Latest(NamedTuple):
    """A workflow's last timing, and its last before go-live."""

    last: datetime | None
    baseline: datetime | None


NO_TIMING = Latest(None, None)
# Batches grouped by the workflows they hold: a handful of groups however many batches (each tool
# or lead uploads the same workflows again), so the per-department figures are taken in Python.
_UPLOADS = """
SELECT workflow_ids, max(uploaded_at), count(*)
FROM upload_batches WHERE undone_at IS NULL GROUP BY workflow_ids
"""


def freshness(db: Reader, latest: dict[str, Latest], departments: dict[str, str]) -> pd.DataFrame:
    """Per department: the last upload, the last loop measured, and until when the baseline runs.
    ``latest``: each workflow's last timing and last timing before go-live
    (``aiops.views.rows_state``, read once per view); ``departments``: each workflow's department
    (every workflow). Their maxima per department are taken here: sent to the database as lists
    they cost more than the rest of the query."""
    timings: dict[str, list[Latest]] = {}
    for workflow_id, department in departments.items():
        timings.setdefault(department, []).append(latest.get(workflow_id, NO_TIMING))
    uploads: dict[str, tuple[datetime, int]] = {}
    for workflow_ids, uploaded_at, batches in db.query(_UPLOADS):
        for department in {departments[w] for w in workflow_ids if w in departments}:
            was_at, was_count = uploads.get(department, (uploaded_at, 0))
            uploads[department] = (max(was_at, uploaded_at), was_count + batches)
    names = sorted(timings)
    last, until, with_baseline = [], [], []
    for department in names:
        times = timings[department]
        last.append(max((t.last for t in times if t.last is not None), default=None))
        baselines = [t.baseline for t in times if t.baseline is not None]
        until.append(max(baselines, default=None))
        with_baseline.append(len(baselines))
    return pd.DataFrame(
        {
            "department": pd.Series(names, dtype="str"),
            "last_upload": pd.Series([uploads.get(d, (None, 0))[0] for d in names], dtype="datetime64[us]"),
            "last_measured": pd.Series(last, dtype="datetime64[us]"),
            "baseline_until": pd.Series(until, dtype="datetime64[us]"),
            "uploads": pd.Series([uploads.get(d, (None, 0))[1] for d in names], dtype="int64"),
            "workflows": pd.Series([len(timings[d]) for d in names], dtype="int64"),
            "with_baseline": pd.Series(with_baseline, dtype="int64"),
        }
    )
