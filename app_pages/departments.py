"""Departments: one department's workflows, its trend and its open stop conditions (from the read model)."""

from __future__ import annotations

import streamlit as st

from aiops.charts import STOP_LABELS, adoption_share, saving_intervals, weekly_hours
from aiops.classifier import STOP_CONDITIONS
from aiops.columns import declared
from aiops.estimates.codes import HEADLINE_RULE, EvidenceLabel
from aiops.report.format import DEFINITIONS, NOT_RECORDED, design_name, share
from aiops.views.columns import HOURS_RETURNED, SAMPLES, SAVED_PER_LOOP, STANDING
from ui import data
from ui.charts import chart
from ui.columns import estimate_columns, money_columns, money_frame_columns, sample_columns
from ui.context import revision
from ui.text import md_escape, safe_frame
from ui.widgets import (
    design_table,
    estimate_metric,
    evidence_legend,
    period_picker,
    value_metric,
)

# The workflow table's columns, in order (each a declared frame column).
TABLE = declared(
    (
        *("name", "owner", *STANDING, "design", *SAVED_PER_LOOP, *SAMPLES),
        *(*HOURS_RETURNED, *money_frame_columns("value", "ai_cost"), "adoption"),
    )
)

st.title("Departments")
rev = revision()
opening = data.default_view(rev)
default, last = opening.default, opening.data_through
if opening.workflows.empty:
    st.info("No workflows yet: register one to see its department here.", icon=":material/lightbulb:")
    st.stop()

period = period_picker(default, last.date() if last is not None else None, key="dept_period")
view = data.view(rev, period.start, period.end)
names = [d.scope for d in view.departments]
wanted = data.stored_department(rev, st.query_params.get("department", ""))  # a link's spelling, as stored
department = st.selectbox(
    "Department", names, index=names.index(wanted) if wanted in names else 0, key="department_pick"
)
st.query_params["department"] = department

mine = view.workflows[view.workflows.department == department]
totals = view.department(department)
if totals is None:  # the picker lists the view's departments only
    st.stop()
row = totals.record()
through = f"data through {totals.last_measured:%Y-%m-%d}" if totals.last_measured else "no timings yet"
st.caption(
    f"**{view.name}** ({period.label}) · {through}"
    + (f" · :orange[{md_escape(view.period_note)}]" if view.period_note else "")
    + (f" · :orange[{totals.late_workflows} workflow(s) with late data]" if totals.late_workflows else "")
    + " · "
    + HEADLINE_RULE
)

left, middle, right = st.columns(3)
with left:
    estimate_metric(
        "Proven hours returned",
        row,
        HOURS_RETURNED,
        "h",
        extra=f"Not yet proven: {totals.hours_unproven:,.0f} h · at risk (paused): "
        f"{totals.hours_at_risk:,.0f} h · neither added in · run rate "
        f"{totals.hours_per_week:,.1f} h/week ({view.run_rate_label})",
    )
with middle:
    value_metric(totals)
with right, st.container(border=True):
    st.metric("Open stop conditions", row["open_stop_conditions"], help=DEFINITIONS["open_stop_conditions"])
    st.caption(
        f"{row['paused']} of {row['workflows']} workflows paused · loaded hourly cost "
        f"{view.company_settings.rate_for(department):,.0f} {view.currency}"
        + f" · AI share of loops {share(totals.adoption)}"
    )
evidence_legend()
comparison = view.department_comparisons.get(department)
if comparison:
    st.caption(f"Against {comparison.name} ({comparison.basis}): **{comparison.hours_change_text}**")

st.subheader("Minutes saved per loop, by workflow")
if mine.saved_per_loop.notna().any():
    chart(
        saving_intervals,
        mine,
        title=f"{department}: saving per loop with its 95% interval",
        key="dept_savings",
    )
else:
    st.info("No workflow here has before and after timings yet.")

weeks = view.complete_weeks
weekly = weeks[(weeks.department == department) & (weeks.evidence != EvidenceLabel.INSUFFICIENT)]
if (weekly.phase == "after").any():
    weekly = weekly.assign(workflow=weekly.name)
    chart(
        weekly_hours,
        weekly,
        color_by="workflow",
        title="Hours returned per week, by workflow",
        key="dept_weekly",
    )

st.subheader("Workflows")
st.dataframe(
    safe_frame(
        mine[list(TABLE)].assign(design=mine.design.map(design_name), adoption=mine.adoption.map(share))
    ),
    hide_index=True,
    placeholder=NOT_RECORDED,
    column_config={
        **estimate_columns(SAVED_PER_LOOP, "min saved / loop", "%.1f"),
        **sample_columns(),
        **estimate_columns(HOURS_RETURNED, "hours returned", "%.1f"),
        **money_columns(view.currency, "value", "ai_cost"),
        "adoption": st.column_config.TextColumn("AI share", help=DEFINITIONS["adoption"]),
    },
)
st.subheader("How each saving was measured")
design_table(mine)
adoption = view.adoption_weekly[view.adoption_weekly.department == department]
if len(adoption):
    st.subheader("AI adoption")
    chart(
        adoption_share,
        adoption,
        names=dict(zip(mine.workflow_id, mine.name, strict=True)),
        title="Share of loops done with AI, per week",
        key="dept_adoption",
    )

st.subheader("Open stop conditions")
paused = mine[mine.stop_conditions.map(len) > 0]
if paused.empty:
    st.success(f"No open stop conditions in {md_escape(department)}.", icon=":material/verified:")
for workflow in paused.itertuples(index=False):
    with st.container(border=True):
        st.markdown(f"**{md_escape(workflow.name)}** — owner: {md_escape(workflow.owner or 'none')}")
        for code in workflow.stop_conditions:
            st.markdown(f"- **{STOP_LABELS.get(code, code)}**: {STOP_CONDITIONS[code]}")
        st.page_link(
            "app_pages/workflow_detail.py",
            label="Open the workflow",
            query_params={"id": workflow.workflow_id},
            icon=":material/arrow_forward:",
        )
