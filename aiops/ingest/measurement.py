"""What an upload measures: the kind of time, one-phase files, the go-live's place in the data, and
the optional per-loop columns (AI-assisted, segment).

- ``time_kind``: `hands_on` (someone's working time) or `elapsed` (open → close calendar time). A
  mapping may say; otherwise an event log is elapsed and everything else hands-on. Presets of
  ticket, issue, pull-request, deal and case exports say `elapsed`.
- A go-live outside the file's data (no loop before it, or none after) is refused at preview, with
  the file's date range, unless the lead says the file is one phase only (``phase_only``).
- A hands-on upload shaped like calendar time is flagged (the estimates' own rule): more than the
  policy's ``long_loop_share`` of its loops last longer than ``long_loop_hours``, or even its
  quickest quarter of loops takes ``quick_quarter_hours``.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from aiops.ingest.checks import Check
from aiops.ingest.mapping import TimingMapping
from aiops.policy import EvidenceRules
from aiops.sql import sql_literal

AI_YES = ("yes", "y", "true", "1")
AI_NO = ("no", "n", "false", "0")


def ai_assisted_sql(raw: str) -> str:
    """The flag from its text (case-insensitive); NULL for an unrecognised value."""
    key = f"lower(trim({raw}))"
    yes = ", ".join(sql_literal(v) for v in AI_YES)
    no = ", ".join(sql_literal(v) for v in AI_NO)
    return f"CASE WHEN {key} IN ({yes}) THEN true WHEN {key} IN ({no}) THEN false END"


def loop_labels(columns: dict[str, str], text: Callable[[str], str], checks: list[Check]) -> dict[str, str]:
    """The optional per-loop fields (NULL when not mapped): the AI-assisted flag, checked (any
    other value rejects its record, quoted in the reason), and the segment as text."""
    fields: dict[str, str] = {}
    if "ai_assisted" in columns:
        fields["ai_raw"] = text("ai_assisted")  # defined before the flag that reads it
        checks.append(
            Check(
                "ai_raw IS NOT NULL AND ai_assisted IS NULL",
                columns["ai_assisted"],
                "not a yes/no value for ai_assisted (use yes/no, true/false, 1/0 or y/n)",
                show="ai_raw",
            )
        )
    fields["ai_assisted"] = ai_assisted_sql("ai_raw") if "ai_raw" in fields else "NULL::BOOLEAN"
    fields["segment"] = f"nullif(trim({text('segment')}), '')" if "segment" in columns else "NULL::VARCHAR"
    return fields


def fixed_phase(mapping: TimingMapping) -> str | None:
    """SQL for the phase of every loop of a one-phase file with no other phase source."""
    if mapping.phase_only and mapping.go_live is None and mapping.phase_column is None:
        return "$phase_only::VARCHAR"  # bound: see ``timing_sql.mapping_params``
    return None


def _day(value: object) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def phase_problems(figures: pd.DataFrame, mapping: TimingMapping) -> list[str]:
    """Why this upload cannot be committed as mapped: a go-live outside the data, or a one-phase
    file with loops in the other phase. ``figures``: the accepted rows' loops, first and last
    measured per workflow and phase (``timing_report.build_report``)."""
    if figures.empty:
        return []
    counts = figures.groupby("phase").loops.sum().to_dict()
    first, last = figures.first_measured.min(), figures.last_measured.max()
    span = f"the file's loops run from {_day(first)} to {_day(last)}"
    if mapping.phase_only:
        other = "after" if mapping.phase_only == "before" else "before"
        if counts.get(other):
            return [
                f"the file is marked as {mapping.phase_only} go-live only, but {int(counts[other])} loops "
                f"are {other} it ({span})"
            ]
        return []
    if mapping.go_live is None:
        return []
    for missing, side in (("before", "before every loop"), ("after", "after every loop")):
        if not counts.get(missing):
            return [
                f"go-live {mapping.go_live} is {side} in the file: {span}; "
                f"no loop is {missing} go-live. Check the date, or say the file is one phase only "
                f"(--phase {'before' if missing == 'after' else 'after'})"
            ]
    return []


def long_loop_warning(figures: pd.DataFrame, mapping: TimingMapping, rules: EvidenceRules) -> list[str]:
    """A hands-on upload shaped like open -> close calendar time: the question the preview asks.
    ``figures``: per workflow and phase, the accepted rows' ``loops``, ``long_loops`` (longer than
    ``long_loop_hours``) and ``q1_minutes`` (the first quartile of minutes per loop)."""
    if mapping.kind != "hands_on" or figures.empty:
        return []
    long, total = int(figures.long_loops.sum()), int(figures.loops.sum())
    quick = float(figures.q1_minutes.max())
    if total and long / total > rules.long_loop_share:
        shape = f"{long / total:.0%} of the loops last longer than {rules.long_loop_hours:g} hours"
    elif quick >= rules.quick_quarter_hours * 60:
        shape = f"even the quickest quarter of the loops takes {quick / 60:,.1f} hours or more"
    else:
        return []
    return [
        f"{shape}: these look like open → close calendar times, not hands-on time. Upload them as elapsed "
        "time (--time-kind elapsed)? Until then they are flagged (elapsed_time) and their hours are not "
        "counted as returned"
    ]
