"""Per workflow and phase, from cells: samples, loops, mean minutes per loop (total minutes over total
loops, after includes rework) and the ratio-estimator variance of that mean,
``sum((y - R x)^2) / (n (n - 1) xbar^2)`` (for one loop per row exactly ``s^2 / n``); and the
unadjusted before/after difference with its Welch degrees of freedom.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

SUMS = ["samples", "loops", "minutes", "rework_minutes", "syy", "sxy", "sxx", "long_loops"]
# Per phase, as the cells query gives them (each cell repeats its phase's value).
FIRSTS = ["median_per_loop", "q1_per_loop", "q3_per_loop", "raw_samples", "outlier_samples", "last_raw"]
FIRSTS += ["censored_samples", "censored", "restricted", "phase_period_loops", "phase_recent_loops"]
RATIO_SUMS = ("samples", "loops", "minutes", "syy", "sxy", "sxx")  # what ``ratio_variance`` takes


def ratio_variance(
    n: pd.Series, loops: pd.Series, minutes: pd.Series, syy: pd.Series, sxy: pd.Series, sxx: pd.Series
) -> pd.Series:
    """Variance of sum(y)/sum(x) from the sums of a group's rows (NaN for a single row)."""
    return pd.Series(_ratio_variance(n, loops, minutes, syy, sxy, sxx), index=n.index)


def _ratio_variance(*sums: ArrayLike) -> np.ndarray:
    """``ratio_variance`` in numpy (the same operations as on the series, without their overhead)."""
    rows, x, y, yy, xy, xx = (np.asarray(s, dtype=float) for s in sums)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = y / x
        ss = np.clip(yy - 2 * mean * xy + mean**2 * xx, 0, None)
        variance = ss / (rows * (rows - 1) * (x / rows) ** 2)
    return np.where(rows > 1, variance, np.nan)


@dataclass(frozen=True)
class Phases:
    """Phase statistics per workflow: one frame per phase, both indexed by every workflow of the
    cells (a phase a workflow lacks is a row of NaN)."""

    before: pd.DataFrame
    after: pd.DataFrame

    @property
    def index(self) -> pd.Index:
        return self.before.index

    @property
    def both(self) -> pd.Series:
        """Workflows with samples in both phases."""
        return self.before.samples.fillna(0).gt(0) & self.after.samples.fillna(0).gt(0)


def by_phase(cells: pd.DataFrame) -> Phases:
    """Per workflow and phase: counts and sums, the phase's values the cells repeat (``FIRSTS``),
    the mean per loop and its variance; both frames indexed by the workflows in the order the
    cells first name them. The sums are pandas' groupby, as ever (how it adds a group's floats
    depends on the whole grouping: the last bits must not move); the rest is numpy over the cells
    sorted once by group, without the fixed cost of a pandas step each."""
    codes, ids = cells.workflow_id.factorize()
    keys = codes * 2 + (cells.phase == "after").to_numpy()
    g = _Groups(keys)
    # Grouped by the integer key: the same groups and rows as by (workflow_id, phase), in key order.
    summed = cells[SUMS].groupby(keys).sum()
    sums = {name: summed[name].to_numpy() for name in SUMS}
    columns = {name: sums[name] for name in ("samples", "loops", "minutes", "rework_minutes")}
    # Every loop done in the period counts, also those left out of the estimate.
    columns["period_loops"] = g.first(cells.phase_period_loops)
    columns["recent_loops"] = g.first(cells.phase_recent_loops)
    columns["long_loops"] = sums["long_loops"]
    columns["largest"] = g.extreme(cells.largest, np.fmax)
    columns["first_measured"] = g.extreme(cells.first_measured, np.fmin)
    columns["last_measured"] = g.extreme(cells.last_measured, np.fmax)
    columns["elapsed"] = g.extreme(cells.elapsed, np.maximum).astype(bool)
    columns |= {name: g.first(cells[name]) for name in FIRSTS[:-2]}
    with np.errstate(divide="ignore", invalid="ignore"):
        columns["mean_per_loop"] = sums["minutes"] / sums["loops"]
    columns["var_mean"] = _ratio_variance(*(sums[s] for s in RATIO_SUMS))
    ids = ids.rename("workflow_id")

    def one(after: int) -> pd.DataFrame:
        rows = g.keys % 2 == after
        index = ids[g.keys[rows] // 2]
        frame = pd.DataFrame({k: v[rows] for k, v in columns.items()}, index=index)
        return frame if len(index) == len(ids) else frame.reindex(ids)  # keys ascend: index is ids

    return Phases(one(0), one(1))


class _Groups:
    """Rows grouped by an integer key, each group's rows in their order (as pandas takes them)."""

    def __init__(self, keys: np.ndarray) -> None:
        self.order = np.argsort(keys, kind="stable")
        ordered = keys[self.order]
        self.starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(keys) else ordered[:0]
        self.counts = np.diff(np.r_[self.starts, len(keys)])
        self.keys = ordered[self.starts]  # each group's key, ascending

    def first(self, column: pd.Series) -> ArrayLike:
        """Each group's first value that is not missing (its first value when all are)."""
        missing = column.isna().to_numpy()[self.order]
        first = self.starts.copy()
        for k in range(1, int(self.counts.max(initial=0))):
            later = (self.counts > k) & missing[first]
            if not later.any():
                break
            first[later] = self.starts[later] + k
        return column.array.take(self.order[first])

    def extreme(self, column: pd.Series, ufunc: np.ufunc) -> np.ndarray:
        """Each group's ``ufunc`` reduction (``np.fmax`` / ``np.fmin`` skip NaN and NaT)."""
        values = column.to_numpy()[self.order]
        return ufunc.reduceat(values, self.starts) if len(self.starts) else values[:0]


def as_floats(column: pd.Series, missing: float = np.nan) -> np.ndarray:
    """A phase column as floats (a copy), ``missing`` where a workflow has no value."""
    values = column.to_numpy(dtype=float, na_value=np.nan, copy=True)
    if not np.isnan(missing):
        values[np.isnan(values)] = missing
    return values


@dataclass(frozen=True, slots=True)
class Differences:
    """Per workflow: a difference of means, its variance and degrees of freedom."""

    value: np.ndarray
    var: np.ndarray
    dof: np.ndarray


def welch(
    mb: np.ndarray, vb: np.ndarray, nb: np.ndarray, ma: np.ndarray, va: np.ndarray, na: np.ndarray
) -> Differences:
    """Difference of means (before - after), its variance and Welch-Satterthwaite dof."""
    var = vb + va
    with np.errstate(divide="ignore", invalid="ignore"):
        dof = var**2 / (vb**2 / np.maximum(nb - 1, 1) + va**2 / np.maximum(na - 1, 1))
    return Differences(value=mb - ma, var=var, dof=dof)


def segment_shares(cells: pd.DataFrame, by: str) -> pd.DataFrame:
    """Loop share of each segment per workflow and ``by`` (phase or ai_assisted)."""
    seg = cells[cells.segment.notna()]
    loops = seg.groupby(["workflow_id", by, "segment"]).loops.sum()
    return (loops / loops.groupby(level=[0, 1]).transform("sum")).unstack(by)


def mix_distance(shares: pd.DataFrame, a: Any, b: Any) -> pd.Series:
    """Total-variation distance between the segment mixes ``a`` and ``b`` per workflow, for the
    workflows with segments on both sides (one side without any has no mix to compare: whether
    other workflows have segments must not decide it)."""
    if a not in shares or b not in shares:
        return pd.Series(dtype=float)
    diff = (shares[a].fillna(0) - shares[b].fillna(0)).abs()
    distance = diff.groupby(level=0).sum() / 2
    on_both_sides = shares[a].notna().groupby(level=0).any() & shares[b].notna().groupby(level=0).any()
    return distance[on_both_sides.reindex(distance.index, fill_value=False)]


def reweighted_after(cells: pd.DataFrame, shares: pd.DataFrame, ids: Any) -> pd.DataFrame:
    """After-phase mean per loop and its variance at the baseline segment mix, for ``ids``:
    sum_s p_s mean_s over segments present in both phases (shares renormalised)."""
    after = cells[(cells.phase == "after") & cells.workflow_id.isin(ids) & cells.segment.notna()]
    g = after.groupby(["workflow_id", "segment"])
    s = g[["samples", "loops", "minutes", "syy", "sxy", "sxx"]].sum()
    s["mean"] = s.minutes / s.loops
    s["var"] = ratio_variance(s.samples, s.loops, s.minutes, s.syy, s.sxy, s.sxx)
    s["p"] = shares["before"].reindex(s.index)
    s = s[s.p.notna() & s["var"].notna()]
    s["p"] = s.p / s.p.groupby(level=0).transform("sum")
    out = pd.DataFrame(
        {
            "mean_per_loop": (s.p * s["mean"]).groupby(level=0).sum(),
            "var_mean": (s.p**2 * s["var"]).groupby(level=0).sum(),
        }
    )
    return out
