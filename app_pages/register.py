"""Register workflow: one at a time with a live classification, or a spreadsheet of them."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial

import pandas as pd
import streamlit as st
from pydantic import ValidationError

from aiops.classifier import classify_workflow, classify_workflows
from aiops.identity import identity_key
from aiops.ingest.workflows import (
    WorkflowImportReport,
    change_lines,
    clearing_lines,
    import_workflows,
    read_workflows,
    sheet_scope,
)
from aiops.inventory import save_workflow
from aiops.report.export import safe_csv
from aiops.workflow import (
    CHANGES,
    CUSTOMER_IMPACT,
    DATA_TOUCHED,
    REVIEW_REQUIREMENTS,
    Workflow,
    carry_unshown,
    derive_workflow_id,
)
from aiops.workflow_reads import departments
from ui import data
from ui.context import actor, revision, run_action, settings, store, switch_page
from ui.text import md_escape, md_frame
from ui.upload_form import forget_sheet, keep_sheet
from ui.widgets import badge, signal_list

st.title("Register workflow")
me = actor()
known = departments(store())
allowed = known if me.role == "admin" else list(me.departments)
single, bulk = st.tabs(["One workflow", "Import a spreadsheet"])
currency = data.company_settings(revision()).currency


def with_current(base: tuple[str, ...] | list[str], key: str) -> list[str]:
    """A picker's options plus any value it holds outside them (filled in from a stored workflow
    with a value outside the vocabulary: shown and kept, never dropped)."""
    held = st.session_state.get(key) or []
    held = [held] if isinstance(held, str) else held
    return list(dict.fromkeys([*base, *held]))


# The Workflow fields this form shows, and the widget that holds each; every other field is kept as
# stored when the form edits a workflow (``carry_unshown``).
FORM_KEYS = {
    "name": "reg_name",
    "department": "reg_department",
    "workflow_id": "reg_id",
    "manual_process": "reg_manual",
    "expected_output": "reg_output",
    "data_touched": "reg_data",
    "changes": "reg_changes",
    "customer_impact": "reg_impact",
    "owner": "reg_owner",
    "reviewer": "reg_reviewer",
    "review_requirement": "reg_review",
    "success_metric": "reg_success",
    "trigger": "reg_trigger",
    "acceptable_output": "reg_acceptable",
    "failure_plan": "reg_failure_plan",
    "failure_detection": "reg_detection",
    "checkpoints": "reg_checkpoints",
    "ai_monthly_cost": "reg_ai_cost",
}


def fill_from(stored: Workflow) -> None:
    """Put a stored workflow's values into the form, to edit it rather than retype it."""

    def as_widget(field: str, value: object) -> object:
        if field == "checkpoints":
            return "\n".join(stored.checkpoints)  # one per line, as the text area takes them
        return list(value) if isinstance(value, list) else value

    st.session_state.update({key: as_widget(f, getattr(stored, f)) for f, key in FORM_KEYS.items()})
    st.session_state["reg_editing"] = stored.workflow_id


def editing(stored: Workflow) -> bool:
    """Whether the form holds ``stored``'s values on purpose (its edit form was opened)."""
    return identity_key(st.session_state.get("reg_editing", "")) == identity_key(stored.workflow_id)


CLEAR_CONFIRM = "tick “Clear these answers” to clear them"


def clear_box(report: WorkflowImportReport) -> None:
    """The answers the sheet's empty cells would clear, and the box that confirms clearing them."""
    if not report.clearings:
        return
    n = len(report.clearings)
    with st.container(border=True):
        st.warning(
            f"{n} answer{'s' if n != 1 else ''} will be cleared if you tick the box below: "
            "their cells are empty in the sheet. Unticked, they keep their stored values.",
            icon=":material/ink_eraser:",
        )
        st.dataframe(
            pd.DataFrame(
                {
                    "workflow_id": [c.workflow_id for c in report.clearings],
                    "field": [c.field for c in report.clearings],
                    "stored answer": [c.stored_text(200) for c in report.clearings],
                }
            ),
            hide_index=True,
            key="bulk_clearings",
        )
        st.checkbox(f"Clear these answers ({n})", key="bulk_clear")


def open_edit_link() -> None:
    """`register?edit=ID` (from My department) opens that workflow's edit form, once."""
    wanted = st.query_params.get("edit")
    if not wanted or st.session_state.get("reg_edit_link") == wanted:
        return
    st.session_state["reg_edit_link"] = wanted
    stored = data.stored_workflow(revision(), wanted)
    if stored is None:
        st.error(
            md_escape(f"Workflow not found: no workflow has the id '{wanted}'."), icon=":material/search_off:"
        )
    elif stored.department in allowed or me.role == "admin":
        fill_from(stored)


open_edit_link()
with single:
    form, preview = st.columns([3, 2], gap="large")
    with form:
        name = st.text_input("Name *", placeholder="e.g. Support ticket triage", key="reg_name")
        own = [d for d in allowed if me.leads(d)]  # the lead's own departments first
        options = own + [d for d in allowed if d not in own]
        options += ["New department…"] if me.role == "admin" else []
        picked = (
            st.selectbox(
                "Department *",
                options,
                index=None,  # no default: a workflow is registered for a department on purpose
                placeholder="Choose a department",
                key="reg_department",
            )
            if options
            else None
        )
        department = (
            st.text_input("New department name", key="reg_new_department")
            if picked == "New department…"
            else picked
        ) or ""
        if picked == "New department…" and department.strip():
            twin = data.stored_department(revision(), department)
            if twin is not None:
                st.warning(
                    f"Did you mean {md_escape(twin)}? Department names ignore case and spacing: "
                    f"this workflow is registered under {md_escape(twin)}.",
                    icon=":material/help:",
                )
                department = twin
        derived = derive_workflow_id(name, department) if name and department else ""
        workflow_id = (
            st.text_input(
                "Id (optional)",
                placeholder=derived or "derived from department and name",
                help="A stable slug. Leave it empty to use the one derived from department and name.",
                key="reg_id",
            ).strip()
            or derived
        )
        stored = data.stored_workflow(revision(), workflow_id) if workflow_id else None
        # An id taken by a registered workflow (ignoring case and spacing) only updates it once its
        # edit form is open: a new workflow never lands on another one's id.
        taken = False
        if stored is not None and not editing(stored):
            taken = True
            st.error(
                f"Id {md_escape(workflow_id)} is taken by **{md_escape(stored.name)}** "
                f"({md_escape(stored.department)}, id {md_escape(stored.workflow_id)}). Edit that "
                "workflow, or choose another id (or name) for a new one.",
                icon=":material/block:",
            )
            if stored.department in options:  # a department this actor may register for
                st.button(
                    f"Edit {md_escape(stored.name)}",
                    key="reg_fill",
                    on_click=fill_from,
                    args=(stored,),
                    icon=":material/edit:",
                    help="Load its stored values into this form. Fields this form does not show "
                    "(sign-off, comparison workflow) are kept as stored.",
                )
        elif stored is not None:
            st.info(
                f"Editing **{md_escape(stored.name)}** (id {md_escape(stored.workflow_id)}): "
                "registering updates it (audited).",
                icon=":material/edit:",
            )
        manual_process = st.text_area("Current manual process", key="reg_manual", height=80)
        expected_output = st.text_input("Expected output", key="reg_output")
        data_touched = st.multiselect("Data touched", with_current(DATA_TOUCHED, "reg_data"), key="reg_data")
        changes = st.multiselect("What it changes", with_current(CHANGES, "reg_changes"), key="reg_changes")
        impact = st.selectbox(
            "Who sees the output",
            with_current(("", *CUSTOMER_IMPACT), "reg_impact"),
            key="reg_impact",
            format_func=lambda v: v or "— choose —",
        )
        c1, c2 = st.columns(2)
        owner = c1.text_input("Owner (one human)", key="reg_owner")
        reviewer = c2.text_input("Reviewer", key="reg_reviewer")
        review = c1.selectbox(
            "Review requirement",
            with_current(("", *REVIEW_REQUIREMENTS), "reg_review"),
            key="reg_review",
            format_func=lambda v: v or "— choose —",
        )
        success = c2.text_input("Success metric", key="reg_success")
        trigger = st.text_input("What input starts it?", key="reg_trigger")
        acceptable = st.text_input("What output is acceptable?", key="reg_acceptable")
        failure_plan = st.text_input("What happens when it fails?", key="reg_failure_plan")
        detection = st.text_input("How would a failure be noticed?", key="reg_detection")
        checkpoints = st.text_area("Checkpoints in place (one per line)", key="reg_checkpoints", height=80)
        ai_cost = st.number_input(
            f"AI monthly cost ({currency}, optional)",
            min_value=0.0,
            max_value=1e9,
            value=None,
            step=50.0,
            key="reg_ai_cost",
            help="Licences and usage per month. Empty means not recorded: no net return is shown.",
        )

    workflow: Workflow | None
    shown = {  # one value per FORM_KEYS field
        "workflow_id": workflow_id or "pending",
        "name": name,
        "department": department,
        "manual_process": manual_process,
        "data_touched": data_touched,
        "changes": changes,
        "customer_impact": impact,
        "expected_output": expected_output,
        "owner": owner,
        "reviewer": reviewer,
        "review_requirement": review,
        "success_metric": success,
        "trigger": trigger,
        "acceptable_output": acceptable,
        "failure_plan": failure_plan,
        "failure_detection": detection,
        "checkpoints": [line.strip() for line in checkpoints.splitlines() if line.strip()],
        "ai_monthly_cost": ai_cost,
    }
    try:
        # An edit keeps every field this form does not show (sign-off, comparison workflow) as stored.
        workflow = carry_unshown(Workflow(**shown), stored, FORM_KEYS)
        problem = None
    except ValidationError as e:
        workflow, problem = (
            None,
            "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors()),
        )

    with preview:
        st.subheader("Live classification", anchor=False)
        if workflow is None:
            st.caption(
                "Fill in the name and department to see the classification."
                if not name
                else f"Not valid yet: {md_escape(problem)}"
            )
        else:
            c = classify_workflow(workflow, store().policy)
            b1, b2, _ = st.columns([1, 1, 2])
            with b1:
                badge(c.risk, "risk")
            with b2:
                badge(c.status)
            st.caption(md_escape(c.status_reason))
            for stop in c.stop_conditions:
                st.error(f"`{stop.code}` — {md_escape(stop.reason)}", icon=":material/pause_circle:")
            st.markdown("**Why this risk**")
            signal_list(c.signals)
            st.markdown("**Rollout rules**")
            rules = asdict(c.rollout)
            st.table(
                md_frame(
                    pd.DataFrame(
                        {"rule": [k.replace("_", " ") for k in rules], "value": list(rules.values())}
                    )
                )
            )
            if st.button("Register", type="primary", key="register", disabled=taken):
                registered = run_action(partial(save_workflow, store(), me, workflow))
                if registered:
                    saved_id = (registered.created + registered.updated + registered.unchanged)[0]
                    notice = f"Registered {md_escape(workflow.name)}."
                    switch_page("app_pages/workflow_detail.py", {"id": saved_id}, notice)

with bulk:
    st.caption(
        "A spreadsheet with one row per workflow (see the template on the upload page). "
        "Headers are matched to the data contract by name and common synonyms."
    )
    sheet = st.file_uploader(
        "Workflows CSV", type=["csv", "txt", "tsv"], key="bulk_file", max_upload_size=settings().max_upload_mb
    )
    if sheet is None:
        forget_sheet()  # removed from the uploader: its private temp copy goes too
    else:
        if st.session_state.get("bulk_done", (sheet.file_id,))[0] != sheet.file_id:
            st.session_state.pop("bulk_done")  # another sheet: the last result is no longer news
        sheet_name = sheet.name
        path = keep_sheet(sheet.getvalue(), sheet_name)
        clear_empty = bool(st.session_state.get("bulk_clear"))
        report: WorkflowImportReport | None = run_action(
            lambda: read_workflows(store(), path, name=sheet_name, clear_empty=clear_empty)
        )
        if report is not None:
            c1, c2, c3 = st.columns(3)
            c1.metric("Rows", f"{report.rows:,}")
            c2.metric("Accepted", f"{report.accepted:,}")
            c3.metric("Rejected", f"{report.rejected:,}")
            st.caption(
                f"{report.encoding}, {report.dialect}. Columns used: "
                + ", ".join(f"{k} ← '{md_escape(v)}'" for k, v in report.mapping.items())
            )
            st.info(md_escape(sheet_scope(report.mapping)), icon=":material/rule:")
            for note in report.notes:
                st.caption(md_escape(note))
            for field, values in report.unknown_values.items():
                st.warning(
                    f"Unknown {field} values (treated as at least medium risk): "
                    + md_escape(", ".join(f"{v} ({n})" for v, n in list(values.items())[:10]))
                )
            if report.rejected:
                st.dataframe(report.rejects, hide_index=True, height=200)
                st.download_button(
                    "Download rejected lines (CSV)",
                    safe_csv(report.rejects),
                    file_name="rejected_workflows.csv",
                    key="bulk_rejects",
                )
            clear_box(report)
            if report.changes:
                st.markdown("**What the import changes**")
                st.dataframe(
                    pd.DataFrame(
                        {
                            "workflow_id": list(report.changes),
                            "fields": [", ".join(f) for f in report.changes.values()],
                        }
                    ),
                    hide_index=True,
                    key="bulk_changes",
                )
            classified = classify_workflows(report.workflows, store().policy)
            st.dataframe(
                pd.DataFrame(
                    {
                        "workflow_id": [c.workflow_id for c in classified],
                        "risk": [c.risk for c in classified],
                        "status": [c.status for c in classified],
                        "stop conditions": [c.stop_codes for c in classified],
                    }
                ),
                hide_index=True,
                height=240,
            )
            skip = st.checkbox(
                "Import the valid rows and skip the rejected ones",
                key="bulk_skip",
                disabled=not report.rejected,
            )
            ready = report.accepted and (skip or not report.rejected)
            if st.button(
                f"Import {report.accepted:,} workflows",
                type="primary",
                disabled=not ready,
                key="bulk_confirm",
            ):
                done = run_action(
                    lambda: import_workflows(
                        store(), me, path, skip_invalid=skip, clear_empty=clear_empty, name=sheet_name
                    )
                )
                if done is not None and done.committed:
                    forget_sheet()
                    st.session_state["bulk_done"] = (sheet.file_id, done)
                    st.rerun()
    if "bulk_done" in st.session_state:
        done = st.session_state["bulk_done"][1]
        st.success(
            f"Imported {md_escape(done.file_name)}: {len(done.saved.created)} created, "
            f"{len(done.saved.updated)} updated, {len(done.saved.unchanged)} unchanged.",
            icon=":material/check_circle:",
        )
        lines = clearing_lines(done, CLEAR_CONFIRM) + change_lines(done)
        if lines:
            st.code("\n".join(lines), language=None)
