"""The KPI summary per department and for the company (`aiops report summary`), from the read model."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pandas as pd

from aiops.estimates.codes import HEADLINE_RULE
from aiops.period import Period
from aiops.store import Store
from aiops.views import View, build_view
from aiops.views.columns import SUMMARY_COLUMNS

WORKFLOW_COLUMNS = list(SUMMARY_COLUMNS)  # aiops.views.columns: declared once


def summarize(
    store: Store, period: Period | None = None, as_of: datetime | None = None, view: View | None = None
) -> dict[str, Any]:
    """Company and department totals (with intervals) and the per-workflow figures behind them.
    ``period`` None: the default period (the last complete quarter with data)."""
    if view is None:
        from aiops.period import default_period
        from aiops.views import data_bounds

        view = build_view(store, period or default_period(*data_bounds(store))[0], as_of)
    return summary_of(view)


def summary_of(view: View) -> dict[str, Any]:
    company = view.company.record()
    company["statuses"] = view.workflows.status.value_counts().to_dict()
    p = view.period
    return {
        "period": {
            "start": p.start,
            "end": p.end,
            "label": p.label,
            "name": view.name,
            "complete": view.complete,
            "data_through": view.data_through,
            "run_rate": view.run_rate_label,
        },
        "generated_at": view.generated_at,
        "company_name": view.company_settings.name,
        "currency": view.currency,
        "policy_version": view.policy_version,
        "interval_level": view.interval_level,
        "headline_rule": HEADLINE_RULE,
        "company": _clean(company),
        "departments": [_clean(d.record("department")) for d in view.departments],
        "workflows": [_clean(w) for w in view.workflows[WORKFLOW_COLUMNS].to_dict("records")],
    }


def _clean(record: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready values: NaN as None, numpy scalars as Python, lists as lists."""
    out = {}
    for key, value in record.items():
        if hasattr(value, "tolist"):
            value = value.tolist()
        if isinstance(value, float) and math.isnan(value):
            value = None
        if value is pd.NaT:
            value = None
        out[key] = value
    return out
