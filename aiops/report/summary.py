"""The KPI summary per department and for the company (`aiops report summary`)."""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd

from aiops.metrics import Period, rollup, workflow_metrics
from aiops.store import Store, utcnow

WORKFLOW_COLUMNS = [
    "workflow_id",
    "name",
    "department",
    "owner",
    "risk",
    "status",
    "evidence",
    "stop_conditions",
    "samples_before",
    "samples_after",
    "loops_before",
    "loops_after",
    "mean_per_loop_before",
    "mean_per_loop_after",
    "median_per_loop_before",
    "median_per_loop_after",
    "rework_minutes_after",
    "saved_per_loop",
    "saved_low",
    "saved_high",
    "period_loops_after",
    "hours_returned",
    "hours_returned_low",
    "hours_returned_high",
    "hours_per_week",
    "loops_removed",
    "loops_removed_low",
    "loops_removed_high",
    "last_measured",
    "baseline_until",
]


def summarize(store: Store, period: Period = Period(), as_of: datetime | None = None) -> dict:
    """Company and department totals (with intervals) and the per-workflow figures behind them."""
    rules = store.policy.evidence
    metrics = workflow_metrics(store, rules, period, as_of)
    company = rollup(metrics, None, rules.interval_level).iloc[0].to_dict()
    company["statuses"] = metrics.status.value_counts().to_dict()
    return {
        "period": {"start": period.start, "end": period.end, "label": period.label},
        "generated_at": utcnow(),
        "policy_version": store.policy.version,
        "interval_level": rules.interval_level,
        "company": _clean(company),
        "departments": [
            _clean(d) for d in rollup(metrics, "department", rules.interval_level).to_dict("records")
        ],
        "workflows": [_clean(w) for w in metrics[WORKFLOW_COLUMNS].to_dict("records")],
    }


def _clean(record: dict) -> dict:
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
