"""A period's part of the view (its metrics frame, weekly cells, adoption and totals), kept by what it
was computed from, so that a write that does not change a period does not rebuild it.

Most uploads add recent weeks, while every surface opens on the last complete period
(``aiops.period.default_period``): such an upload changes the view's data bounds and freshness, not
that period's figures. The key is content only, like the estimates' (``aiops.estimates.cache``):
- the timing rows before the period's end (count and a sum of each row's hash, workflow included:
  any row added, removed, moved or changed moves it; read by ``aiops.views.rows_state``);
- the workflows as stored (every column) and what the frame reads of their classifications;
- the period, the end the run rate reads up to, what "late data" is measured against (the company's
  last timing, clipped to the period), the evidence rules and the company's settings.
Kept in this process (the code that builds a part cannot change while it runs) and, on a DuckDB
file, in the store with the code's hash (``aiops.views.part_store``): a new process starts warm.
Never when figures are computed afresh (``computed_afresh``).

An upload of later weeks often changes its workflow's classification (its status moves on the
evidence the new weeks add, a stop condition opens or closes) and nothing else of the period shown:
the figures do not read the classifications, only the labels (risk, status, stop conditions, next
checkpoint) and what follows from them (banked, unproven, at risk, the totals) do. So a
part is also kept by its figures' inputs alone, and a write that changed only classifications
relabels it instead of computing every workflow's figures again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property, partial

import pandas as pd

from aiops.clock import utcnow
from aiops.estimates.cache import afresh
from aiops.lru import Lru
from aiops.metrics import weekly_series
from aiops.period import Period
from aiops.policy import EvidenceRules
from aiops.store import Reader
from aiops.views import part_store
from aiops.views.company import CompanySettings
from aiops.views.facts import Facts
from aiops.views.rows_state import RowsState


@dataclass(frozen=True)
class Stored:
    """What a period's part reads from the store, summed up: for its figures (the timing rows
    before its end, the workflows) and for its labels (the classifications)."""

    figures: str
    labels: str


def stored_inputs(periods: list[Period], rows: RowsState, facts: Facts) -> dict[Period, Stored]:
    """What each period's part reads from the store (``rows`` and ``facts``: at one moment, the
    rows' figures holding each period's end); empty when figures are computed afresh: nothing is
    kept then."""
    if afresh():
        return {}
    return {
        period: Stored(json.dumps([rows.key(period.bounds()[1]), facts.workflows]), facts.labels)
        for period in periods
    }


@dataclass(frozen=True)
class Inputs:
    """What a period's part is computed from, besides the stored rows."""

    period: Period
    rules: EvidenceRules
    company: CompanySettings
    reference_end: datetime | None  # what late data is measured against: the last timing, in the period
    run_rate_end: date | None  # the run rate's end (None: the period's end)

    def reads_the_clock(self, now: datetime) -> bool:
        """Without a run-rate end, the run rate looks back from the period's end or from now,
        whichever is earlier: from the clock, which no key holds, unless the period has ended."""
        end = self.period.bounds()[1]
        return self.run_rate_end is None and (end is None or end > now)

    def described(self) -> list[object]:
        return [
            str(self.period),
            self.rules.model_dump(mode="json"),
            self.company.model_dump(mode="json"),
            str(self.reference_end),
            str(self.run_rate_end),
        ]


@dataclass(frozen=True)
class Part(part_store.PartFields):
    """One period's figures (its fields are what the store keeps; ``weeks``:
    ``aiops.metrics.weekly_cells``). Treat the frames as read-only: every view that shows the
    period shares them."""

    @cached_property
    def weekly(self) -> pd.DataFrame:
        """``aiops.metrics.weekly_series`` with each workflow's name and whether it is banked or at
        risk (computed when first read: a previous period's part is read for its totals only)."""
        shown = self.frame[["workflow_id", "banked", "at_risk", "name"]].set_index("workflow_id")
        return weekly_series(self.weeks, self.frame).join(shown, on="workflow_id")

    @cached_property
    def stop_counts(self) -> pd.DataFrame:
        """department, code, workflows, names: one row per open stop condition kind and department."""
        return _stop_counts(self.frame)


PARTS: Lru[str, Part] = Lru(16)
# The last part kept for the same figures' inputs, whatever its labels: the one a write that
# changed only classifications relabels (in this process only).
FIGURES: Lru[str, Part] = Lru(16)


def kept_part(
    db: Reader,
    stored: Stored,
    inputs: Inputs,
    compute: Callable[[], Part],
    relabel: Callable[[Part], Part],
) -> Part:
    """The period's part: kept when its inputs (``stored``: ``stored_inputs``) are unchanged, in
    this process or in the store (``aiops.views.part_store``); else ``relabel`` of the part kept
    for the same figures, when there is one; else ``compute()``. Kept either way."""
    figures = _digest([stored.figures, *inputs.described()])
    key = _digest([figures, stored.labels])
    part = PARTS.get(key) or part_store.load(db, key, Part)
    if part is None:
        same_figures = FIGURES.get(figures)
        part = compute() if same_figures is None else relabel(same_figures)
        db.later(partial(part_store.keep, db, key, part, utcnow()))  # off the read's path
    PARTS.put(key, part)
    FIGURES.put(figures, part)
    return part


def _digest(described: list[object]) -> str:
    return hashlib.sha256(json.dumps(described).encode()).hexdigest()


def _stop_counts(frame: pd.DataFrame) -> pd.DataFrame:
    open_ = frame[frame.stop_conditions.map(len) > 0][["department", "name", "stop_conditions"]]
    exploded = open_.explode("stop_conditions").rename(columns={"stop_conditions": "code"})
    if exploded.empty:
        return pd.DataFrame(columns=["department", "code", "workflows", "names"])
    return (
        exploded.groupby(["department", "code"], as_index=False)
        .agg(workflows=("name", "size"), names=("name", "; ".join))
        .sort_values(["department", "code"])
        .reset_index(drop=True)
    )
