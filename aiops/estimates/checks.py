"""Validity checks computed from phase statistics and weekly series: each a warning code."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from aiops.estimates.designs import WeeklySeries
from aiops.estimates.fit import Coef, slope
from aiops.policy import EvidenceRules


def phase_warnings(
    wide: pd.DataFrame, rules: EvidenceRules, period_start: datetime | None
) -> dict[str, list[str]]:
    """elapsed_time, censored_window, outliers and stale_baseline per workflow."""

    def col(name: str) -> pd.Series:
        return wide[name].astype(float).fillna(0)

    loops = col("loops_before") + col("loops_after")
    long_share = (col("long_loops_before") + col("long_loops_after")) / loops.where(loops > 0)
    elapsed = (
        wide.elapsed_before.eq(True) | wide.elapsed_after.eq(True) | (long_share > rules.long_loop_share)
    )
    censored = wide.censored_before.eq(True) | wide.censored_after.eq(True)
    dropped = (col("raw_samples_before") > col("samples_before")) | (
        col("raw_samples_after") > col("samples_after")
    )
    dominant = pd.Series(False, index=wide.index)
    for phase in ("before", "after"):
        share = col(f"largest_{phase}") / col(f"minutes_{phase}").where(col(f"minutes_{phase}") > 0)
        dominant |= (share > rules.dominant_share) & (col(f"samples_{phase}") >= rules.min_samples_per_phase)
    after_start = pd.to_datetime(wide.first_measured_after)
    reference = after_start if period_start is None else after_start.clip(lower=pd.Timestamp(period_start))
    stale = (reference - pd.to_datetime(wide.last_measured_before)) > timedelta(
        weeks=rules.stale_baseline_weeks
    )
    # Without the after phase in the period, the reference is the period start itself.
    if period_start is not None:
        gap = pd.Timestamp(period_start) - pd.to_datetime(wide.last_measured_before)
        stale |= after_start.isna() & (gap > timedelta(weeks=rules.stale_baseline_weeks))
    flags = {
        "elapsed_time": elapsed,
        "censored_window": censored,
        "outliers": dropped & ~censored | dominant,
        "stale_baseline": stale.fillna(False),
    }
    matrix = pd.DataFrame(flags, index=wide.index).fillna(False).astype(bool).to_numpy()
    codes = np.array(list(flags))
    return {w: codes[row].tolist() for w, row in zip(wide.index, matrix, strict=True)}


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
