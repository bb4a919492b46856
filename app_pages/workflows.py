"""Workflows: the inventory, filtered by anything, shareable as a link, downloadable as CSV."""

from __future__ import annotations

import streamlit as st

from aiops.classifier import STATUSES, STOP_CONDITIONS
from aiops.columns import declared
from aiops.estimates.codes import EVIDENCE_LABELS
from aiops.policy import RISK_LEVELS
from aiops.report.export import safe_csv
from aiops.report.format import DEFINITIONS, NOT_RECORDED, design_words
from aiops.views.columns import HOURS_RETURNED, HOW_MEASURED, SAMPLES, SAVED_PER_LOOP, STANDING, WHO
from ui import data
from ui.columns import estimate_columns, money_columns, money_frame_columns, sample_columns
from ui.context import revision
from ui.text import safe_frame
from ui.widgets import evidence_legend, url_multiselect

# The table's columns, in order (each a declared frame column).
TABLE = declared(
    (
        *(*WHO, *STANDING, *HOW_MEASURED, "stop_conditions", *SAVED_PER_LOOP, *SAMPLES),
        *(*HOURS_RETURNED, *money_frame_columns("value", "ai_cost", "net_value")),
    )
)

st.title("Workflows")
rev = revision()
view = data.default_view(rev)
metrics = view.workflows
if metrics.empty:
    st.info("No workflows yet: register one, or import a spreadsheet of them.", icon=":material/lightbulb:")
    st.page_link("app_pages/register.py", label="Register a workflow", icon=":material/add_circle:")
    st.stop()

with st.container(border=True):
    c1, c2, c3 = st.columns(3)
    with c1:
        departments = url_multiselect("Department", sorted(metrics.department.unique()), "department")
        owners = url_multiselect("Owner", sorted(o for o in metrics.owner.unique() if o), "owner")
    with c2:
        risks = url_multiselect("Risk", RISK_LEVELS[::-1], "risk")
        statuses = url_multiselect("Status", STATUSES, "status")
    with c3:
        stops = url_multiselect(
            "Stop condition", list(STOP_CONDITIONS), "stop", DEFINITIONS["open_stop_conditions"]
        )
        evidence = url_multiselect("Evidence", EVIDENCE_LABELS, "evidence", DEFINITIONS["evidence"])

shown = metrics
for column, wanted in (
    ("department", departments),
    ("owner", owners),
    ("risk", risks),
    ("status", statuses),
    ("evidence", evidence),
):
    if wanted:
        shown = shown[shown[column].isin(wanted)]
if stops:
    shown = shown[shown.stop_conditions.map(lambda codes: bool(set(codes) & set(stops)))]

st.caption(
    f"**{len(shown)}** of {len(metrics)} workflows. Estimates for **{view.name}** ({view.default_reason}). "
    "The filters are in the page's address: copy it to share this view."
)
evidence_legend()
table = shown.assign(
    design=shown.design.map(design_words), warnings=shown.warnings.map(lambda c: "; ".join(map(str, c)))
)[list(TABLE)].copy()
table.insert(0, "open", "/workflow?id=" + table.workflow_id)
st.dataframe(
    safe_frame(table),
    hide_index=True,
    placeholder=NOT_RECORDED,
    key="workflow_table",
    column_config={
        "open": st.column_config.LinkColumn("", display_text="open", width="small"),
        "workflow_id": None,
        "stop_conditions": st.column_config.ListColumn("open stop conditions"),
        **estimate_columns(SAVED_PER_LOOP, "min saved / loop", "%.1f"),
        **sample_columns(),
        **estimate_columns(HOURS_RETURNED, "hours returned", "%.1f"),
        "evidence": st.column_config.TextColumn("evidence", help=DEFINITIONS["evidence"]),
        **money_columns(view.currency, "value", "ai_cost", "net_value"),
    },
)
st.download_button(
    "Download this view (CSV)",
    safe_csv(table.drop(columns="open")),
    file_name="workflows.csv",
    mime="text/csv",
    icon=":material/download:",
    help="Cells that start with = + - @ are escaped so spreadsheets show them as text.",
)
