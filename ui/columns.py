"""How the dashboard's tables label the workflow frame's columns, declared once: an estimate always
comes with its 95% interval, the sample sizes and money columns always read the same way.
(Which columns a table lists is declared in aiops.views.columns.)"""

from __future__ import annotations

from typing import Any

import streamlit as st

from aiops.columns import declared
from aiops.report.format import definition
from aiops.views.columns import NET_VALUE, SAMPLES, VALUE

# Each money column (a declared frame column, or a total of the same name) and its label.
MONEY = {"value": ("value", VALUE), "ai_cost": ("AI cost", None), "net_value": ("net", NET_VALUE)}
declared(tuple(MONEY))  # checked when imported: a misspelt key fails here


def estimate_columns(
    columns: tuple[str, ...], label: str, number_format: str, help_text: str | None = None
) -> dict[str, Any]:
    """An estimate and its two interval bounds (``columns`` as declared in aiops.views.columns)."""
    value, low, high = columns
    help_text = help_text or definition(value)
    bound_help = f"The 95% interval of {label}"
    return {
        value: st.column_config.NumberColumn(label, format=number_format, help=help_text),
        low: st.column_config.NumberColumn("95% low", format=number_format, help=bound_help),
        high: st.column_config.NumberColumn("95% high", format=number_format, help=bound_help),
    }


def sample_columns() -> dict[str, Any]:
    before, after = SAMPLES
    return {
        before: st.column_config.NumberColumn("n before", help=definition(before)),
        after: st.column_config.NumberColumn("n after", help=definition(after)),
    }


def money_columns(currency: str, *names: str) -> dict[str, Any]:
    """Money columns in the company's currency, whole units: value and net with their 95% interval
    (list ``money_frame_columns(*names)`` in the table), the AI cost alone (it is known)."""
    columns: dict[str, Any] = {}
    for name in names:
        label, estimate = MONEY[name]
        label = f"{label} ({currency})"
        if estimate is None:
            columns[name] = st.column_config.NumberColumn(label, format="%,.0f", help=definition(name))
        else:
            columns.update(estimate_columns(estimate, label, "%,.0f"))
    return columns


def money_frame_columns(*names: str) -> tuple[str, ...]:
    """The frame's columns that ``money_columns(currency, *names)`` labels, in order."""
    return tuple(column for name in names for column in (MONEY[name][1] or (name,)))


def upload_columns(**more: Any) -> dict[str, Any]:
    """The upload list's columns (``data.batches``), as every page that lists uploads labels them;
    ``more`` adds or hides columns (None hides)."""
    return {
        "batch_id": st.column_config.NumberColumn("batch"),
        "uploaded_at": st.column_config.DatetimeColumn("uploaded (UTC)", format="YYYY-MM-DD HH:mm"),
        "workflow_ids": st.column_config.ListColumn("workflows"),
        "rows_total": st.column_config.NumberColumn("records"),
        **more,
    }
