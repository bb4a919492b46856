"""Weekly means per workflow and phase from cells, as numpy series for the per-workflow designs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from aiops.estimates.designs import WeeklySeries

EPOCH = np.datetime64("1970-01-01")


def _days(weeks: pd.Series) -> np.ndarray:
    return ((weeks.to_numpy().astype("datetime64[D]") - EPOCH) / np.timedelta64(1, "D")).astype(float)


def weekly_means(cells: pd.DataFrame, shares: pd.DataFrame | None, reweight: set[str]) -> pd.DataFrame:
    """Rows (workflow_id, week, phase, day, loops, y, current) in time order per workflow (the HAC
    variances assume it). For workflows in ``reweight`` the after weeks' means are taken at the
    baseline segment mix (``shares["before"]``) over the segments present."""
    keys = ["workflow_id", "week", "phase"]
    groups = cells.groupby(keys, sort=True)  # two reductions of one grouping: no named-agg step
    weeks = groups[["loops", "minutes"]].sum()
    weeks["current"] = groups["current"].any()
    weeks["y"] = weeks.minutes / weeks.loops
    if reweight and shares is not None and "before" in shares:
        after = cells[(cells.phase == "after") & cells.workflow_id.isin(reweight) & cells.segment.notna()]
        seg = after.groupby(["workflow_id", "week", "segment"])[["loops", "minutes"]].sum()
        p = shares["before"].reindex(seg.index.droplevel("week")).to_numpy()
        seg["pm"], seg["p"] = p * seg.minutes / seg.loops, p
        seg = seg[np.isfinite(seg.p)].groupby(level=["workflow_id", "week"])[["pm", "p"]].sum()
        adjusted = (seg.pm / seg.p).rename("y_mix").to_frame()
        adjusted["phase"] = "after"
        weeks = weeks.join(adjusted.set_index("phase", append=True))
        weeks["y"] = weeks.y_mix.fillna(weeks.y)
        weeks = weeks.drop(columns="y_mix")
    weeks = weeks.reset_index()
    weeks["day"] = _days(weeks.week)
    return weeks


def pooled_weekly(cells: pd.DataFrame) -> pd.DataFrame:
    """Weekly means per workflow over both phases (for a comparison workflow)."""
    weeks = cells.groupby(["workflow_id", "week"], sort=True)[["loops", "minutes"]].sum().reset_index()
    weeks["y"] = weeks.minutes / weeks.loops
    weeks["day"] = _days(weeks.week)
    return weeks


def _bounds(ids: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of equal ids (the frame is sorted by workflow)."""
    if not len(ids):
        return []
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    return list(zip(starts.tolist(), np.r_[starts[1:], len(ids)].tolist(), strict=True))


def split(weeks: pd.DataFrame) -> Iterator[tuple[str, WeeklySeries]]:
    """(workflow_id, series) for each workflow, without a pandas groupby per workflow."""
    ids = weeks.workflow_id.to_numpy()
    day, y, loops = weeks.day.to_numpy(), weeks.y.to_numpy(float), weeks.loops.to_numpy(float)
    post = (weeks.phase == "after").to_numpy()
    current = post & weeks.current.to_numpy(bool)
    for a, b in _bounds(ids):
        yield (
            ids[a],
            WeeklySeries(day=day[a:b], post=post[a:b], y=y[a:b], loops=loops[a:b], current=current[a:b]),
        )


@dataclass(frozen=True, slots=True)
class ComparisonWeeks:
    """A comparison workflow's weekly means (``pooled_weekly``), in time order."""

    day: np.ndarray  # days since the epoch of the week's Monday
    y: np.ndarray


def series_by_id(weeks: pd.DataFrame) -> dict[str, ComparisonWeeks]:
    ids = weeks.workflow_id.to_numpy()
    day, y = weeks.day.to_numpy(), weeks.y.to_numpy(float)
    return {ids[a]: ComparisonWeeks(day=day[a:b], y=y[a:b]) for a, b in _bounds(ids)}
