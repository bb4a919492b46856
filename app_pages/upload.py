"""Upload timings: an export from your team's tool → mapping → preview → confirm → a batch."""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from aiops.auth import Actor
from aiops.charts import before_after_distribution
from aiops.ingest.csv_templates import TIMINGS_TEMPLATE, WORKFLOWS_TEMPLATE
from aiops.ingest.timings import TimingMapping, TimingReport, confirm_upload, open_timing_import
from aiops.report.export import safe_csv
from ui import data
from ui.charts import chart
from ui.columns import upload_columns
from ui.context import actor, revision, run_action, settings, store
from ui.text import md_escape
from ui.undo import confirm_undo
from ui.upload_form import (
    Upload,
    discard_preview,
    forget_upload,
    keep_upload,
    mapping_form,
    page_words,
    preset_target_form,
    recognised,
    workflow_choices,
)

st.title("Upload timings")
st.caption(
    "Upload what your tool exports (tickets, pull requests, deals…). Say which workflow it "
    "measures and when the AI went live; check the preview; confirm. Nothing counts anywhere until "
    "you confirm, and a batch can be undone as a whole."
)


def preview(upload: Upload, mapping: TimingMapping, me: Actor) -> TimingReport:
    """Check the whole file; a committable one is written now as a pending batch that no read sees
    until Confirm flips it."""
    discard_preview()  # the rows an earlier preview of this session wrote
    with open_timing_import(store(), upload.path, mapping, upload.name, preview=True) as pending:
        if pending.committable:
            pending.stage(me)
        return pending.report


def preview_table(report: TimingReport) -> pd.DataFrame:
    """The per-phase preview; an elapsed upload's loops in days (cycle time), not minutes."""
    if report.mapping.kind != "elapsed":
        return report.summary
    days = {"mean_minutes": "mean_days", "median_minutes": "median_days"}
    return report.summary.assign(**{d: report.summary[m] / (24 * 60) for m, d in days.items()}).drop(
        columns=list(days)
    )


rev = revision()
me = actor()
metrics = data.metrics(rev)
writable = workflow_choices(metrics, data.batches(rev), me)

uploaded = st.file_uploader(
    "Export file (CSV, or JSON such as `gh pr list --json ...`)",
    type=["csv", "txt", "tsv", "json", "jsonl", "ndjson"],  # JSON Lines: refused with a sentence, not an icon
    key="upload_file_widget",
    max_upload_size=settings().max_upload_mb,
)
if uploaded is None:
    forget_upload()  # cancelled (the file was removed): its temp copy goes too
else:
    upload = run_action(partial(keep_upload, uploaded))
    if upload is None:
        st.stop()
    preset, reason, prefill = recognised(upload)
    if upload.refusal:
        st.error(md_escape(upload.refusal), icon=":material/error:")
        st.button("Confirm upload", type="primary", disabled=True, key="confirm")
        st.stop()
    st.info(
        f"**{md_escape(upload.name)}** — {upload.encoding}, {upload.dialect}, {len(upload.headers)} "
        f"columns. {md_escape(reason)[:1].upper() + md_escape(reason)[1:]}.",
        icon=":material/search:",
    )
    with st.container(border=True):
        mapping = mapping_form(upload, writable, prefill, preset)
    if mapping is not None and st.button("Preview", type="primary", key="preview"):
        previewed = run_action(partial(preview, upload, mapping, me), words=page_words)
        if previewed is not None:
            st.session_state["upload_report"] = (upload.digest, mapping, previewed)

    held: tuple[str, TimingMapping, TimingReport] | None = st.session_state.get("upload_report")
    if held and held[0] == upload.digest and held[1] == mapping:
        _, mapping, report = held
        st.subheader("Preview", anchor=False)
        c1, c2, c3 = st.columns(3)
        c1.metric("Records in the file", f"{report.rows:,}")
        c2.metric(
            "Accepted",
            f"{report.accepted:,}",
            help="Records that become timing samples (event logs: events in accepted cases).",
        )
        c3.metric("Rejected", f"{report.rejected:,}", help="Every rejected record, with line and reason.")
        if report.mapping.mode == "events":
            st.caption(f"{report.loops_found:,} loops (one per case).")
        for note in report.notes:
            st.caption(md_escape(note))
        for problem in map(page_words, report.problems):
            st.error(md_escape(problem[:1].upper() + problem[1:]) + ".", icon=":material/block:")
        for warning in map(page_words, report.warnings):
            st.warning(md_escape(warning[:1].upper() + warning[1:]) + ".", icon=":material/warning:")
        if report.mapping.kind == "elapsed":  # calendar time reads in days, as cycle time
            st.caption(
                "Elapsed (open → close) time: the workflow's figures show it as cycle time in days, "
                "never as hours returned."
            )
        st.dataframe(
            preview_table(report),
            hide_index=True,
            column_config={
                "mean_minutes": st.column_config.NumberColumn("mean min/loop", format="%.1f"),
                "median_minutes": st.column_config.NumberColumn("median min/loop", format="%.1f"),
                "mean_days": st.column_config.NumberColumn("mean days/loop", format="%.2f"),
                "median_days": st.column_config.NumberColumn("median days/loop", format="%.2f"),
                "samples": st.column_config.NumberColumn("n (samples)"),
            },
        )
        if len(report.distribution):
            chart(
                before_after_distribution,
                report.distribution,
                title="Minutes per loop in this file",
                key="preview_chart",
                stored=False,  # rows of a file not committed yet
            )
        if report.rejected:
            st.markdown(f"**Rejected records** ({report.rejected:,})")
            counts = report.rejects.groupby(["column", "reason"]).size().reset_index(name="records")
            st.dataframe(counts, hide_index=True)
            rejects = report.rejects.rename(columns={"id": report.id_column or "id"})
            st.dataframe(rejects.head(1000), hide_index=True, height=240)
            st.download_button(
                "Download every rejected line (CSV)",
                safe_csv(rejects),
                file_name=f"rejected_{upload.name}",
                mime="text/csv",
                key="rejects_csv",
            )
        save_as = st.text_input(
            "Save this mapping as a preset (optional)",
            key="preset_name",
            placeholder="e.g. Jira issues, support team",
        )
        target = preset_target_form(me, save_as) if save_as.strip() else None
        if st.button(
            f"Confirm upload of {report.accepted:,} records",
            type="primary",
            disabled=report.accepted == 0 or bool(report.problems),
            key="confirm",
        ):
            result = run_action(
                lambda: confirm_upload(store(), me, report, save_preset_as=target), words=page_words
            )
            if result is not None:
                st.session_state.pop("upload_report")  # confirmed: nothing left to discard
                forget_upload()
                st.session_state["upload_done"] = (
                    result.batch_id,
                    result.accepted,
                    result.workflow_ids,
                    target,
                )
                st.rerun()

    else:
        # No preview of this mapping yet: nothing to confirm.
        st.button("Confirm upload", type="primary", disabled=True, key="confirm")

done = st.session_state.pop("upload_done", None)
if done:
    st.success(
        f"Committed batch {done[0]}: {done[1]:,} records for {md_escape(', '.join(done[2]))}."
        + (f" Saved the mapping as preset '{md_escape(done[3].name)}' ({done[3].scope})." if done[3] else ""),
        icon=":material/check_circle:",
    )

st.subheader("Recent uploads", anchor=False)
batches = data.batches(rev)
if batches.empty:
    st.caption("No uploads yet.")
else:
    st.dataframe(
        batches.drop(columns=["file_sha256"]),
        hide_index=True,
        column_config=upload_columns(
            undone_at=st.column_config.DatetimeColumn("undone", format="YYYY-MM-DD HH:mm")
        ),
    )
    active = batches[batches.undone_at.isna()]
    if len(active):
        files = active.set_index("batch_id").file_name
        undo_target = st.selectbox(
            "Undo a whole upload",
            active.batch_id.tolist(),
            index=None,  # never preselected: a lead says which upload goes
            placeholder="Choose the upload to undo",
            key="undo_pick",
            format_func=lambda b: f"batch {b} · {files.loc[b]}",
        )
        if undo_target is not None:
            confirm_undo(int(undo_target), "undo_batch")

st.subheader("Templates", anchor=False)
t1, t2 = st.columns(2)
t1.download_button(
    "Timings template (CSV)",
    TIMINGS_TEMPLATE,
    file_name="timings_template.csv",
    mime="text/csv",
    key="timings_template",
)
t2.download_button(
    "Workflows template (CSV)",
    WORKFLOWS_TEMPLATE,
    file_name="workflows_template.csv",
    mime="text/csv",
    key="workflows_template",
)
