"""Shared widgets: figures that always carry their interval, n and evidence; period picker."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, Literal

import pandas as pd
import streamlit as st

from aiops.charts import EVIDENCE_COLORS
from aiops.classifier import Signal, Status
from aiops.clock import utcnow
from aiops.columns import declared
from aiops.estimates.codes import EvidenceLabel
from aiops.metrics import MINUTES_PER_DAY
from aiops.period import Period, recent_quarters
from aiops.policy import RiskLevel
from aiops.report.format import (
    DEFINITIONS,
    NOT_RECORDED,
    design_words,
    estimate,
    evidence_phrase,
    interval,
    intervals_note,
    money,
    n_phrase,
    number,
    warning_words,
)
from aiops.views import Totals
from ui.text import md_escape, safe_frame

# The colours of st.badge and of the `:color-badge[...]` / `:color[...]` directives.
BadgeColor = Literal["red", "orange", "yellow", "blue", "green", "violet", "gray"]

BADGE_COLORS: dict[str, BadgeColor] = {
    EvidenceLabel.SAVING: "green",
    EvidenceLabel.INCONCLUSIVE: "orange",
    EvidenceLabel.SLOWER: "red",
    EvidenceLabel.INSUFFICIENT: "gray",
    Status.PAUSED: "red",
    Status.EXPERIMENT: "violet",
    Status.PILOT: "orange",
    Status.PROVEN: "green",
    Status.AUTONOMOUS: "blue",
    RiskLevel.HIGH: "red",
    RiskLevel.MEDIUM: "orange",
    RiskLevel.LOW: "green",
}


def badge(value: str, suffix: str = "") -> None:
    """A coloured badge for a risk level, status or evidence label."""
    st.badge(f"{value} {suffix}".strip(), color=BADGE_COLORS.get(value, "gray"))


def estimate_metric(
    label: str,
    record: dict[str, Any] | pd.Series,
    columns: tuple[str, str, str],
    unit: str = "",
    decimals: int = 0,
    definition: str | None = None,
    extra: str | None = None,
) -> None:
    """A headline figure with its 95% interval, n and evidence mix under it: ``columns`` are the
    figure and its bounds, as declared in aiops.views.columns."""
    field, low, high = columns
    with st.container(border=True):
        st.metric(
            label,
            f"{number(record[field], decimals)}{(' ' + unit) if unit else ''}",
            help=definition or DEFINITIONS.get(field),
        )
        st.caption(
            f"{interval(record[low], record[high], decimals)} · "
            f"{n_phrase(record['samples_before'], record['samples_after'])} · "
            f"{record['workflows_with_evidence']} of {record['workflows']} workflows with "
            f"evidence ({evidence_phrase(record)})"
        )
        if extra:
            st.caption(extra)


def value_metric(totals: Totals) -> None:
    """Value of the banked hours, with its interval, the AI cost and the net return."""
    t = totals
    with st.container(border=True):
        st.metric("Value returned", money(t.value, t.currency), help=DEFINITIONS["value"])
        roi = "" if t.roi is None else f" · ROI {t.roi:,.1f}×"
        st.caption(
            f"{interval(t.value_low, t.value_high)} · AI cost {money(t.ai_cost, t.currency)} · "
            f"net **{money(t.net_value, t.currency)}** ({interval(t.net_value_low, t.net_value_high)}){roi}"
        )


# The design table's columns (each a declared frame column; `name` is headed "workflow").
DESIGN_TABLE = declared(("name", "department", "design", "warnings", "evidence"))


def design_table(workflows: pd.DataFrame) -> None:
    """Per workflow: how the saving was measured (design) and what could be wrong (warnings), in words."""
    rows = workflows[workflows.saved_per_loop.notna()]
    if rows.empty:
        st.caption("No workflow has before and after timings yet.")
        return
    frame = (
        rows[list(DESIGN_TABLE)]
        .assign(
            design=rows.design.map(design_words),
            warnings=rows.warnings.map(lambda codes: [warning_words(c) for c in codes]),
        )
        .rename(columns={"name": "workflow"})
    )
    st.dataframe(
        safe_frame(frame),
        hide_index=True,
        placeholder=NOT_RECORDED,
        column_config={"warnings": st.column_config.ListColumn("warnings")},
    )


def count_metric(label: str, value: int, caption: str, help_text: str) -> None:
    with st.container(border=True):
        st.metric(label, f"{value:,}", help=help_text)
        st.caption(caption)


def evidence_legend() -> None:
    st.caption(
        "Evidence: "
        + " · ".join(f":{BADGE_COLORS[k]}[{k}]" for k in EVIDENCE_COLORS)
        + f" — {md_escape(intervals_note())}."
    )


def period_picker(default: Period, latest: date | None, key: str = "period") -> Period:
    """Quarter (default: ``default``, the last complete quarter with data), last 90 days, a custom
    range, or all time. Quarters are listed back from the one holding the latest timing."""
    latest = latest or utcnow().date()
    mode = st.segmented_control(
        "Period",
        ["Quarter", "Last 90 days", "Custom", "All time"],
        default="Quarter",
        key=f"{key}_mode",
        required=True,
    )
    if mode == "Quarter":
        quarters = recent_quarters(latest)
        if default not in quarters:
            quarters.insert(0, default)
        return st.selectbox(
            "Quarter",
            quarters,
            index=quarters.index(default),
            format_func=lambda p: p.name,
            key=f"{key}_quarter",
        )
    if mode == "Last 90 days":
        end = latest + timedelta(days=1)
        return Period(end - timedelta(days=90), end)
    if mode == "Custom":
        picked = st.date_input("From – to", (latest - timedelta(days=89), latest), key=f"{key}_range")
        if isinstance(picked, tuple) and len(picked) == 2:
            return Period(picked[0], picked[1] + timedelta(days=1))
        st.caption("Pick an end date.")
        return Period(picked[0] if picked else None, None)
    return Period()


def url_multiselect(
    label: str, options: Sequence[str], param: str, help_text: str | None = None
) -> list[str]:
    """A multiselect whose value lives in the URL (``?param=a&param=b``), so a view can be shared.
    ``options`` may be a vocabulary's enum members: the widget, the URL and the frames hold their codes."""
    options = [str(option) for option in options]
    key = f"url_{param}"
    if key not in st.session_state:
        st.session_state[key] = [v for v in st.query_params.get_all(param) if v in options]

    def to_url() -> None:
        values = st.session_state[key]
        if values:
            st.query_params[param] = values
        elif param in st.query_params:
            del st.query_params[param]

    return st.multiselect(label, options, key=key, on_change=to_url, help=help_text)


def signal_list(signals: Sequence[Signal]) -> None:
    """Every risk signal as one line: its level, then why (user text made inert)."""
    if not signals:
        st.caption("No signal fired: low risk.")
    for signal in signals:
        # The rule's published source (EU AI Act, OMB M-25-21, the seed), when it has one.
        source = f" — source: {md_escape(signal.source)}" if signal.source else ""
        st.markdown(f":{BADGE_COLORS[signal.level]}-badge[{signal.level}] {md_escape(signal.reason)}{source}")


def current_saving_line(m: pd.Series, elapsed: bool = False) -> str:
    """The current saving (status and run rate follow it) with what else a lead must know: the AI vs
    non-AI difference kept beside an intention-to-treat figure, loops set aside, data through.
    ``elapsed``: calendar time, in days."""
    scale, unit = (MINUTES_PER_DAY, "days") if elapsed else (1.0, "min")
    parts = [
        "Current change (the run-rate weeks; status and run rate follow it): "
        + estimate(m.current_per_loop / scale, m.current_low / scale, m.current_high / scale, unit, 1)
    ]
    if not pd.isna(m.concurrent_per_loop):
        parts.append(
            "AI vs non-AI loops: "
            + estimate(m.concurrent_per_loop, m.concurrent_low, m.concurrent_high, "min", 1)
            + " (not the figure: the AI was given another kind of work)"
        )
    outliers = int(m.outlier_samples_before + m.outlier_samples_after)
    censored = int(m.censored_samples_before + m.censored_samples_after)
    if outliers or censored:
        parts.append(
            f"set aside: {outliers:,} implausibly long loop(s), {censored:,} that could not finish inside "
            f"the export's window ({int(m.censored_samples_before):,} before, "
            f"{int(m.censored_samples_after):,} after)"
        )
    if not pd.isna(m.data_through):
        parts.append(f"data through {pd.Timestamp(m.data_through):%Y-%m-%d}")
    return " · ".join(parts)
