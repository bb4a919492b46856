"""Every column of the workflow frame, declared once: name, kind (its type and unit) and meaning.

The frame every surface renders (``aiops.views.View.workflows``) has exactly these columns, in this
order (a test pins it). Columns read from an estimate record carry the getter that reads them, so
a phase statistic's column is written here and nowhere else (no name is built at run time);
``aiops.views.columns`` picks the groups the summary, the pack's CSV and the pages show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

import pandas as pd

from aiops.estimates.record import Estimate


class Kind(StrEnum):
    """A column's type and unit."""

    TEXT = "text"
    CODES = "codes"  # a list of codes (warnings, stop conditions)
    FLAG = "flag"
    COUNT = "count"  # an integer count (rows, loops)
    LOOPS = "loops"  # an estimated number of loops (fractional)
    MINUTES = "minutes"  # minutes per loop unless the meaning says otherwise
    MINUTES2 = "minutes²"  # a variance of minutes
    HOURS = "hours"
    HOURS2 = "hours²"
    DAYS = "days"
    MONEY = "money"  # the company's currency
    MONEY2 = "money²"
    SHARE = "share"  # 0..1
    RATIO = "ratio"
    DOF = "degrees of freedom"
    TIME = "time"  # UTC, no offset


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind
    meaning: str
    read: Callable[[Estimate], Any] | None = None  # for the columns an estimate record holds

    @property
    def dtype(self) -> str:
        return _DTYPES.get(self.kind, "float64")


_DTYPES = {
    Kind.TEXT: "object",
    Kind.CODES: "object",
    Kind.FLAG: "bool",
    Kind.COUNT: "int64",
    Kind.TIME: "datetime64[us]",
}

WORKFLOW = (
    Column("workflow_id", Kind.TEXT, "the workflow's id"),
    Column("name", Kind.TEXT, "the workflow's name"),
    Column("department", Kind.TEXT, "the department that owns it"),
    Column("owner", Kind.TEXT, "who answers for it"),
    Column("comparison_workflow_id", Kind.TEXT, "a workflow without AI it is compared with, if any"),
    Column("risk", Kind.TEXT, "the policy's risk level (or unclassified)"),
    Column("status", Kind.TEXT, "the policy's status (or unclassified)"),
    Column("stop_conditions", Kind.CODES, "the stop conditions open on it"),
)

PHASES = (
    Column(
        "samples_before",
        Kind.COUNT,
        "Timing samples (rows) before go-live in the estimate; a row may aggregate several loops.",
        lambda e: e.before.samples,
    ),
    Column("loops_before", Kind.COUNT, "loops before go-live in the estimate", lambda e: e.before.loops),
    Column("minutes_before", Kind.MINUTES, "minutes in all before loops", lambda e: e.before.minutes),
    Column(
        "rework_minutes_before",
        Kind.MINUTES,
        "rework minutes in all before loops",
        lambda e: e.before.rework_minutes,
    ),
    Column(
        "mean_per_loop_before", Kind.MINUTES, "mean minutes per loop before", lambda e: e.before.mean_per_loop
    ),
    Column(
        "median_per_loop_before",
        Kind.MINUTES,
        "median minutes per loop before",
        lambda e: e.before.median_per_loop,
    ),
    Column("first_measured_before", Kind.TIME, "the first before loop", lambda e: e.before.first_measured),
    Column(
        "last_measured_before",
        Kind.TIME,
        "the last before loop in the estimate",
        lambda e: e.before.last_measured,
    ),
    Column(
        "period_loops_before", Kind.COUNT, "before loops done in the period", lambda e: e.before.period_loops
    ),
    Column(
        "recent_loops_before",
        Kind.COUNT,
        "before loops in the run-rate window",
        lambda e: e.before.recent_loops,
    ),
    Column("var_mean_before", Kind.MINUTES2, "variance of the before mean", lambda e: e.before.var_mean),
    Column(
        "raw_samples_before",
        Kind.COUNT,
        "timing rows measured before, set aside or not",
        lambda e: e.before.raw_samples,
    ),
    Column(
        "outlier_samples_before",
        Kind.COUNT,
        "before rows left out as outliers",
        lambda e: e.before.outlier_samples,
    ),
    Column(
        "censored_samples_before",
        Kind.COUNT,
        "before rows left out by the censoring window",
        lambda e: e.before.censored_samples,
    ),
    Column("last_raw_before", Kind.TIME, "the last before timing stored", lambda e: e.before.last_raw),
    Column(
        "samples_after",
        Kind.COUNT,
        "Timing samples (rows) after go-live in the estimate; a row may aggregate several loops.",
        lambda e: e.after.samples,
    ),
    Column("loops_after", Kind.COUNT, "loops after go-live in the estimate", lambda e: e.after.loops),
    Column("minutes_after", Kind.MINUTES, "minutes in all after loops", lambda e: e.after.minutes),
    Column(
        "rework_minutes_after",
        Kind.MINUTES,
        "rework minutes in all after loops",
        lambda e: e.after.rework_minutes,
    ),
    Column(
        "mean_per_loop_after", Kind.MINUTES, "mean minutes per loop after", lambda e: e.after.mean_per_loop
    ),
    Column(
        "median_per_loop_after",
        Kind.MINUTES,
        "median minutes per loop after",
        lambda e: e.after.median_per_loop,
    ),
    Column(
        "first_measured_after", Kind.TIME, "the first after loop (go-live)", lambda e: e.after.first_measured
    ),
    Column(
        "last_measured_after",
        Kind.TIME,
        "the last after loop in the estimate",
        lambda e: e.after.last_measured,
    ),
    Column(
        "period_loops_after", Kind.COUNT, "after loops done in the period", lambda e: e.after.period_loops
    ),
    Column(
        "recent_loops_after", Kind.COUNT, "after loops in the run-rate window", lambda e: e.after.recent_loops
    ),
    Column("var_mean_after", Kind.MINUTES2, "variance of the after mean", lambda e: e.after.var_mean),
    Column(
        "raw_samples_after",
        Kind.COUNT,
        "timing rows measured after, set aside or not",
        lambda e: e.after.raw_samples,
    ),
    Column(
        "outlier_samples_after",
        Kind.COUNT,
        "after rows left out as outliers",
        lambda e: e.after.outlier_samples,
    ),
    Column(
        "censored_samples_after",
        Kind.COUNT,
        "after rows left out by the censoring window",
        lambda e: e.after.censored_samples,
    ),
    Column("last_raw_after", Kind.TIME, "the last after timing stored", lambda e: e.after.last_raw),
)

ESTIMATE = (
    Column("design", Kind.TEXT, "how the saving was measured (a Design)", lambda e: e.design.value),
    Column(
        "saved_per_loop",
        Kind.MINUTES,
        "Minutes per loop without the AI − with it (rework minutes included), as the workflow's design "
        "(named beside it) estimates it, with its 95% interval.",
        lambda e: e.saving.value,
    ),
    Column("saved_var", Kind.MINUTES2, "its variance", lambda e: e.saving.var),
    Column("saved_dof", Kind.DOF, "its degrees of freedom", lambda e: e.saving.dof),
    Column(
        "current_per_loop",
        Kind.MINUTES,
        "minutes saved per loop in the run-rate window",
        lambda e: e.current.value,
    ),
    Column("current_var", Kind.MINUTES2, "its variance", lambda e: e.current.var),
    Column("current_dof", Kind.DOF, "its degrees of freedom", lambda e: e.current.dof),
    Column(
        "concurrent_per_loop",
        Kind.MINUTES,
        "AI vs non-AI loops, kept beside the intention-to-treat figure",
        lambda e: e.concurrent.value if e.concurrent else float("nan"),
    ),
    Column(
        "concurrent_var",
        Kind.MINUTES2,
        "its variance",
        lambda e: e.concurrent.var if e.concurrent else float("nan"),
    ),
    Column(
        "concurrent_dof",
        Kind.DOF,
        "its degrees of freedom",
        lambda e: e.concurrent.dof if e.concurrent else float("nan"),
    ),
    Column(
        "baseline_mean", Kind.MINUTES, "counterfactual minutes per treated loop", lambda e: e.baseline_mean
    ),
    Column(
        "treated_loops", Kind.LOOPS, "loops the saving applies to in the period", lambda e: e.treated_loops
    ),
    Column(
        "treated_recent_loops", Kind.LOOPS, "... in the run-rate window", lambda e: e.treated_recent_loops
    ),
    Column(
        "warnings",
        Kind.CODES,
        "what could be wrong with the figure",
        lambda e: sorted(w.value for w in e.warnings),
    ),
    Column(
        "blocking",
        Kind.CODES,
        "the warnings that keep it from proven",
        lambda e: sorted(w.value for w in e.blocking),
    ),
    Column(
        "segmented", Kind.FLAG, "segments in both phases (a mix shift is reweighted)", lambda e: e.segmented
    ),
    Column("time_kind", Kind.TEXT, "hands_on or elapsed (calendar) time", lambda e: e.time_kind),
)

DERIVED = (
    Column("samples_excluded", Kind.COUNT, "timing rows the estimate set aside (outliers, censoring)"),
    Column("saved_low", Kind.MINUTES, "the saving's 95% interval, low"),
    Column("saved_high", Kind.MINUTES, "the saving's 95% interval, high"),
    Column("current_low", Kind.MINUTES, "the current saving's 95% interval, low"),
    Column("current_high", Kind.MINUTES, "the current saving's 95% interval, high"),
    Column("concurrent_low", Kind.MINUTES, "the AI vs non-AI difference's 95% interval, low"),
    Column("concurrent_high", Kind.MINUTES, "the AI vs non-AI difference's 95% interval, high"),
    Column(
        "evidence",
        Kind.TEXT,
        "insufficient: too few samples in a phase · inconclusive: an interval includes zero · "
        "saving: the 95% intervals of the current saving and of the period's are above zero · "
        "slower: both are below zero. Each interval comes from the workflow's design; every design is "
        "observational, not a controlled experiment.",
    ),
    Column("proven", Kind.FLAG, "the headline's rule: a saving by a gate design, nothing blocking"),
    Column("counts_in_hours", Kind.FLAG, "hands-on time: its saving adds hours"),
    Column(
        "hours_returned",
        Kind.HOURS,
        "Minutes saved per loop × after-phase loops in the period ÷ 60, with its 95% interval (0 for "
        "calendar time). A total counts banked hours only: workflows with enough evidence, hands-on time "
        "and no open stop condition; its interval adds their variances.",
    ),
    Column("hours_var", Kind.HOURS2, "its variance"),
    Column("hours_returned_low", Kind.HOURS, "its 95% interval, low"),
    Column("hours_returned_high", Kind.HOURS, "its 95% interval, high"),
    Column(
        "hours_per_week",
        Kind.HOURS,
        "Hours returned per week as a run rate over the last complete weeks of data (not back from "
        "today: a late upload does not look like a decline); a total counts banked hours only.",
    ),
    Column(
        "loops_removed",
        Kind.LOOPS,
        "Human time returned, counted in baseline loops: minutes saved per loop × after loops ÷ "
        "baseline minutes per loop. 'The time of 1,240 manual triages.'",
    ),
    Column("loops_removed_var", Kind.LOOPS, "its variance (loops²)"),
    Column("loops_removed_low", Kind.LOOPS, "its 95% interval, low"),
    Column("loops_removed_high", Kind.LOOPS, "its 95% interval, high"),
    Column("cycle_time_change_days", Kind.DAYS, "elapsed-time workflows: days faster to close per loop"),
    Column("cycle_time_change_low", Kind.DAYS, "its 95% interval, low"),
    Column("cycle_time_change_high", Kind.DAYS, "its 95% interval, high"),
    Column("last_measured", Kind.TIME, "the last timing stored, also one set aside"),
    Column("baseline_until", Kind.TIME, "the last before loop in the estimate"),
    Column("ai_monthly_cost", Kind.MONEY, "what the AI costs a month"),
    Column("next_checkpoint", Kind.TEXT, "the policy's next approval checkpoint"),
    Column("counted", Kind.FLAG, "an estimate of hands-on hours exists"),
    Column("banked", Kind.FLAG, "counted in the headline: proven, no open stop condition"),
    Column("unproven", Kind.FLAG, "counted, not yet proven: shown beside the headline"),
    Column("at_risk", Kind.FLAG, "counted, with an open stop condition: hours at risk"),
    Column("data_through", Kind.TIME, "where its data ends"),
    Column("hourly_cost", Kind.MONEY, "the department's cost of an hour"),
    Column(
        "value",
        Kind.MONEY,
        "Hours returned × the department's loaded hourly cost (company settings), with its 95% interval; "
        "a total counts banked hours only.",
    ),
    Column("value_var", Kind.MONEY2, "its variance"),
    Column("value_low", Kind.MONEY, "its 95% interval, low"),
    Column("value_high", Kind.MONEY, "its 95% interval, high"),
    Column(
        "ai_cost",
        Kind.MONEY,
        "What the AI costs (licences and usage, per month) for the part of the period the workflow ran "
        "after go-live with data, paused or not: that money is spent either way.",
    ),
    Column(
        "ai_cost_without_data", Kind.MONEY, "AI cost for the weeks a late workflow has no data (never netted)"
    ),
    Column(
        "net_value",
        Kind.MONEY,
        "Value − AI cost, with the value's 95% interval shifted by the cost (the cost is known).",
    ),
    Column("net_value_low", Kind.MONEY, "its 95% interval, low"),
    Column("net_value_high", Kind.MONEY, "its 95% interval, high"),
    Column("roi", Kind.RATIO, "Net value ÷ AI cost."),
    Column("ai_loops", Kind.LOOPS, "after loops done with the AI (among those that record it)"),
    Column("adoption_loops", Kind.LOOPS, "after loops that record whether the AI helped"),
    Column(
        "adoption",
        Kind.SHARE,
        "Share of after-phase loops done with AI, among loops whose upload records it (ai_assisted); "
        "not recorded where no upload records it.",
    ),
)

FRAME = (*WORKFLOW, *PHASES, *ESTIMATE, *DERIVED)
NAMES = tuple(c.name for c in FRAME)
BY_NAME = {c.name: c for c in FRAME}
assert len(BY_NAME) == len(FRAME), "a column is declared twice"


def in_declared_order(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with exactly the declared columns, in their order; a column built but not declared,
    or declared but not built, is a programming error caught here (every view build checks)."""
    built, names = set(frame.columns), set(NAMES)
    if built != names:
        undeclared, missing = sorted(built - names), sorted(names - built)
        raise KeyError(f"frame columns differ from aiops.columns: undeclared {undeclared}, missing {missing}")
    return frame[list(NAMES)]


Names = TypeVar("Names", bound=tuple[str, ...])  # the tuple as given: a triple stays a triple


def declared(names: Names) -> Names:
    """``names``, each checked to be a declared column (a group of columns a surface shows)."""
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise KeyError(f"undeclared frame columns: {unknown}")
    return names
