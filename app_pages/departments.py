"""Departments: one department's workflows, its trend and its open stop conditions."""

from __future__ import annotations

import streamlit as st

from aiops.charts import saving_intervals, themed, weekly_hours
from aiops.classifier import STOP_CONDITIONS
from aiops.report.format import DEFINITIONS
from ui import data
from ui.context import revision
from ui.widgets import chart, estimate_metric, evidence_legend, period_picker, plain

st.title("Departments")
rev = revision()
all_metrics = data.metrics(rev)
if all_metrics.empty:
    st.info("No workflows yet: register one to see its department here.", icon=":material/lightbulb:")
    st.stop()

names = sorted(all_metrics.department.unique())
wanted = st.query_params.get("department")
department = st.selectbox(
    "Department", names, index=names.index(wanted) if wanted in names else 0, key="department_pick"
)
st.query_params["department"] = department

_, last = data.data_bounds(rev)
period = period_picker(last.date() if last is not None else None, key="dept_period")
metrics = data.metrics(rev, period.start, period.end)
mine = metrics[metrics.department == department]
rows = data.departments(rev, period.start, period.end)
row = rows[rows.department == department].iloc[0].to_dict()

left, middle, right = st.columns(3)
with left:
    estimate_metric("Hours returned", row, "hours_returned", "h")
with middle:
    estimate_metric("Loops removed", row, "loops_removed")
with right, st.container(border=True):
    st.metric("Open stop conditions", row["open_stop_conditions"], help=DEFINITIONS["open_stop_conditions"])
    st.caption(f"{row['paused']} of {row['workflows']} workflows paused · period {period.label}")
evidence_legend()

st.subheader("Minutes saved per loop, by workflow")
if mine.saved_per_loop.notna().any():
    chart(
        themed(saving_intervals(mine), f"{department}: saving per loop with its 95% interval"),
        key="dept_savings",
    )
else:
    st.info("No workflow here has before and after timings yet.")

weekly = data.weekly(rev, period.start, period.end)
weekly = weekly[(weekly.department == department) & (weekly.evidence != "insufficient")]
if (weekly.phase == "after").any():
    names_by_id = dict(zip(mine.workflow_id, mine.name, strict=True))
    weekly = weekly.assign(workflow=weekly.workflow_id.map(names_by_id))
    chart(
        themed(weekly_hours(weekly, color_by="workflow"), "Hours returned per week, by workflow"),
        key="dept_weekly",
    )

st.subheader("Workflows")
st.dataframe(
    mine[
        [
            "name",
            "owner",
            "risk",
            "status",
            "evidence",
            "saved_per_loop",
            "saved_low",
            "saved_high",
            "samples_before",
            "samples_after",
            "hours_returned",
        ]
    ],
    hide_index=True,
    column_config={
        "saved_per_loop": st.column_config.NumberColumn(
            "min saved / loop", format="%.1f", help=DEFINITIONS["saved_per_loop"]
        ),
        "saved_low": st.column_config.NumberColumn("95% low", format="%.1f"),
        "saved_high": st.column_config.NumberColumn("95% high", format="%.1f"),
        "samples_before": st.column_config.NumberColumn("n before"),
        "samples_after": st.column_config.NumberColumn("n after"),
        "hours_returned": st.column_config.NumberColumn("hours returned", format="%.1f"),
    },
)

st.subheader("Open stop conditions")
paused = mine[mine.stop_conditions.map(len) > 0]
if paused.empty:
    st.success(f"No open stop conditions in {department}.", icon=":material/verified:")
for workflow in paused.itertuples(index=False):
    with st.container(border=True):
        st.markdown(f"**{plain(workflow.name)}** — owner: {plain(workflow.owner or 'none')}")
        for code in workflow.stop_conditions:
            st.markdown(f"- `{code}`: {STOP_CONDITIONS[code]}")
        st.page_link(
            "app_pages/workflow_detail.py",
            label="Open the workflow",
            query_params={"id": workflow.workflow_id},
            icon=":material/arrow_forward:",
        )
