"""Audit log: who did what, when. Append-only: nothing here edits or deletes a row."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from ui import data
from ui.context import revision
from ui.text import md_escape

st.title("Audit log")
rev = revision()
log = data.audit_log(rev)
if log.empty:
    st.info(
        "Nothing has happened yet: every write (imports, uploads, sign-offs, policy changes) "
        "will appear here.",
        icon=":material/lightbulb:",
    )
    st.stop()

c1, c2, c3, c4 = st.columns(4)
actors = c1.multiselect("Who", sorted(log.actor.unique()), key="audit_actor")
actions = c2.multiselect("Action", sorted(log.action.unique()), key="audit_action")
entity = c3.text_input("Entity id contains", key="audit_entity")
first, last = log.recorded_at.min().date(), log.recorded_at.max().date()
days = c4.date_input("Between", (first, last), min_value=first, max_value=last, key="audit_days")

view = log
if actors:
    view = view[view.actor.isin(actors)]
if actions:
    view = view[view.action.isin(actions)]
if entity:
    view = view[view.entity_id.fillna("").str.contains(entity, case=False, regex=False)]
if isinstance(days, tuple) and len(days) == 2:
    view = view[(view.recorded_at >= str(days[0])) & (view.recorded_at < str(days[1] + timedelta(days=1)))]

st.caption(f"{len(view):,} of {len(log):,} entries, newest first.")
picked = st.dataframe(
    view,
    hide_index=True,
    height=min(35 * (len(view) + 1) + 3, 640),  # a page of entries, not ten rows and a scrollbar
    column_config={
        "recorded_at": st.column_config.DatetimeColumn("when (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        "detail": st.column_config.TextColumn("detail", width="large"),
    },
    on_select="rerun",
    selection_mode="single-row",
    key="audit_table",
)
rows = picked.selection.rows
if rows:
    entry = view.iloc[rows[0]]
    st.markdown(
        f"**Entry {entry.audit_id}** · {md_escape(entry.action)} on {md_escape(entry.entity)} "
        f"{md_escape(entry.entity_id)}"
    )
    detail = data.audit_detail(rev, int(entry.audit_id))
    st.json(detail or "{}")  # the table shows the first 400 characters; this is all of it
else:
    st.caption("Select a row to read its full detail.")
