"""One frozen record per workflow: what the estimates return, before any frame is built.

A record round-trips through JSON (``to_json`` / ``from_json``): the estimate cache stores it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import pandas as pd

from aiops.estimates.codes import Design, WarningCode, blocking
from aiops.estimates.fit import Coef

NO_SAVING = Coef(value=float("nan"), var=float("nan"), dof=float("nan"))


@dataclass(frozen=True, slots=True)
class PhaseStats:
    """One phase of one workflow, as measured (after censoring and the outlier fence)."""

    samples: int = 0  # timing rows that entered the estimate
    loops: int = 0
    minutes: float = 0.0  # duration plus rework
    rework_minutes: float = 0.0
    mean_per_loop: float = math.nan  # total minutes over total loops (a ratio estimator)
    median_per_loop: float = math.nan  # of the rows before the fence
    var_mean: float = math.nan  # the ratio estimator's variance
    first_measured: datetime | None = None
    last_measured: datetime | None = None
    period_loops: int = 0  # loops done in the period, also those the estimate set aside
    recent_loops: int = 0  # ... in the run-rate window
    raw_samples: int = 0  # timing rows measured, also those set aside
    outlier_samples: int = 0
    censored_samples: int = 0
    last_raw: datetime | None = None  # the last timing stored, also one set aside


NO_PHASE = PhaseStats()


def phase_records(phase: pd.DataFrame) -> dict[str, PhaseStats]:
    """A phase frame (``phases.by_phase``) as one record per workflow (its index); a phase without
    rows is ``NO_PHASE``. Read row by row as plain values: a Series per row costs ~50 µs, and
    ``to_dict("index")`` twice what a list per column costs."""
    columns = {name: phase[name].tolist() for name in phase.columns}
    rows = (dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True))
    return {workflow_id: _phase_record(row) for workflow_id, row in zip(phase.index, rows, strict=True)}


def _phase_record(row: dict[str, Any]) -> PhaseStats:
    if not row["samples"] > 0 and not row["raw_samples"] > 0:
        return NO_PHASE
    return PhaseStats(
        samples=_int(row["samples"]),
        loops=_int(row["loops"]),
        minutes=float(row["minutes"]),
        rework_minutes=float(row["rework_minutes"]),
        mean_per_loop=float(row["mean_per_loop"]),
        median_per_loop=float(row["median_per_loop"]),
        var_mean=float(row["var_mean"]),
        first_measured=_time(row["first_measured"]),
        last_measured=_time(row["last_measured"]),
        period_loops=_int(row["period_loops"]),
        recent_loops=_int(row["recent_loops"]),
        raw_samples=_int(row["raw_samples"]),
        outlier_samples=_int(row["outlier_samples"]),
        censored_samples=_int(row["censored_samples"]),
        last_raw=_time(row["last_raw"]),
    )


def _int(value: Any) -> int:
    return 0 if pd.isna(value) else int(value)


def _time(value: Any) -> datetime | None:
    return None if pd.isna(value) else pd.Timestamp(value).to_pydatetime()


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
    before: PhaseStats = NO_PHASE
    after: PhaseStats = NO_PHASE
    concurrent: Coef | None = None  # AI vs non-AI loops, shown beside the intention-to-treat figure

    @property
    def blocking(self) -> frozenset[WarningCode]:
        return blocking(self.warnings, self.segmented)

    @property
    def time_kind(self) -> str:
        return "elapsed" if self.elapsed else "hands_on"


def to_json(record: Estimate) -> dict[str, Any]:
    """The record as JSON values (times as ISO text, codes as their names; NaN and infinity stay
    floats: Python's json writes and reads them)."""
    return {
        "workflow_id": record.workflow_id,
        "design": record.design.value,
        "saving": _coef_json(record.saving),
        "current": _coef_json(record.current),
        "concurrent": _coef_json(record.concurrent) if record.concurrent else None,
        "baseline_mean": record.baseline_mean,
        "treated_loops": record.treated_loops,
        "treated_recent_loops": record.treated_recent_loops,
        "warnings": sorted(w.value for w in record.warnings),
        "segmented": record.segmented,
        "elapsed": record.elapsed,
        "before": _phase_json(record.before),
        "after": _phase_json(record.after),
    }


def from_json(data: dict[str, Any]) -> Estimate:
    concurrent = data["concurrent"]
    return Estimate(
        workflow_id=data["workflow_id"],
        design=Design(data["design"]),
        saving=_coef(data["saving"]),
        current=_coef(data["current"]),
        concurrent=_coef(concurrent) if concurrent else None,
        baseline_mean=data["baseline_mean"],
        treated_loops=data["treated_loops"],
        treated_recent_loops=data["treated_recent_loops"],
        warnings=frozenset(WarningCode(w) for w in data["warnings"]),
        segmented=data["segmented"],
        elapsed=data["elapsed"],
        before=_phase(data["before"]),
        after=_phase(data["after"]),
    )


def _coef_json(c: Coef) -> dict[str, float]:
    return {"value": c.value, "var": c.var, "dof": c.dof}


def _coef(data: dict[str, float]) -> Coef:
    return Coef(value=data["value"], var=data["var"], dof=data["dof"])


_TIMES = ("first_measured", "last_measured", "last_raw")


def _phase_json(phase: PhaseStats) -> dict[str, Any]:
    out = {f.name: getattr(phase, f.name) for f in fields(PhaseStats)}
    for name in _TIMES:
        out[name] = out[name] and out[name].isoformat()
    return out


def _phase(data: dict[str, Any]) -> PhaseStats:
    values = dict(data)
    for name in _TIMES:
        values[name] = values[name] and datetime.fromisoformat(values[name])
    return PhaseStats(**values)
