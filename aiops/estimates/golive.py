"""Go-live sanity: the week where the loop times change most, to compare with the stated go-live.

A step model (level, trend, step at week k) is fitted for every candidate week with at least
``MIN_SIDE`` weeks on each side; the best k is reported when it lies ``min_gap_weeks`` or more from
the stated go-live and explains the weeks clearly better than a step at the stated go-live does
(the likelihood-ratio statistic n log(SSE_stated / SSE_best) above ``THRESHOLD``, about a 1% test
for one extra choice; both models have the same number of parameters).
"""

from __future__ import annotations

import numpy as np

from aiops.estimates.designs import WeeklySeries

MIN_SIDE = 3
THRESHOLD = 6.6


def _sse(t: np.ndarray, y: np.ndarray, step: np.ndarray) -> float:
    x = np.column_stack([np.ones_like(t), t, step.astype(float)])
    residual = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
    return float(residual @ residual)


def likely_break(series: WeeklySeries, min_gap_weeks: int = 2) -> float | None:
    """The day (since the epoch) of the Monday of the likeliest break week, or None when it is the
    stated go-live's week (give or take ``min_gap_weeks - 1``) or no clearer than it."""
    if not series.post.any() or series.post.all():
        return None
    days, index = np.unique(series.day, return_inverse=True)
    loops = np.bincount(index, weights=series.loops)
    y = np.bincount(index, weights=series.y * series.loops) / loops
    if len(days) < 2 * MIN_SIDE + 1:
        return None
    t = (days - days[0]) / 7
    stated = float(series.day[series.post].min())
    candidates = days[MIN_SIDE : len(days) - MIN_SIDE + 1]
    sse = np.array([_sse(t, y, days >= k) for k in candidates])
    best = float(candidates[int(np.argmin(sse))])
    if abs(best - stated) / 7 < min_gap_weeks:
        return None
    stated_sse = _sse(t, y, days >= stated)
    if sse.min() <= 0 or len(days) * np.log(stated_sse / sse.min()) < THRESHOLD:
        return None
    return best
