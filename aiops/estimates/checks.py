"""Validity checks computed from phase statistics and weekly series: each a warning code."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from aiops.estimates.codes import WarningCode
from aiops.estimates.designs import WeeklySeries
from aiops.estimates.fit import Coef, ols_hac, slope
from aiops.estimates.phases import Phases, as_floats
from aiops.policy import EvidenceRules


def phase_warnings(
    phases: Phases, rules: EvidenceRules, period_start: datetime | None
) -> dict[str, list[WarningCode]]:
    """elapsed_time, censored_window, outliers and stale_baseline (in numpy: flags from each
    workflow's own phase figures, the same comparisons as on the frames' columns)."""
    before, after = phases.before, phases.after

    def both(name: str) -> tuple[np.ndarray, np.ndarray]:
        return as_floats(before[name], 0.0), as_floats(after[name], 0.0)

    def either(name: str) -> pd.Series:
        return before[name].eq(True) | after[name].eq(True)  # missing (a nullable flag's NA) stays so

    with np.errstate(divide="ignore", invalid="ignore"):
        loops = np.add(*both("loops"))
        long_share = np.add(*both("long_loops")) / np.where(loops > 0, loops, np.nan)
        quick_quarter = np.maximum(*both("q1_per_loop"))
        elapsed = (
            _true(either("elapsed"))
            | (long_share > rules.long_loop_share)
            | (quick_quarter >= rules.quick_quarter_hours * 60)
        )
        dominant = np.zeros(len(phases.index), dtype=bool)
        for phase in (before, after):
            minutes = as_floats(phase.minutes, 0.0)
            share = as_floats(phase.largest, 0.0) / np.where(minutes > 0, minutes, np.nan)
            dominant |= (share > rules.dominant_share) & (
                as_floats(phase.samples, 0.0) >= rules.min_samples_per_phase
            )
    flags = {
        WarningCode.ELAPSED_TIME: elapsed,
        # Flagged when loops were left out, or when the window was too short to restrict at all.
        WarningCode.CENSORED_WINDOW: _true(either("censored"))
        & ((np.add(*both("censored_samples")) > 0) | _true(~either("restricted"))),
        WarningCode.OUTLIERS: (np.add(*both("outlier_samples")) > 0) | dominant,
        WarningCode.STALE_BASELINE: _true(_stale(phases, rules, period_start)),
    }
    matrix = np.column_stack(list(flags.values()))
    codes = np.array(list(flags), dtype=object)
    return {w: list(codes[row]) for w, row in zip(phases.index, matrix, strict=True)}


def _true(flags: pd.Series) -> np.ndarray:
    """Where a flag is true (not where it is missing)."""
    return flags.to_numpy(dtype=bool, na_value=False)


def _stale(phases: Phases, rules: EvidenceRules, period_start: datetime | None) -> pd.Series:
    after_start = pd.to_datetime(phases.after.first_measured)
    baseline_end = pd.to_datetime(phases.before.last_measured)
    reference = after_start if period_start is None else after_start.clip(lower=pd.Timestamp(period_start))
    limit = timedelta(weeks=rules.stale_baseline_weeks)
    stale = (reference - baseline_end) > limit
    # Without the after phase in the period, the reference is the period start itself.
    if period_start is not None:
        gap = pd.Timestamp(period_start) - baseline_end
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
    bounds = estimate.conf_int(level)
    return bool(bounds.low > 0 or bounds.high < 0)


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
