"""Choose each workflow's design (the strongest its data supports) and compute its warnings.

Order: concurrent > comparison > trend_adjusted > before_after. Every design gives the saving in
minutes per loop with a variance and degrees of freedom, the counterfactual mean per loop (for loops
removed) and the loops it applies to (AI-assisted loops for concurrent, all after loops otherwise).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from aiops.estimates.checks import baseline_trend, phase_warnings
from aiops.estimates.concurrent import concurrent
from aiops.estimates.designs import DesignFit, WeeklySeries, comparison, trend_adjusted
from aiops.estimates.phases import mix_distance, phase_stats, reweighted_after, segment_shares, welch
from aiops.estimates.weekly import pooled_weekly, series_by_id, split, weekly_means
from aiops.policy import EvidenceRules

RESULT = [
    "design",
    "saved_per_loop",
    "saved_var",
    "saved_dof",
    "baseline_mean",
    "treated_loops",
    "treated_recent_loops",
    "warnings",
    "time_kind",
]


def _pivot(phases: pd.DataFrame) -> pd.DataFrame:
    wide = phases.unstack("phase")
    wide.columns = [f"{col}_{phase}" for col, phase in wide.columns]
    missing = [f"{c}_{p}" for c in phases.columns for p in ("before", "after") if f"{c}_{p}" not in wide]
    return wide.reindex(columns=list(wide.columns) + missing)


def estimate(
    cells: pd.DataFrame,
    comparisons: dict[str, str],
    rules: EvidenceRules,
    period_start: datetime | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(phase statistics per workflow as ``<column>_<phase>``, the estimate per workflow)."""
    if cells.empty:
        return pd.DataFrame(), pd.DataFrame(columns=RESULT)
    wide = _pivot(phase_stats(cells))
    both = wide.index[wide.samples_before.fillna(0).gt(0) & wide.samples_after.fillna(0).gt(0)]
    warnings = phase_warnings(wide, rules, period_start)
    shares = segment_shares(cells, "phase") if cells.segment.notna().any() else None
    distance = mix_distance(shares, "before", "after") if shares is not None else pd.Series(dtype=float)
    mixed = set(distance[distance > rules.mix_shift_distance].index) & set(both)
    out = _before_after(wide, cells, shares, mixed)
    conc = concurrent(cells, rules.min_concurrent_weeks, rules.min_samples_per_phase)
    weeks = weekly_means(cells, shares, mixed - set(conc.index))
    others = series_by_id(pooled_weekly(cells[cells.workflow_id.isin(set(comparisons.values()))]))
    # Censored exports: weekly means by close date are shaped by the window itself (early weeks
    # can only hold short loops), so only the restricted before/after comparison is sound.
    censored = wide.censored_before.eq(True) | wide.censored_after.eq(True)
    modelled = set(both) - set(wide.index[censored])
    fitted: dict[str, list[Any]] = {}
    for workflow_id, series in split(weeks[weeks.workflow_id.isin(modelled)]):
        other = others.get(comparisons.get(workflow_id, ""))
        design, fit, found = _design(workflow_id in conc.index, series, other, rules)
        warnings[workflow_id] += found
        if design == "concurrent":
            c = conc.loc[workflow_id]
            fitted[workflow_id] = [design, c.saving, c["var"], c.dof, c.baseline]
            fitted[workflow_id] += [c.period_loops, c.recent_loops]
            if c.mix > rules.mix_shift_distance:
                warnings[workflow_id].append("mix_shift")
            continue
        if workflow_id in mixed:
            warnings[workflow_id].append("mix_shift")
        if fit is not None:
            s = fit.saving
            fitted[workflow_id] = [design, s.value, s.var, s.dof, fit.baseline]
    for width in (5, 7):
        chosen = {w: v for w, v in fitted.items() if len(v) == width}
        if chosen:
            values = pd.DataFrame(list(chosen.values()), index=list(chosen), columns=RESULT[:width])
            out.update(values)
    out["warnings"] = [sorted(set(warnings.get(w, []))) for w in out.index]
    elapsed = wide.elapsed_before.astype("boolean").fillna(False) | wide.elapsed_after.astype(
        "boolean"
    ).fillna(False)
    out["time_kind"] = np.where(elapsed.reindex(out.index), "elapsed", "hands_on")
    return wide, out[RESULT]


def _design(
    has_concurrent: bool,
    series: WeeklySeries,
    other: tuple[np.ndarray, np.ndarray] | None,
    rules: EvidenceRules,
) -> tuple[str, DesignFit | None, list[str]]:
    found: list[str] = []
    design, fit = ("concurrent" if has_concurrent else "before_after"), None
    if not has_concurrent and other is not None:
        candidate = comparison(series, other[0], other[1], rules.min_comparison_weeks)
        if candidate is not None:
            trend = candidate.pre_trend
            if trend is not None and trend.p_value < rules.trend_p_value:
                found.append("nonparallel_comparison")
            else:
                design, fit = "comparison", candidate
    weeks_ok = series.weeks(False) >= rules.min_weeks_before and series.weeks(True) >= rules.min_weeks_after
    if design == "before_after" and weeks_ok:
        before_days = series.day[~series.post]
        seasonal = (before_days.max() - before_days.min()) / 7 + 1 >= rules.seasonal_weeks
        design, fit = "trend_adjusted", trend_adjusted(series, seasonal)
    if baseline_trend(
        series, fit.pre_trend if design == "trend_adjusted" and fit is not None else None, rules
    ):
        found.append("baseline_trend")
    return design, fit, found


def _before_after(
    wide: pd.DataFrame, cells: pd.DataFrame, shares: pd.DataFrame, mixed: set[str]
) -> pd.DataFrame:
    """The unadjusted difference for every workflow (the default design); after phase at the
    baseline segment mix where the mix shifted."""
    ma, va = wide.mean_per_loop_after.astype(float), wide.var_mean_after.astype(float)
    if mixed:
        adjusted = reweighted_after(cells, shares, mixed)
        ma = adjusted.mean_per_loop.combine_first(ma)
        va = adjusted.var_mean.combine_first(va)
    nb, na = wide.samples_before.fillna(0), wide.samples_after.fillna(0)
    mb, vb = wide.mean_per_loop_before.astype(float), wide.var_mean_before.astype(float)
    saving, var, dof = welch(mb, vb, nb, ma, va, na)
    both = (nb > 0) & (na > 0)
    return pd.DataFrame(
        {
            "design": np.where(both, "before_after", "none"),
            "saved_per_loop": saving,
            "saved_var": var,
            "saved_dof": dof,
            "baseline_mean": mb,
            "treated_loops": wide.period_loops_after.fillna(0),
            "treated_recent_loops": wide.recent_loops_after.fillna(0),
        },
        index=wide.index,
    ).astype({"saved_per_loop": float, "saved_var": float, "saved_dof": float, "baseline_mean": float})
