"""How figures are written, everywhere: never an estimate without its interval, n and evidence."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pandas as pd

from aiops.columns import BY_NAME
from aiops.estimates import DESIGN_HELP, WARNING_HELP, design_method
from aiops.estimates.codes import Design, EvidenceLabel

# What every table and sentence shows where a figure was not recorded (or cannot be computed).
NOT_RECORDED = "—"

# The designs a saving can come from, strongest first (``aiops.estimates.choose`` picks one per workflow).
ESTIMATE_DESIGNS = tuple(design for design in Design if design is not Design.NONE)


def designs_phrase() -> str:
    """`concurrent comparison, difference-in-differences, interrupted time series or unadjusted
    before/after`, from ``DESIGN_HELP``."""
    names = [design_method(code)[0].lower() + design_method(code)[1:] for code in ESTIMATE_DESIGNS]
    return ", ".join(names[:-1]) + " or " + names[-1]


def intervals_note() -> str:
    """Where every interval comes from, in one sentence (captions, the Policy page, the pack)."""
    return (
        f"each 95% interval comes from the workflow's design ({designs_phrase()}); "
        "every design is observational, not a controlled experiment"
    )


# What the pages and the pack define that is not a frame column (a frame column's meaning is declared
# once, in aiops.columns): totals of the departments and the company, and the `n = …` notation.
CONCEPTS = {
    "hours_at_risk": (
        "Hours from workflows with an open stop condition (paused): shown beside the banked hours, "
        "never added in. They count once the stop conditions close."
    ),
    "open_stop_conditions": (
        "Reasons a workflow must pause: no owner, customer data without review, changes to "
        "permissions/billing/production without sign-off, success not measurable, failure invisible."
    ),
    "n": "Timing samples (rows) before / after go-live; a row may aggregate several loops.",
}


def definition(name: str) -> str:
    """The help text of ``name``: a frame column's declared meaning, or one of the ``CONCEPTS``."""
    column = BY_NAME.get(name)
    return column.meaning if column is not None else CONCEPTS[name]


# The pack's glossary (and any help text looked up by name), in the order the pack lists it.
DEFINITIONS = {
    name: definition(name)
    for name in (
        "hours_returned",
        "hours_at_risk",
        "value",
        "ai_cost",
        "net_value",
        "roi",
        "adoption",
        "loops_removed",
        "hours_per_week",
        "saved_per_loop",
        "evidence",
        "open_stop_conditions",
        "n",
    )
}


def number(value: float | None, decimals: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NOT_RECORDED
    return f"{value:,.{decimals}f}"


def interval(low: float | None, high: float | None, decimals: int = 0) -> str:
    return f"95% CI {number(low, decimals)} to {number(high, decimals)}"


# Each evidence label and the field that counts its workflows (``aiops.views.totals.Totals``).
EVIDENCE_COUNTS = (
    (EvidenceLabel.SAVING, "evidence_saving"),
    (EvidenceLabel.INCONCLUSIVE, "evidence_inconclusive"),
    (EvidenceLabel.SLOWER, "evidence_slower"),
    (EvidenceLabel.INSUFFICIENT, "evidence_insufficient"),
)


def evidence_phrase(record: dict[str, Any] | pd.Series, noun: str = "workflows") -> str:
    """`24 saving · 2 inconclusive · 1 slower · 6 insufficient`."""
    parts = [f"{int(record[field])} {label}" for label, field in EVIDENCE_COUNTS if int(record[field])]
    return " · ".join(parts) or f"no {noun}"


def n_phrase(before: int, after: int) -> str:
    return f"n = {before:,} before / {after:,} after"


def estimate(
    value: float | None, low: float | None, high: float | None, unit: str = "", decimals: int = 0
) -> str:
    """`2,129 h (95% CI 2,038 to 2,220)`."""
    suffix = f" {unit}" if unit else ""
    return f"{number(value, decimals)}{suffix} ({interval(low, high, decimals)})"


def age(moment: datetime | pd.Timestamp | None, now: datetime) -> str:
    if moment is None or pd.isna(moment):
        return "never"
    days = (pd.Timestamp(now) - pd.Timestamp(moment)).days
    return "today" if days <= 0 else f"{days} day{'s' if days != 1 else ''} ago"


def money(value: float | None, currency: str, decimals: int = 0) -> str:
    """`80,251 EUR`."""
    return f"{number(value, decimals)} {currency}"


def money_estimate(value: float | None, low: float | None, high: float | None, currency: str) -> str:
    """`80,251 EUR (95% CI 76,100 to 84,400)`."""
    return estimate(value, low, high, currency)


def share(value: float | None) -> str:
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    return NOT_RECORDED if missing else f"{value:.0%}"


def design_words(code: object) -> str:
    """A design code in plain words (``aiops.estimates.DESIGN_HELP``)."""
    if code is None or (isinstance(code, float) and math.isnan(code)) or code == "":
        return "before/after (unadjusted)"
    text = DESIGN_HELP.get(str(code), str(code).replace("_", " "))
    return f"{str(code).replace('_', ' ')}: {text}"


def design_name(code: object) -> str:
    """A design code as its method's name (`Interrupted time series`), for narrow table columns."""
    if code is None or (isinstance(code, float) and math.isnan(code)) or code == "":
        code = Design.BEFORE_AFTER
    return design_method(str(code)) if str(code) in DESIGN_HELP else str(code).replace("_", " ")


def warning_words(code: object) -> str:
    return f"{str(code).replace('_', ' ')}: {WARNING_HELP.get(str(code), 'see the methodology')}"
