"""Overview: the CTO's page — banked hours and their value, what is at risk, and what is still open.

Renders the read model (``aiops.views``) for the chosen period; runs no SQL of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from aiops.charts import (
    STOP_LABELS,
    adoption_share,
    hours_by_department,
    stop_conditions_by_department,
    weekly_banked,
)
from aiops.classifier import STATUSES, Status
from aiops.columns import declared
from aiops.estimates.codes import HEADLINE_RULE
from aiops.report.board import build_board_pack, render_html
from aiops.report.bounded import render_pdf_bounded
from aiops.report.format import DEFINITIONS, NOT_RECORDED, age, estimate, interval, money, n_phrase, share
from aiops.views.columns import HOURS_AT_RISK, HOURS_RETURNED, SAMPLES
from aiops.workflow import slugify
from ui import data
from ui.charts import chart
from ui.columns import estimate_columns, money_columns, money_frame_columns, sample_columns
from ui.context import revision, session_still_open
from ui.text import md_escape, safe_frame
from ui.widgets import (
    count_metric,
    design_table,
    estimate_metric,
    evidence_legend,
    period_picker,
    value_metric,
)

# The at-risk table's columns, in order (each a declared frame column).
AT_RISK_TABLE = declared(
    ("name", "department", "owner", "stop_conditions", *HOURS_RETURNED, *SAMPLES, "evidence")
)

rev = revision()
opening = data.default_view(rev)
default, reason, last = opening.default, opening.default_reason, opening.data_through
st.title(f"Saved Loops — {md_escape(opening.company_settings.name)}", anchor=False)

if opening.workflows.empty:
    st.info(
        "No workflows yet. Start by registering one (or importing a spreadsheet of them), "
        "then upload before/after timings from your team's tools.",
        icon=":material/lightbulb:",
    )
    st.page_link("app_pages/register.py", label="Register a workflow", icon=":material/add_circle:")
    st.page_link("app_pages/upload.py", label="Upload timings", icon=":material/upload_file:")
    st.stop()

period = period_picker(default, last.date() if last is not None else None)
view = data.view(rev, period.start, period.end)
company = view.company.record()
st.caption(
    f"Showing **{view.name}** ({period.label}). Opens on {md_escape(reason)}. "
    + (f":orange[{md_escape(view.period_note)}] " if view.period_note else "")
    + "Savings per loop use every sample up to the period's end; hours count the after-phase loops "
    "inside the period. " + HEADLINE_RULE
)

left, middle, right, far = st.columns(4)
with left:
    estimate_metric(
        "Proven hours returned",
        company,
        HOURS_RETURNED,
        "h",
        extra=f"Run rate **{view.company.hours_per_week:,.1f} h/week** · {view.run_rate_label} · "
        f"not yet proven: {view.company.hours_unproven:,.0f} h "
        f"({interval(view.company.hours_unproven_low, view.company.hours_unproven_high)}) from "
        f"{view.company.unproven_workflows} workflow(s), never added in",
    )
with middle:
    value_metric(view.company)
with right, st.container(border=True):
    st.metric(
        "Hours at risk",
        f"{view.company.hours_at_risk:,.0f} h",
        help=DEFINITIONS["hours_at_risk"],
    )
    st.caption(
        interval(view.company.hours_at_risk_low, view.company.hours_at_risk_high)
        + f" · {view.company.at_risk_workflows} paused workflow(s) with evidence · not in the "
        "headline: they count once their stop conditions close"
    )
with far:
    statuses = view.workflows.status.value_counts()
    count_metric(
        "Open stop conditions",
        view.company.open_stop_conditions,
        f"on {view.company.paused} paused workflows · "
        + " · ".join(f"{statuses.get(s, 0)} {s}" for s in STATUSES if s is not Status.PAUSED),
        DEFINITIONS["open_stop_conditions"],
    )
evidence_legend()
if view.company.late_workflows:
    st.warning(
        f"{view.company.late_workflows} workflow(s) have data ending before the rest of the company's "
        "(late data): their figures cover only the weeks they have"
        + (
            ", and their AI cost for the weeks without data "
            f"({md_escape(money(view.company.ai_cost_without_data, view.currency))}) is shown apart, "
            "not netted."
            if view.company.ai_cost_without_data
            else "."
        )
        + " The Workflows page lists each one's data through date.",
        icon=":material/schedule:",
    )
if view.comparison:
    c = view.comparison
    st.caption(
        f"Against {c.name} ({c.basis}): **{c.hours_change_text}** — "
        + (
            "the two intervals overlap: the change may be noise."
            if c.intervals_overlap
            else "the intervals do not overlap."
        )
    )
elif view.no_comparison:
    st.caption(view.no_comparison)

st.subheader("Hours returned next to the risks still open")
departments = pd.DataFrame([d.record("department") for d in view.departments])
chart_left, chart_right = st.columns(2)
with chart_left:
    if view.company.has_estimate or view.company.at_risk_workflows:
        chart(
            hours_by_department,
            departments,
            title="Hours returned per department: banked and at risk (95%)",
            key="hours_chart",
        )
    else:
        st.info("No workflow has enough before/after samples in this period yet.")
with chart_right:
    if len(view.stop_counts):
        chart(
            stop_conditions_by_department,
            view.stop_counts,
            title="Open stop conditions per department",
            key="stops_chart",
        )
    else:
        st.success("No open stop conditions.", icon=":material/verified:")

st.subheader("Weekly trend")
weeks = view.complete_weeks
if ((weeks.phase == "after") & (weeks.banked | weeks.at_risk)).any():
    chart(
        weekly_banked,
        weeks,
        title="Hours returned per week (banked, 95% band; at risk dashed)",
        key="weekly_chart",
    )
else:
    st.info("No after-phase loops with enough evidence in this period.")

st.subheader("By department")
adoption_known = departments.adoption.notna().any()
table = departments[
    [
        "department",
        *HOURS_RETURNED,
        *HOURS_AT_RISK,
        *money_frame_columns("value", "ai_cost", "net_value"),
        *(["adoption"] if adoption_known else []),
        "open_stop_conditions",
    ]
]
st.dataframe(
    safe_frame(table.assign(adoption=table.adoption.map(share)) if adoption_known else table),
    hide_index=True,
    placeholder=NOT_RECORDED,
    column_config={
        **estimate_columns(HOURS_RETURNED, "hours (banked)", "%.0f"),
        **estimate_columns(HOURS_AT_RISK, "hours at risk", "%.0f"),
        **money_columns(view.currency, "value", "ai_cost", "net_value"),
        "adoption": st.column_config.TextColumn("AI share of loops", help=DEFINITIONS["adoption"]),
        "open_stop_conditions": st.column_config.NumberColumn("open stops"),
    },
)

if len(view.adoption_weekly):
    st.subheader("AI adoption")
    chart(
        adoption_share,
        view.adoption_weekly,
        title="Share of loops done with AI, per week and department",
        key="adoption_chart",
    )

st.subheader("How each saving was measured")
design_table(view.workflows)

st.subheader("Hours from workflows that still have open stop conditions")
risky = view.at_risk
if len(risky):
    t = view.company
    st.warning(
        f"**{estimate(t.hours_at_risk, t.hours_at_risk_low, t.hours_at_risk_high, 'h')}** "
        f"(worth {money(t.value_at_risk, view.currency)}) come from {len(risky)} paused workflow(s) "
        f"({n_phrase(int(risky.samples_before.sum()), int(risky.samples_after.sum()))}). "
        "They are not in the headline: they count once their stop conditions are closed.",
        icon=":material/warning:",
    )
    risky_table = safe_frame(
        risky[list(AT_RISK_TABLE)].assign(
            stop_conditions=risky.stop_conditions.map(lambda cs: [STOP_LABELS.get(c, c) for c in cs])
        )
    )
    st.dataframe(
        risky_table,
        hide_index=True,
        placeholder=NOT_RECORDED,
        column_config={
            **estimate_columns(HOURS_RETURNED, "hours at risk", "%.1f", DEFINITIONS["hours_at_risk"]),
            **sample_columns(),
            "stop_conditions": st.column_config.ListColumn("open stop conditions"),
        },
    )
else:
    st.success("No hours come from workflows with open stop conditions.", icon=":material/verified:")

st.subheader("Data freshness")
fresh = view.freshness.copy()
now = pd.Timestamp(view.as_of)
fresh["last upload"] = fresh.last_upload.map(lambda t: age(t, now))
fresh["baseline age"] = fresh.baseline_until.map(lambda t: age(t, now))
st.dataframe(
    safe_frame(
        fresh[["department", "last upload", "last_measured", "baseline_until", "baseline age", "uploads"]]
    ),
    hide_index=True,
    placeholder=NOT_RECORDED,
    column_config={
        "last_measured": st.column_config.DatetimeColumn("last loop measured", format="YYYY-MM-DD"),
        "baseline_until": st.column_config.DatetimeColumn("baseline measured until", format="YYYY-MM-DD"),
    },
)

st.subheader("Board pack")
st.caption(
    f"**{view.name}** as a PDF, or a self-contained HTML file that opens offline: cover, a two-page "
    "executive summary, one page for all departments, and an appendix (every workflow, stop conditions "
    "with owners, methodology, data freshness). Built from the same figures as this page, when you click."
)
board_view = view  # captured: the download runs outside this script run
board_precedents = data.precedent_highs(rev)
stem = f"saved-loops-board-pack-{slugify(view.name)}"


def _render_pack(render: Callable[[Any], Any], view: Any) -> Any:
    return render(build_board_pack(view, precedent_highs=board_precedents))


# The PDF is printed by a child process that is killed if this browser session goes away (or after
# a time bound): a closed tab does not leave the server printing (issue 14).
print_pdf = partial(render_pdf_bounded, still_wanted=session_still_open())
FORMATS: list[tuple[str, Callable[[Any], Any], str, str, str, str]] = [
    ("PDF", print_pdf, "pdf", "application/pdf", ":material/picture_as_pdf:", "board_pack"),
    ("HTML", render_html, "html", "text/html", ":material/html:", "board_pack_html"),
]
for column, (label, render, suffix, mime, icon, key) in zip(st.columns(2), FORMATS, strict=True):
    with column:
        st.download_button(
            f"Download board pack ({label})",
            data=partial(_render_pack, render, board_view),
            file_name=f"{stem}.{suffix}",
            mime=mime,
            key=key,
            icon=icon,
            on_click="ignore",
        )
