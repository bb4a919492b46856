"""The per-workflow designs on weekly means: trend_adjusted (interrupted time series) and comparison
(difference-in-differences). Inputs are numpy arrays of weekly rows in time order; a week holding
go-live appears once per phase. ``saving`` is minutes per loop saved (counterfactual minus actual)
averaged over the after loops; ``current`` the saving in the run-rate window (the last weeks of data).

Every after week has its own effect (an event study): the counterfactual (level, trend, season; for
comparison, the mean gap) is fitted on the baseline weeks alone and each after week's gap to it is
that week's effect. An effect that grows or fades (novelty) then biases neither the baseline's trend
nor the averages: the period saving weights the weeks by their loops, the current saving averages
the run-rate window's weeks, and ``fade`` is the early weeks' saving minus the current one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aiops.estimates.fit import Coef, Fit, ols_hac, seasonal_terms, slope


@dataclass(frozen=True, slots=True)
class WeeklySeries:
    day: np.ndarray  # days since the epoch of the week's Monday
    post: np.ndarray  # bool: after go-live
    y: np.ndarray  # mean minutes per loop that week (and phase)
    loops: np.ndarray
    current: np.ndarray  # bool: an after week inside the run-rate window

    @property
    def t(self) -> np.ndarray:
        return self.day / 7.0

    def weeks(self, post: bool) -> int:
        return int(np.unique(self.day[self.post == post]).size)

    @property
    def splits(self) -> bool:
        """Early after weeks and run-rate weeks both present (at least two early weeks)."""
        early = self.post & ~self.current
        return bool(self.current.any()) and np.unique(self.day[early]).size >= 2

    def select(self, keep: np.ndarray) -> WeeklySeries:
        return WeeklySeries(
            day=self.day[keep],
            post=self.post[keep],
            y=self.y[keep],
            loops=self.loops[keep],
            current=self.current[keep],
        )


@dataclass(frozen=True, slots=True)
class DesignFit:
    saving: Coef  # averaged over the after loops
    current: Coef  # in the run-rate window (the average when the after weeks do not split)
    fade: Coef | None  # early saving minus current saving (None without a split)
    baseline: float  # counterfactual minutes per after loop (for loops removed)
    pre_trend: Coef | None  # weekly slope of the baseline (trend_adjusted) or of the gap (comparison)


def _effect_columns(series: WeeklySeries) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One indicator column per after row, and the contrast weights (over those columns) that
    average them by loops: ``average``, and ``current`` and ``early`` when the after weeks split."""
    rows = np.flatnonzero(series.post)
    columns = np.zeros((len(series.y), len(rows)))
    columns[rows, np.arange(len(rows))] = 1.0
    loops = series.loops[rows].astype(float)
    parts = {"average": np.ones(len(rows), dtype=bool)}
    if series.splits:
        current = series.current[rows]
        parts |= {"current": current, "early": ~current}
    return columns, {name: np.where(keep, loops, 0.0) / loops[keep].sum() for name, keep in parts.items()}


@dataclass(frozen=True, slots=True)
class _Savings:
    """The savings read from the after-row effects (see ``DesignFit``)."""

    saving: Coef
    current: Coef
    fade: Coef | None


def _savings(fit: Fit, first: int, weights: dict[str, np.ndarray]) -> _Savings:
    """The savings from the after-row effects starting at column ``first``."""
    pad = np.zeros(first)
    average = -fit.contrast(np.r_[pad, weights["average"]])
    if "current" not in weights:
        return _Savings(saving=average, current=average, fade=None)
    current = -fit.contrast(np.r_[pad, weights["current"]])
    # early saving - current saving = (-c_early) - (-c_current)
    fade = fit.contrast(np.r_[pad, weights["current"] - weights["early"]])
    return _Savings(saving=average, current=current, fade=fade)


def _design_fit(series: WeeklySeries, savings: _Savings, pre_trend: Coef | None) -> DesignFit:
    """The fit's savings, with the baseline they imply: the after loops' actual mean plus the saving."""
    actual = float(np.average(series.y[series.post], weights=series.loops[series.post]))
    return DesignFit(
        saving=savings.saving,
        current=savings.current,
        fade=savings.fade,
        baseline=actual + savings.saving.value,
        pre_trend=pre_trend,
    )


def trend_adjusted(series: WeeklySeries, seasonal: bool) -> DesignFit:
    """y = a + b t [+ season] + c_k (after row k): the saving is minus the loop-weighted mean of c."""
    t = series.t - series.t[series.post].min()
    effects, weights = _effect_columns(series)
    season = [seasonal_terms(series.day)] if seasonal else []
    x = np.column_stack([np.ones_like(t), t, *season, effects])
    fit = ols_hac(series.y, x, series.day)
    savings = _savings(fit, x.shape[1] - effects.shape[1], weights)
    return _design_fit(series, savings, pre_trend=fit.coef(1))


def comparison(
    series: WeeklySeries, other_day: np.ndarray, other_y: np.ndarray, min_weeks: int
) -> DesignFit | None:
    """Difference-in-differences on the weekly gap to the comparison workflow (same weeks only):
    gap = a + c_k (after row k); minus the loop-weighted mean of c is the saving. ``pre_trend`` is
    the gap's slope before go-live (the parallel-trend check). None with fewer than ``min_weeks``
    shared weeks in a phase."""
    index = {d: i for i, d in enumerate(other_day.tolist())}
    match = np.array([index.get(d, -1) for d in series.day.tolist()])
    keep = match >= 0
    if not keep.any():
        return None
    shared = series.select(keep)
    gap = shared.y - other_y[match[keep]]
    post, t = shared.post, shared.t
    if min(np.unique(t[post]).size, np.unique(t[~post]).size) < min_weeks:
        return None
    effects, weights = _effect_columns(shared)
    fit = ols_hac(gap, np.column_stack([np.ones_like(gap), effects]), shared.day)
    return _design_fit(series, _savings(fit, 1, weights), pre_trend=slope(t[~post], gap[~post]))
