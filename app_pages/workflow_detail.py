"""Workflow detail: its classification and rollout rules, its evidence, its checkpoints, its uploads."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial

import pandas as pd
import streamlit as st

from aiops.charts import before_after_distribution, minutes_per_loop_by_week
from aiops.classifier import FOUR_QUESTIONS
from aiops.estimates.codes import EvidenceLabel, WarningCode
from aiops.inventory import record_incident, remove_checkpoint, sign_off
from aiops.report.format import DEFINITIONS, design_words, estimate, money, n_phrase, warning_words
from aiops.workflow_reads import get_workflow
from ui import data
from ui.charts import chart
from ui.context import actor, rerun, revision, run_write, store
from ui.text import md_escape, md_frame, safe_frame
from ui.undo import confirm_undo
from ui.widgets import BadgeColor, badge, current_saving_line, signal_list

PRECEDENT_OUTCOMES = {
    "raised": "Raised to high by the precedents (signal `precedent`).",
    "review": "Flagged for a human's review: the precedents lean towards high impact.",
    "unchanged": "The precedents change nothing here.",
}

MINUTES_PER_DAY = 24 * 60
st.title("Workflow detail")
rev = revision()
view = data.view(rev)  # all time: the latest estimate uses every sample
metrics = view.workflows
if metrics.empty:
    st.info("No workflows yet: register one first.", icon=":material/lightbulb:")
    st.stop()

ids = metrics.sort_values(["department", "name"]).workflow_id.tolist()
labels = dict(zip(metrics.workflow_id, metrics.department + " · " + metrics.name, strict=True))


def open_workflow(workflow_id: str) -> None:
    st.query_params["id"] = workflow_id


def not_found(wanted: str) -> None:
    """An id in the link that names no workflow: say so, and offer a search instead of another page."""
    st.error(
        md_escape(f"Workflow not found: no workflow has the id '{wanted}'. Search for it below."),
        icon=":material/search_off:",
    )
    query = st.text_input("Search workflows by name, id or department", key="workflow_search").strip()
    if not query:
        return
    text = (metrics.workflow_id + " " + metrics.name + " " + metrics.department).str.casefold()
    found = [i for i in ids if query.casefold() in text[metrics.workflow_id == i].iloc[0]]
    if not found:
        st.caption(md_escape(f"No workflow matches '{query}'."))
    for i in found[:20]:
        st.button(md_escape(labels[i]), key=f"found_{i}", on_click=open_workflow, args=(i,))


wanted = st.query_params.get("id")
resolved = data.stored_workflow_id(rev, wanted) if wanted else None  # ids ignore case and spacing
if wanted and resolved not in ids:
    not_found(wanted)
    st.stop()
workflow_id = st.selectbox(
    "Workflow",
    ids,
    index=ids.index(resolved) if resolved in ids else 0,
    format_func=lambda i: labels[i],
    key="workflow_pick",
)
if workflow_id is None:
    st.stop()
st.query_params["id"] = workflow_id

workflow = get_workflow(store(), workflow_id)
c = data.classification(rev, workflow_id)
m = metrics.set_index("workflow_id").loc[workflow_id]

st.header(md_escape(workflow.name), anchor=False)
st.caption(
    f"{md_escape(workflow.department)} · owner: {md_escape(workflow.owner or 'none')} · "
    f"id {md_escape(workflow.workflow_id)} · "
    f"classified with policy {c.policy_version}"
)
# Elapsed (open → close) time is cycle time: its own headline in days and its own words, never
# the green "saving" of hands-on hours. A hands-on upload flagged as calendar time reads the same.
elapsed = m.time_kind == "elapsed" or WarningCode.ELAPSED_TIME in list(m.warnings)
CYCLE_WORDS: dict[str, tuple[str, BadgeColor]] = {
    EvidenceLabel.SAVING: ("faster to close", "blue"),
    EvidenceLabel.SLOWER: ("slower to close", "red"),
}
b1, b2, b3, _ = st.columns([1, 1, 1, 5])
with b1:
    badge(c.risk, "risk")
with b2:
    badge(c.status)
with b3:
    if elapsed and c.evidence in CYCLE_WORDS:
        words, color = CYCLE_WORDS[c.evidence]
        st.badge(words, color=color)
    else:
        badge(c.evidence)
st.markdown(f"**Status:** {md_escape(c.status_reason)}")
for stop in c.stop_conditions:
    st.error(f"Stop condition `{stop.code}`: {md_escape(stop.reason)}", icon=":material/pause_circle:")

batches = data.batches(rev)
mine = batches[batches.workflow_ids.map(lambda ids: workflow_id in list(ids))]
business_hours = bool((mine.business_hours & mine.undone_at.isna()).any())
with st.container(border=True):
    if elapsed and not pd.isna(m.saved_per_loop):
        days = m.saved_per_loop / MINUTES_PER_DAY
        st.metric(
            "Cycle time, open → close" + (" (business hours)" if business_hours else ""),
            f"{abs(days):,.1f} days {'faster' if days >= 0 else 'slower'} to close",
            help="Elapsed calendar time from open to close: reported as cycle time, never as hours returned.",
        )
        st.caption(
            "Days faster to close per loop: "
            f"{estimate(days, m.saved_low / MINUTES_PER_DAY, m.saved_high / MINUTES_PER_DAY, 'days', 1)} · "
            f"{n_phrase(int(m.samples_before), int(m.samples_after))} · "
            f"before {m.mean_per_loop_before / MINUTES_PER_DAY:,.1f} days per loop, "
            f"after {m.mean_per_loop_after / MINUTES_PER_DAY:,.1f} · not counted as hours returned"
        )
    else:
        st.metric(
            "Minutes saved per loop" + (" (business hours)" if business_hours else ""),
            "—" if pd.isna(m.saved_per_loop) else f"{m.saved_per_loop:,.1f} min",
            help=DEFINITIONS["saved_per_loop"],
        )
        if pd.isna(m.saved_per_loop):
            st.caption(
                f"No estimate yet: {n_phrase(int(m.samples_before), int(m.samples_after))}; "
                f"evidence {c.evidence}."
            )
        else:
            st.caption(
                f"{estimate(m.saved_per_loop, m.saved_low, m.saved_high, 'min', 1)} · "
                f"{n_phrase(int(m.samples_before), int(m.samples_after))} · evidence **{m.evidence}** · "
                f"before {m.mean_per_loop_before:,.1f} min/loop (median {m.median_per_loop_before:,.1f}), "
                f"after {m.mean_per_loop_after:,.1f} "
                f"(median {m.median_per_loop_after:,.1f}, rework included) · "
                f"{estimate(m.hours_returned, m.hours_returned_low, m.hours_returned_high, 'h')} returned "
                f"(all time{'; at risk while paused, not in the headline' if m.at_risk else ''}) · "
                f"value {money(m.value, view.currency)} at {m.hourly_cost:,.0f} {view.currency}/h · "
                f"AI cost {money(m.ai_cost, view.currency)}"
            )
    if not pd.isna(m.current_per_loop):
        st.caption(current_saving_line(m, elapsed))
    st.markdown(f"**Design:** {md_escape(design_words(m.design))}")
    for code in m.warnings:
        st.warning(md_escape(warning_words(code)), icon=":material/report:")


def sign_off_form() -> None:
    with st.form("sign_off"):
        st.markdown(
            "**Sign-off** — a named approver clears the permission/billing/production stop "
            "condition (with an approve-each or two-person review)."
        )
        approver = st.text_input("Approver's name", value=workflow.signed_off_by)
        if st.form_submit_button("Record sign-off") and run_write(
            lambda: sign_off(store(), actor(), workflow_id, approver)
        ):
            st.query_params.pop("form", None)
            rerun("Sign-off recorded.")


# `workflow?id=ID&form=sign_off` (a blocker on My department) opens the sign-off form in sight.
asked_sign_off = st.query_params.get("form") == "sign_off"
if asked_sign_off:
    sign_off_form()

classification_tab, timings_tab, checkpoints_tab, uploads_tab, fields_tab = st.tabs(
    ["Classification", "Timings", "Checkpoints & sign-off", "Uploads", "All fields"]
)

with classification_tab:
    st.subheader("Risk signals", anchor=False)
    signal_list(c.signals)
    for field, values in c.unknown_values.items():
        st.warning(
            f"Unknown {field} value(s): {md_escape(', '.join(values))} — treated as at least medium risk."
        )
    st.subheader("Published precedents", anchor=False)
    check = c.precedents
    if check is None:
        st.caption(
            "No second opinion: precedents are off in the policy, or the texts share no word with them."
        )
    else:
        st.caption(
            f"{PRECEDENT_OUTCOMES[check.outcome]} The precedent model's probability of high impact: "
            f"{check.probability:.2f} (precedents {md_escape(check.version)}). "
            "The nearest published use cases "
            "and the label their agency gave them:"
        )
        # A dataframe shows each cell as plain text (never markdown); its CSV export is escaped.
        nearest = {
            "use case": [p.name for p in check.nearest],
            "agency": [p.agency for p in check.nearest],
            "label": [p.label for p in check.nearest],
            "similarity": [p.similarity for p in check.nearest],
        }
        st.dataframe(safe_frame(pd.DataFrame(nearest)), hide_index=True)
    st.subheader("Rollout rules", anchor=False)
    rules = asdict(c.rollout)
    rule_rows = {"rule": [k.replace("_", " ") for k in rules], "value": list(rules.values())}
    st.table(md_frame(pd.DataFrame(rule_rows)))
    st.subheader("The owner's four questions", anchor=False)
    answers = {
        "trigger": workflow.trigger,
        "acceptable_output": workflow.acceptable_output,
        "reviewer": workflow.reviewer,
        "failure_plan": workflow.failure_plan,
    }
    st.table(
        md_frame(
            pd.DataFrame(
                {
                    "question": list(FOUR_QUESTIONS.values()),
                    "answer": [answers[k] or "— not answered —" for k in FOUR_QUESTIONS],
                }
            )
        )
    )

with timings_tab:
    samples = data.samples(rev, workflow_id)
    if samples.empty:
        st.info("No timings yet. Upload an export with a go-live date to measure this loop.")
        if actor().can_write(workflow.department):  # the upload page is only in a writer's navigation
            st.page_link("app_pages/upload.py", label="Upload timings", icon=":material/upload_file:")
    else:
        chart(
            before_after_distribution,
            samples,
            title="Minutes per loop, before and after (sample of up to 4,000 rows)",
            key="dist",
            stored=False,  # timing rows, not figures
        )
        weekly = view.weekly
        chart(
            minutes_per_loop_by_week,
            weekly[weekly.workflow_id == workflow_id],
            title="Mean minutes per loop by week",
            key="weekly_minutes",
        )

with checkpoints_tab:
    st.subheader("Checkpoints in place", anchor=False)
    if workflow.checkpoints:
        for number, checkpoint in enumerate(workflow.checkpoints, start=1):
            st.markdown(f"{number}. {md_escape(checkpoint)}")
    else:
        st.caption("No checkpoints.")
    advice = c.next_checkpoint
    removable = advice.checkpoint
    if removable:
        st.success(
            f"Eligible to remove one checkpoint: **{md_escape(advice.checkpoint)}**. "
            f"{md_escape(advice.reason)}."
        )
        if st.button("Remove this one checkpoint", key="remove_checkpoint", type="primary") and run_write(
            partial(remove_checkpoint, store(), actor(), workflow_id, removable)
        ):
            rerun("Checkpoint removed; the next waits for fresh evidence.")
    else:
        st.info(f"No checkpoint may be removed now: {md_escape(advice.reason)}.")
    if not asked_sign_off:
        sign_off_form()
    with st.form("incident"):
        st.markdown("**Incident** — something went wrong; the checkpoint ladder waits for fresh evidence.")
        note = st.text_area("What happened", max_chars=2000)
        if st.form_submit_button("Record incident") and run_write(
            lambda: record_incident(store(), actor(), workflow_id, note)
        ):
            rerun("Incident recorded.")

with uploads_tab:
    if mine.empty:
        st.caption("No uploads for this workflow yet.")
    for batch in mine.itertuples(index=False):
        with st.container(border=True):
            undone = batch.undone_at is not None and not pd.isna(batch.undone_at)
            st.markdown(
                f"**Batch {batch.batch_id}** · {md_escape(batch.file_name)} · "
                f"{batch.accepted:,} accepted, {batch.rejected:,} rejected · by "
                f"{md_escape(batch.actor)} on {batch.uploaded_at:%Y-%m-%d %H:%M}"
                + (f" · undone by {md_escape(batch.undone_by)}" if undone else "")
            )
            asked = f"undo_{batch.batch_id}"
            if not undone and (
                st.button("Undo this upload…", key=asked) or st.session_state.get(f"{asked}_open")
            ):
                st.session_state[f"{asked}_open"] = True  # the confirmation stays until done
                confirm_undo(int(batch.batch_id), asked)

with fields_tab:
    row = workflow.to_row()
    st.table(md_frame(pd.DataFrame({"field": list(row), "value": [str(v) for v in row.values()]})))
