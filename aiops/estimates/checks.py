"""Validity checks computed from phase statistics and weekly series: each a warning code."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from aiops.estimates.codes import WarningCode
from aiops.estimates.designs import WeeklySeries
from aiops.estimates.fit import Coef, ols_hac, slope
from aiops.policy import EvidenceRules


def phase_warnings(
    wide: pd.DataFrame, rules: EvidenceRules, period_start: datetime | None
) -> dict[str, list[WarningCode]]:
    """elapsed_time, censored_window, outliers and stale_baseline."""

    def col(name: str) -> pd.Series:
        return wide[name].astype(float).fillna(0)

    loops = col("loops_before") + col("loops_after")
    long_share = (col("long_loops_before") + col("long_loops_after")) / loops.where(loops > 0)
    quick_quarter = np.maximum(col("q1_per_loop_before"), col("q1_per_loop_after"))
    elapsed = (
        wide.elapsed_before.eq(True)
        | wide.elapsed_after.eq(True)
        | (long_share > rules.long_loop_share)
        | (quick_quarter >= rules.quick_quarter_hours * 60)
    )
    censored = wide.censored_before.eq(True) | wide.censored_after.eq(True)
    restricted = wide.restricted_before.eq(True) | wide.restricted_after.eq(True)
    lost = col("censored_samples_before") + col("censored_samples_after")
    dominant = pd.Series(False, index=wide.index)
    for phase in ("before", "after"):
        share = col(f"largest_{phase}") / col(f"minutes_{phase}").where(col(f"minutes_{phase}") > 0)
        dominant |= (share > rules.dominant_share) & (col(f"samples_{phase}") >= rules.min_samples_per_phase)
    flags = {
        WarningCode.ELAPSED_TIME: elapsed,
        # Flagged when loops were left out, or when the window was too short to restrict at all.
        WarningCode.CENSORED_WINDOW: censored & (lost.gt(0) | ~restricted),
        WarningCode.OUTLIERS: (col("outlier_samples_before") + col("outlier_samples_after")).gt(0) | dominant,
        WarningCode.STALE_BASELINE: _stale(wide, rules, period_start),
    }
    matrix = pd.DataFrame(flags, index=wide.index).fillna(False).astype(bool).to_numpy()
    codes = np.array(list(flags), dtype=object)
    return {w: list(codes[row]) for w, row in zip(wide.index, matrix, strict=True)}


def _stale(wide: pd.DataFrame, rules: EvidenceRules, period_start: datetime | None) -> pd.Series:
    after_start = pd.to_datetime(wide.first_measured_after)
    reference = after_start if period_start is None else after_start.clip(lower=pd.Timestamp(period_start))
    limit = timedelta(weeks=rules.stale_baseline_weeks)
    stale = (reference - pd.to_datetime(wide.last_measured_before)) > limit
    # Without the after phase in the period, the reference is the period start itself.
    if period_start is not None:
        gap = pd.Timestamp(period_start) - pd.to_datetime(wide.last_measured_before)
        stale |= after_start.isna() & (gap > limit)
    return stale.fillna(False)


def volume_step(series: WeeklySeries, rules: EvidenceRules) -> bool:
    """Loops per week stepped at go-live (log scale, level and trend of the baseline projected), by
    at least ``volume_step_share`` and significantly. Edge weeks and the go-live week (each cut in
    part) are left out."""
    days, counts = np.unique(series.day, return_counts=True)
    whole = days[(counts == 1) & (days != days.min()) & (days != days.max())]
    keep = np.isin(series.day, whole)
    week = series.select(keep)
    if min(week.weeks(False), week.weeks(True)) < 4:
        return False
    t = week.t - week.t.mean()
    fit = ols_hac(
        np.log(week.loops), np.column_stack([np.ones_like(t), t, week.post.astype(float)]), week.day
    )
    step = fit.coef(2)
    return abs(step.value) >= np.log1p(rules.volume_step_share) and step.p_value < rules.shift_p_value


def significant(estimate: Coef, level: float) -> bool:
    """The ``level`` interval excludes zero."""
    low, high = estimate.conf_int(level)
    return bool(low > 0 or high < 0)


def baseline_trend(series: WeeklySeries, trend: Coef | None, rules: EvidenceRules) -> bool:
    """The baseline's weekly slope is significant and moves the mean materially over the baseline."""
    before = ~series.post
    if trend is None:
        trend = slope(series.t[before], series.y[before])
    if trend is None:
        return False
    span = float(np.ptp(series.t[before])) + 1
    mean = float(np.average(series.y[before], weights=series.loops[before]))
    return trend.p_value < rules.trend_p_value and abs(trend.value) * span >= rules.trend_min_share * mean
