"""The concurrent design: after go-live, loops with and without the AI in the same week (and the same
segment) are compared. Each stratum's difference of means is weighted by its AI-assisted loops, so
the saving is the mean minutes saved per AI-assisted loop, at the AI loops' own mix of weeks and
segments. A stratum mean's variance uses the arm's residual variance pooled within the segment
(rows of other weeks), so strata with a single row still count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from aiops.estimates.phases import mix_distance, ratio_variance, segment_shares

KEYS = ["workflow_id", "week", "segment"]


def concurrent(cells: pd.DataFrame, min_weeks: int, min_samples: int, treated: bool = True) -> pd.DataFrame:
    """Per eligible workflow: the saving (value, var, dof), baseline, and (unless ``treated`` is False: the
    current and early savings need only the saving) treated period/recent loops, mix distance."""
    after = cells[(cells.phase == "after") & cells.ai_assisted.notna()].copy()
    if after.empty:
        return pd.DataFrame()
    after["ai"] = after.ai_assisted.astype(bool)
    after["segment"] = after.segment.fillna("")
    arms = after.groupby(KEYS + ["ai"])[["samples", "loops", "minutes", "syy", "sxy", "sxx"]].sum()
    mean = arms.minutes / arms.loops
    ss = (arms.syy - 2 * mean * arms.sxy + mean**2 * arms.sxx).clip(lower=0)
    pooled = ss.groupby(level=["workflow_id", "segment", "ai"]).sum() / (arms.samples - 1).groupby(
        level=["workflow_id", "segment", "ai"]
    ).sum().replace(0, np.nan)
    arms["mean"] = mean
    arms["var"] = pooled.reindex(arms.index.droplevel("week")).to_numpy() * arms.samples / arms.loops**2
    # Both arms' columns even when no workflow of these cells has one of them.
    stats = ["samples", "loops", "mean", "var"]
    both_arms = pd.MultiIndex.from_product([stats, [False, True]], names=[None, "ai"])
    wide = arms[stats].unstack("ai").reindex(columns=both_arms)
    wide = wide.dropna(subset=[("mean", True), ("mean", False)])
    if wide.empty:
        return pd.DataFrame()
    w = wide[("loops", True)].astype(float)
    diff = wide[("mean", False)] - wide[("mean", True)]
    var = wide[("var", False)] + wide[("var", True)]
    by = wide.index.get_level_values("workflow_id")
    total = w.groupby(by).sum()
    out = pd.DataFrame(
        {
            "value": (w * diff).groupby(by).sum() / total,
            "var": (w**2 * var).groupby(by).sum(min_count=1) / total**2,
            "baseline": (w * wide[("mean", False)]).groupby(by).sum() / total,
            "weeks": pd.Series(wide.index.get_level_values("week"), index=by).groupby(level=0).nunique(),
            "samples_ai": wide[("samples", True)].groupby(by).sum(),
            "samples_other": wide[("samples", False)].groupby(by).sum(),
        }
    )
    out["var"] = out["var"].where(np.isfinite(out["var"]))
    out["dof"] = (out.samples_ai + out.samples_other - 2).clip(lower=1).astype(float)
    if treated:
        out = out.join(after[after.ai].groupby("workflow_id")[["period_loops", "recent_loops"]].sum())
        shares = segment_shares(after.assign(segment=after.segment.replace("", None)), "ai")
        out["mix"] = mix_distance(shares, False, True).reindex(out.index)
    eligible = (out.weeks >= min_weeks) & (out[["samples_ai", "samples_other"]].min(axis=1) >= min_samples)
    return out[eligible & out["var"].notna()]


__all__ = ["concurrent", "ratio_variance"]
