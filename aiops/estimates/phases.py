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

SUMS = ["samples", "loops", "minutes", "rework_minutes", "syy", "sxy", "sxx", "long_loops"]
# Per phase, as the cells query gives them (each cell repeats its phase's value).
FIRSTS = ["median_per_loop", "q1_per_loop", "q3_per_loop", "raw_samples", "outlier_samples", "last_raw"]
FIRSTS += ["censored_samples", "censored", "restricted", "phase_period_loops", "phase_recent_loops"]


def ratio_variance(
    n: pd.Series, loops: pd.Series, minutes: pd.Series, syy: pd.Series, sxy: pd.Series, sxx: pd.Series
) -> pd.Series:
    """Variance of sum(y)/sum(x) from the sums of a group's rows (NaN for a single row); in numpy
    (the same operations as on the series, without their overhead)."""
    rows, x, y, yy, xy, xx = (np.asarray(s, dtype=float) for s in (n, loops, minutes, syy, sxy, sxx))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = y / x
        ss = np.clip(yy - 2 * mean * xy + mean**2 * xx, 0, None)
        variance = ss / (rows * (rows - 1) * (x / rows) ** 2)
    return pd.Series(np.where(rows > 1, variance, np.nan), index=n.index)


def phase_stats(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per (workflow_id, phase), its columns built apart and put together once."""
    g = cells.groupby(["workflow_id", "phase"], sort=False)
    sums, firsts = g[SUMS].sum(), g[FIRSTS].first()
    columns = {name: sums[name] for name in ("samples", "loops", "minutes", "rework_minutes")}
    # Every loop done in the period counts, also those left out of the estimate.
    columns["period_loops"], columns["recent_loops"] = firsts.phase_period_loops, firsts.phase_recent_loops
    columns["long_loops"] = sums.long_loops
    columns["largest"] = g.largest.max()
    columns["first_measured"] = g.first_measured.min()
    columns["last_measured"] = g.last_measured.max()
    columns["elapsed"] = g.elapsed.max().astype(bool)
    columns |= {name: firsts[name] for name in FIRSTS[:-2]}
    columns["mean_per_loop"] = sums.minutes / sums.loops
    columns["var_mean"] = ratio_variance(sums.samples, sums.loops, sums.minutes, sums.syy, sums.sxy, sums.sxx)
    return pd.DataFrame(columns)


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
    """``phase_stats`` split by phase."""
    stats = phase_stats(cells)
    ids = stats.index.get_level_values("workflow_id").unique().rename("workflow_id")
    found = set(stats.index.get_level_values("phase"))

    def one(phase: str) -> pd.DataFrame:
        part = stats.xs(phase, level="phase") if phase in found else stats.iloc[:0].droplevel("phase")
        return part.reindex(ids)

    return Phases(one("before"), one("after"))


def welch(
    mb: pd.Series, vb: pd.Series, nb: pd.Series, ma: pd.Series, va: pd.Series, na: pd.Series
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Difference of means (before - after), its variance and Welch-Satterthwaite dof."""
    var = vb + va
    dof = var**2 / (vb**2 / (nb - 1).clip(lower=1) + va**2 / (na - 1).clip(lower=1))
    return mb - ma, var, dof


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
