"""Overview: the CTO's page — hours returned, loops removed, and the risks still open."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from aiops.charts import (
    loops_removed_by_department,
    stop_conditions_by_department,
    themed,
    weekly_hours,
)
from aiops.metrics import rollup
from aiops.report.board import build_board_pack, period_name, render_html, render_pdf
from aiops.report.format import DEFINITIONS, age, estimate, evidence_phrase, n_phrase
from aiops.workflow import slugify
from ui import data
from ui.context import revision, store
from ui.widgets import chart, count_metric, estimate_metric, evidence_legend, period_picker

st.title("Saved Loops")
rev = revision()
first, last = data.data_bounds(rev)
workflows_total = store().query_one("SELECT count(*) FROM workflows")[0]

if workflows_total == 0:
    st.info(
        "No workflows yet. Start by registering one (or importing a spreadsheet of them), "
        "then upload before/after timings from your team's tools.",
        icon=":material/lightbulb:",
    )
    st.page_link("app_pages/register.py", label="Register a workflow", icon=":material/add_circle:")
    st.page_link("app_pages/upload.py", label="Upload timings", icon=":material/upload_file:")
    st.stop()

period = period_picker(last.date() if last is not None else None)
st.caption(
    f"Showing **{period.label}**. Savings per loop use every sample up to the period's end; "
    "hours and loops count the after-phase loops inside the period. "
    "Before/after is observational, not a controlled experiment."
)

metrics = data.metrics(rev, period.start, period.end)
company = data.company(rev, period.start, period.end)
departments = data.departments(rev, period.start, period.end)

left, middle, right, far = st.columns(4)
with left:
    estimate_metric("Hours returned", company, "hours_returned", "h")
with middle:
    estimate_metric("Loops removed", company, "loops_removed")
with right:
    statuses = metrics.status.value_counts()
    count_metric(
        "Workflows",
        len(metrics),
        " · ".join(
            f"{statuses.get(s, 0)} {s}" for s in ("paused", "experiment", "pilot", "proven", "autonomous")
        ),
        "Each workflow has exactly one status; paused wins over everything else.",
    )
with far:
    open_stops = int(metrics.stop_conditions.map(len).sum())
    count_metric(
        "Open stop conditions",
        open_stops,
        f"on {int((metrics.status == 'paused').sum())} paused workflows",
        DEFINITIONS["open_stop_conditions"],
    )
evidence_legend()

st.subheader("Loops removed next to the risks still open")
chart_left, chart_right = st.columns(2)
with chart_left:
    if company["workflows_with_evidence"]:
        chart(
            themed(loops_removed_by_department(departments), "Loops removed per department (95% interval)"),
            key="loops_chart",
        )
    else:
        st.info("No workflow has enough before/after samples in this period yet.")
with chart_right:
    stops = data.stops_by_department(rev)
    if len(stops):
        chart(
            themed(stop_conditions_by_department(stops), "Open stop conditions per department"),
            key="stops_chart",
        )
    else:
        st.success("No open stop conditions.", icon=":material/verified:")

st.subheader("Weekly trend")
weekly = data.weekly(rev, period.start, period.end)
usable = weekly[weekly.evidence != "insufficient"]
if (usable.phase == "after").any():
    chart(
        themed(weekly_hours(usable), "Hours returned per week, by department (95% band)"), key="weekly_chart"
    )
else:
    st.info("No after-phase loops with enough evidence in this period.")

st.subheader("Hours returned by workflows that still have open stop conditions")
HOURS = ["hours_returned", "hours_returned_low", "hours_returned_high"]
risky = metrics[(metrics.stop_conditions.map(len) > 0) & (metrics.evidence != "insufficient")]
if len(risky):
    risky_total = rollup(risky, None, store().policy.evidence.interval_level).iloc[0]
    st.warning(
        f"**{estimate(*risky_total[HOURS], 'h')}** "
        f"of the hours returned come from {len(risky)} workflow(s) that must pause "
        f"({n_phrase(int(risky_total.samples_before), int(risky_total.samples_after))}; "
        f"{evidence_phrase(risky_total)}). Count them only once their stop conditions are closed.",
        icon=":material/warning:",
    )
    st.dataframe(
        risky[
            [
                "name",
                "department",
                "owner",
                "stop_conditions",
                "hours_returned",
                "hours_returned_low",
                "hours_returned_high",
                "samples_before",
                "samples_after",
                "evidence",
            ]
        ],
        hide_index=True,
        column_config={
            "hours_returned": st.column_config.NumberColumn("hours", format="%.1f"),
            "hours_returned_low": st.column_config.NumberColumn("95% low", format="%.1f"),
            "hours_returned_high": st.column_config.NumberColumn("95% high", format="%.1f"),
            "samples_before": st.column_config.NumberColumn("n before"),
            "samples_after": st.column_config.NumberColumn("n after"),
            "stop_conditions": st.column_config.ListColumn("open stop conditions"),
        },
    )
else:
    st.success("No hours come from workflows with open stop conditions.", icon=":material/verified:")

st.subheader("Data freshness")
fresh = data.freshness(rev)
now = pd.Timestamp.now()
fresh["last upload"] = fresh.last_upload.map(lambda t: age(t, now))
fresh["baseline age"] = fresh.baseline_until.map(lambda t: age(t, now))
st.dataframe(
    fresh[["department", "last upload", "last_measured", "baseline_until", "baseline age", "uploads"]],
    hide_index=True,
    column_config={
        "last_measured": st.column_config.DatetimeColumn("last loop measured", format="YYYY-MM-DD"),
        "baseline_until": st.column_config.DatetimeColumn("baseline measured until", format="YYYY-MM-DD"),
    },
)

st.subheader("Board pack")
st.caption(
    f"**{period.label}** as a PDF, or a self-contained HTML file that opens offline: "
    "executive summary, a page per department, every workflow, open stop conditions with owners, "
    "methodology and data freshness. Built when you click."
)
board_store, board_period = store(), period  # captured: the download runs outside this script run
stem = f"saved-loops-board-pack-{slugify(period_name(period))}"
FORMATS = [
    ("PDF", render_pdf, "pdf", "application/pdf", ":material/picture_as_pdf:", "board_pack"),
    ("HTML", render_html, "html", "text/html", ":material/html:", "board_pack_html"),
]
for column, (label, render, suffix, mime, icon, key) in zip(st.columns(2), FORMATS, strict=True):
    with column:
        st.download_button(
            f"Download board pack ({label})",
            data=lambda render=render: render(build_board_pack(board_store, board_period)),
            file_name=f"{stem}.{suffix}",
            mime=mime,
            key=key,
            icon=icon,
            on_click="ignore",
        )
