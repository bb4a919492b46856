"""One frozen record per workflow: what the estimates return, before any frame is built."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from aiops.estimates.codes import Design, WarningCode, blocking
from aiops.estimates.fit import Coef

NO_SAVING = Coef(float("nan"), float("nan"), float("nan"))


@dataclass(frozen=True, slots=True)
class Estimate:
    workflow_id: str
    design: Design
    saving: Coef  # minutes saved per treated loop, averaged over the period's after loops
    current: Coef  # the same in the run-rate window (the last weeks of data): status and run rate
    baseline_mean: float  # counterfactual minutes per treated loop
    treated_loops: float  # loops the saving applies to in the period (AI-assisted ones for concurrent)
    treated_recent_loops: float  # ... in the run-rate window
    warnings: frozenset[WarningCode]
    segmented: bool  # segments in both phases: a mix shift is reweighted, not blocking
    elapsed: bool  # uploaded as calendar (open -> close) time
    concurrent: Coef | None = None  # AI vs non-AI loops, shown beside the intention-to-treat figure

    @property
    def blocking(self) -> frozenset[WarningCode]:
        return blocking(self.warnings, self.segmented)


# The frame columns ``to_frame`` writes, in order (declared once; ``metrics`` builds on them).
COLUMNS = (
    "design",
    "saved_per_loop",
    "saved_var",
    "saved_dof",
    "current_per_loop",
    "current_var",
    "current_dof",
    "concurrent_per_loop",
    "concurrent_var",
    "concurrent_dof",
    "baseline_mean",
    "treated_loops",
    "treated_recent_loops",
    "warnings",
    "blocking",
    "segmented",
    "time_kind",
)


def _coef(c: Coef | None) -> tuple[float, float, float]:
    c = c or NO_SAVING
    return c.value, c.var, c.dof


def to_frame(records: list[Estimate]) -> pd.DataFrame:
    """The records as a frame indexed by workflow_id (the read model's estimate columns)."""
    rows = [
        (
            r.design.value,
            *_coef(r.saving),
            *_coef(r.current),
            *_coef(r.concurrent),
            r.baseline_mean,
            r.treated_loops,
            r.treated_recent_loops,
            sorted(w.value for w in r.warnings),
            sorted(w.value for w in r.blocking),
            r.segmented,
            "elapsed" if r.elapsed else "hands_on",
        )
        for r in records
    ]
    index = pd.Index([r.workflow_id for r in records], name="workflow_id")
    return pd.DataFrame(rows, index=index, columns=list(COLUMNS))
