"""How figures are written, everywhere: never an estimate without its interval, n and evidence."""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd

DEFINITIONS = {
    "hours_returned": (
        "Minutes saved per loop × after-phase loops in the period ÷ 60, summed over workflows with "
        "enough evidence. The interval is the 95% interval of that sum (Welch, variances added)."
    ),
    "loops_removed": (
        "Human time returned, counted in baseline loops: minutes saved per loop × after loops ÷ "
        "baseline minutes per loop. 'The time of 1,240 manual triages.'"
    ),
    "hours_per_week": "Hours returned per week as a run rate over the policy's last weeks of after loops.",
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


def evidence_phrase(record: dict | pd.Series, noun: str = "workflows") -> str:
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
