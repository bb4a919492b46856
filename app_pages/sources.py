"""Sources: connect a tool's API to a workflow once; pull it now (or on a schedule, see README)."""

from __future__ import annotations

from datetime import date
from functools import partial

import pandas as pd
import streamlit as st

from aiops.sources.model import TOOLS, add_source, list_sources, remove_source, spec_from
from aiops.sources.pull import PullOptions, PullResult, pull_source
from ui import data
from ui.context import actor, rerun, revision, run_action, run_write, store
from ui.text import md_escape, safe_frame
from ui.upload_form import workflow_choices

st.title("Sources")
st.caption(
    "A source pulls a workflow's timings from the tool itself (GitHub, Jira, Zendesk): each pull is one "
    "batch through the same checks as an upload, with rejects, and can be undone. Records pulled again "
    "replace their earlier sample. The token stays where you keep it: the source names an environment "
    "variable or a private file of the server, never the token."
)
rev = revision()
me = actor()
writable = workflow_choices(data.metrics(rev), data.batches(rev), me)
if not writable:
    st.info("You may add sources for your departments' workflows; none is registered yet.")
    st.stop()


def show_result(result: PullResult) -> None:
    cols = st.columns(5)
    figures = (
        ("Records fetched", result.records),
        ("Accepted", result.accepted),
        ("Rejected", result.rejected),
        ("New or changed", result.new_or_changed),
        ("Replaced", result.replaced),
    )
    for col, (label, value) in zip(cols, figures, strict=True):
        col.metric(label, f"{value:,}")
    if result.batch_id is not None:
        st.success(
            f"Committed batch {result.batch_id} ({result.pages} pages).", icon=":material/check_circle:"
        )
    else:
        st.info("Nothing new: nothing was written.", icon=":material/info:")
    if result.rejects:
        st.dataframe(safe_frame(pd.DataFrame(result.rejects)), hide_index=True, width="stretch")


sources = list_sources(store(), me)
st.subheader("Connected", anchor=False)
if not sources:
    st.caption("No source yet: add one below.")
for source in sources:
    with st.container(border=True):
        pulled = (
            f"last pull {source.last_pull_at:%Y-%m-%d %H:%M} UTC" if source.last_pull_at else "never pulled"
        )
        st.markdown(
            f"**{md_escape(source.name)}** · {md_escape(TOOLS[source.tool].title)} · "
            f"{md_escape(source.query)} → {md_escape(writable.get(source.workflow_id, source.workflow_id))}"
            f" · {md_escape(source.loop)} · token from {md_escape(source.token_ref)} · {pulled}"
        )
        pull_col, remove_col, _ = st.columns([1, 1, 4])
        if pull_col.button("Pull now", key=f"pull_{source.source_id}", type="primary"):
            with st.status(md_escape(f"Pulling {source.name}…")) as status:
                options = PullOptions(progress=lambda line: status.write(md_escape(line)))
                result = run_action(partial(pull_source, store(), me, source.name, options))
                done = result is not None
                status.update(label="Pulled" if done else "Failed", state="complete" if done else "error")
            if result is not None:
                show_result(result)
        if remove_col.button("Remove", key=f"remove_{source.source_id}") and run_write(
            partial(remove_source, store(), me, source.name)
        ):
            rerun("Source removed; its batches stay.")

st.subheader("Add a source", anchor=False)
tool_name = st.selectbox("Tool", list(TOOLS), format_func=lambda t: TOOLS[t].title, key="source_tool")
tool = TOOLS[tool_name]
with st.form("add_source"):
    name = st.text_input("Name", placeholder="e.g. avro-jira", key="source_name")
    workflow_id = st.selectbox(
        "Workflow it feeds",
        list(writable),
        format_func=lambda w: writable[w],
        index=None,
        key="source_workflow",
    )
    base_url = st.text_input("API base URL", value=tool.default_base_url, key="source_base_url")
    query = st.text_input("Query", help=tool.query_help, placeholder=tool.query_help, key="source_query")
    loops = {x.name: x.label for x in tool.loops}
    loop = st.selectbox("Loop", list(loops), format_func=loops.__getitem__, key="source_loop")
    time_kind = st.selectbox("Time kind", ["elapsed", "hands_on"], key="source_time_kind")
    go_live = st.date_input("Go-live", value=None, min_value=date(1990, 1, 1), key="source_go_live")
    token_ref = st.text_input(
        "Token reference",
        placeholder="env:GITHUB_TOKEN or file:/etc/saved-loops/jira.token",
        help="Where the server reads the token: an environment variable, or a file only its user can read. "
        "Never paste the token itself.",
        key="source_token_ref",
    )
    submitted = st.form_submit_button("Add source", type="primary")


def added() -> None:
    values: dict[str, object] = dict(
        name=name, tool=tool_name, base_url=base_url, query=query, workflow_id=workflow_id or "",
        loop=loop, time_kind=time_kind, go_live=go_live, token_ref=token_ref,
    )  # fmt: skip
    st.session_state["source_added"] = add_source(store(), me, spec_from(values)).name


if submitted and run_write(added):
    rerun("Source added.")
if st.session_state.get("source_added"):
    st.success(md_escape(f"Source {st.session_state.pop('source_added')} added: pull it above."))
