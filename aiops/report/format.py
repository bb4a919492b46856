"""How figures are written, everywhere: never an estimate without its interval, n and evidence."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pandas as pd

from aiops.estimates import DESIGN_HELP, WARNING_HELP

DEFINITIONS = {
    "hours_returned": (
        "Banked hours: minutes saved per loop × after-phase loops in the period ÷ 60, summed over "
        "workflows with enough evidence, hands-on time and no open stop condition. The interval is the "
        "95% interval of that sum (variances added)."
    ),
    "hours_at_risk": (
        "Hours from workflows with an open stop condition (paused): shown beside the banked hours, "
        "never added in. They count once the stop conditions close."
    ),
    "value": "Banked hours × the department's loaded hourly cost (company settings), with the 95% interval.",
    "ai_cost": (
        "What the workflows' AI costs (licences and usage, per month) for the part of the period each "
        "ran after go-live, paused workflows included: that money is spent either way."
    ),
    "net_value": "Value − AI cost, with the value's 95% interval shifted by the cost (the cost is known).",
    "roi": "Net value ÷ AI cost.",
    "adoption": "Share of after-phase loops done with AI, among loops whose upload records it (ai_assisted).",
    "loops_removed": (
        "Human time returned, counted in baseline loops: minutes saved per loop × after loops ÷ "
        "baseline minutes per loop. 'The time of 1,240 manual triages.'"
    ),
    "hours_per_week": (
        "Banked hours per week as a run rate over the last complete weeks of data (not back from today: "
        "a late upload does not look like a decline)."
    ),
    "saved_per_loop": (
        "Baseline mean minutes per loop − after mean (after includes rework minutes), with a 95% "
        "Welch interval for the difference of means."
    ),
    "evidence": (
        "insufficient: too few samples in a phase · inconclusive: the 95% interval includes zero · "
        "saving: the interval is above zero · slower: the interval is below zero. "
        "Before/after is observational, not a controlled experiment."
    ),
    "open_stop_conditions": (
        "Reasons a workflow must pause: no owner, customer data without review, changes to "
        "permissions/billing/production without sign-off, success not measurable, failure invisible."
    ),
    "n": "Timing samples (rows) before / after go-live; a row may aggregate several loops.",
}


def number(value: float | None, decimals: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.{decimals}f}"


def interval(low: float | None, high: float | None, decimals: int = 0) -> str:
    return f"95% CI {number(low, decimals)} to {number(high, decimals)}"


def evidence_phrase(record: dict[str, Any] | pd.Series, noun: str = "workflows") -> str:
    """`24 saving · 2 inconclusive · 1 slower · 6 insufficient`."""
    parts = [
        f"{int(record[f'evidence_{label}'])} {label}"
        for label in ("saving", "inconclusive", "slower", "insufficient")
        if int(record[f"evidence_{label}"])
    ]
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
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.0%}"


def design_words(code: object) -> str:
    """A design code in plain words (``aiops.estimates.DESIGN_HELP``)."""
    if code is None or (isinstance(code, float) and math.isnan(code)) or code == "":
        return "before/after (unadjusted)"
    text = DESIGN_HELP.get(str(code), str(code).replace("_", " "))
    return f"{str(code).replace('_', ' ')}: {text}"


def warning_words(code: object) -> str:
    return f"{str(code).replace('_', ' ')}: {WARNING_HELP.get(str(code), 'see the methodology')}"
