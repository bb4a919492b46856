"""How the dashboard's tables label the workflow frame's columns, declared once: an estimate always
comes with its 95% interval, the sample sizes and money columns always read the same way.
(Which columns a table lists is declared in aiops.views.columns.)"""

from __future__ import annotations

from typing import Any

import streamlit as st

from aiops.report.format import DEFINITIONS
from aiops.views.columns import SAMPLES

MONEY_LABELS = {"value": "value", "ai_cost": "AI cost", "net_value": "net"}


def estimate_columns(
    columns: tuple[str, ...], label: str, number_format: str, help_text: str | None = None
) -> dict[str, Any]:
    """An estimate and its two interval bounds (``columns`` as declared in aiops.views.columns)."""
    value, low, high = columns
    help_text = help_text or DEFINITIONS.get(value)
    return {
        value: st.column_config.NumberColumn(label, format=number_format, help=help_text),
        low: st.column_config.NumberColumn("95% low", format=number_format),
        high: st.column_config.NumberColumn("95% high", format=number_format),
    }


def sample_columns() -> dict[str, Any]:
    before, after = SAMPLES
    return {
        before: st.column_config.NumberColumn("n before", help=DEFINITIONS["n"]),
        after: st.column_config.NumberColumn("n after", help=DEFINITIONS["n"]),
    }


def money_columns(currency: str, *names: str) -> dict[str, Any]:
    """Money columns (value, AI cost, net) in the company's currency, whole units."""
    return {
        name: st.column_config.NumberColumn(
            f"{MONEY_LABELS[name]} ({currency})", format="%,.0f", help=DEFINITIONS[name]
        )
        for name in names
    }
