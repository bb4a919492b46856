"""A lead's department at a glance: each workflow's blockers, and the form that resolves each.

A blocker is what keeps a workflow from counting: an open stop condition, an owner's question not
answered, no reviewer, no baseline timings, or data that stopped arriving. Each names the form that
resolves it (``edit``: the workflow's edit form; ``sign_off``: the sign-off form; ``upload``: an
upload for the workflow)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import pandas as pd

from aiops.classifier import FOUR_QUESTIONS, Classification

Form = Literal["edit", "sign_off", "upload"]
# Data older than this (weeks before today) is stale: the figures describe a past the lead may
# have moved on from. A month of weekly exports missed.
STALE_AFTER_WEEKS = 4
_STOPS: dict[str, tuple[str, Form]] = {
    "no_owner": ("no owner: name the one human who owns it", "edit"),
    "customer_data_without_review": (
        "customer data without review: name a reviewer and how they review",
        "edit",
    ),
    "changes_permissions_billing_production": (
        "changes permissions, billing or production: needs a named approver's sign-off",
        "sign_off",
    ),
    "success_not_measurable": ("no success metric: say how success is measured", "edit"),
    "failure_invisible": ("nobody says how a failure would be noticed", "edit"),
}


@dataclass(frozen=True)
class Blocker:
    kind: str  # the stop code, or "questions", "reviewer", "baseline", "stale"
    text: str
    form: Form


def blockers(row: pd.Series, c: Classification, today: date) -> list[Blocker]:
    """What keeps one workflow (a row of the view's workflow frame) from counting, worst first."""
    found = [Blocker(s.code, *_STOPS.get(s.code, (s.reason, "edit"))) for s in c.stop_conditions]
    questions = [FOUR_QUESTIONS[q] for q in c.unanswered_questions if q != "reviewer"]
    if questions:
        found.append(Blocker("questions", f"{len(questions)} unanswered: {' '.join(questions)}", "edit"))
    if "reviewer" in c.unanswered_questions and "customer_data_without_review" not in c.stop_codes:
        found.append(Blocker("reviewer", "no reviewer: say who reviews its output", "edit"))
    if not row.samples_before:
        found.append(Blocker("baseline", "no baseline (before) timings yet: upload an export", "upload"))
    stale = stale_data(row.last_measured, today)
    if stale:
        found.append(Blocker("stale", stale, "upload"))
    return found


def stale_data(last: object, today: date) -> str | None:
    """ "last data 2026-09-30, 9 weeks ago" when the last timing is older than ``STALE_AFTER_WEEKS``."""
    if last is None or pd.isna(last):
        return None
    day = pd.Timestamp(last).date()
    weeks = (today - day).days // 7
    if weeks < STALE_AFTER_WEEKS:
        return None
    return f"last data {day:%Y-%m-%d}, {weeks} weeks ago: upload the latest export"
