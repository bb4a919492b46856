"""The per-workflow designs on weekly means: trend_adjusted (interrupted time series) and comparison
(difference-in-differences). Inputs are numpy arrays of weekly rows; a week holding go-live appears
once per phase. ``saving`` is minutes per loop saved (counterfactual minus actual), averaged over
the after loops: weeks are weighted by their loops where the effect may vary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aiops.estimates.fit import Coef, hac_fit, seasonal_terms, slope

SLOPE_CHANGE = False


@dataclass(frozen=True, slots=True)
class WeeklySeries:
    day: np.ndarray  # days since the epoch of the week's Monday
    post: np.ndarray  # bool: after go-live
    y: np.ndarray  # mean minutes per loop that week (and phase)
    loops: np.ndarray

    @property
    def t(self) -> np.ndarray:
        return self.day / 7.0

    def weeks(self, post: bool) -> int:
        return int(np.unique(self.day[self.post == post]).size)


@dataclass(frozen=True, slots=True)
class DesignFit:
    saving: Coef
    baseline: float  # counterfactual minutes per after loop (for loops removed)
    pre_trend: Coef | None  # weekly slope of the baseline (trend_adjusted) or of the gap (comparison)


def trend_adjusted(series: WeeklySeries, seasonal: bool) -> DesignFit:
    """y = a + b t [+ season] + c post + d post (t - t_bar): ``t_bar`` is the loop-weighted mean
    week of the after phase, so ``-c`` is the saving averaged over after loops even when the
    effect grows or fades linearly."""
    post = series.post.astype(float)
    t = series.t - series.t[series.post].min()
    t_bar = np.average(t[series.post], weights=series.loops[series.post])
    parts = [np.ones_like(t), t, post] + ([post * (t - t_bar)] if SLOPE_CHANGE else [])
    x = np.column_stack(parts + ([seasonal_terms(series.day)] if seasonal else []))
    level, trend = hac_fit(series.y, x, (2, 1))
    after = series.post
    actual = np.average(series.y[after], weights=series.loops[after])
    saving = Coef(-level.value, level.var, level.dof)
    return DesignFit(saving=saving, baseline=actual + saving.value, pre_trend=trend)


def comparison(
    series: WeeklySeries, other_day: np.ndarray, other_y: np.ndarray, min_weeks: int
) -> DesignFit | None:
    """Difference-in-differences on the weekly gap to the comparison workflow (same weeks only):
    gap = a + c post; ``-c`` is the saving. ``pre_trend`` is the gap's slope before go-live (the
    parallel-trend check). None with fewer than ``min_weeks`` shared weeks in a phase."""
    index = {d: i for i, d in enumerate(other_day.tolist())}
    match = np.array([index.get(d, -1) for d in series.day.tolist()])
    keep = match >= 0
    if not keep.any():
        return None
    gap = series.y[keep] - other_y[match[keep]]
    post, t = series.post[keep], series.t[keep]
    if min(np.unique(t[post]).size, np.unique(t[~post]).size) < min_weeks:
        return None
    (effect,) = hac_fit(gap, np.column_stack([np.ones_like(gap), post.astype(float)]), (1,))
    saving = Coef(-effect.value, effect.var, effect.dof)
    actual = np.average(series.y[series.post], weights=series.loops[series.post])
    return DesignFit(saving=saving, baseline=actual + saving.value, pre_trend=slope(t[~post], gap[~post]))
