"""My department: a lead's workflows with what blocks each, their uploads, and one button per
blocker that opens the form resolving it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from aiops.clock import utcnow
from aiops.department import Blocker, blockers
from ui import data
from ui.columns import upload_columns
from ui.context import actor, revision
from ui.text import md_escape
from ui.widgets import badge

FORMS = {"edit": "Edit the workflow", "sign_off": "Record the sign-off", "upload": "Upload timings"}

st.title("My department")
rev = revision()
me = actor()
metrics = data.metrics(rev)
known = sorted(metrics.department.unique().tolist(), key=str.casefold)
mine = [d for d in known if me.leads(d)]
if me.role == "admin" and not mine:  # an admin leads no department: any one, chosen
    picked = st.selectbox("Department", known, key="my_department", index=0 if known else None)
    mine = [picked] if picked else []
if not mine:
    st.info(
        "You lead no department with registered workflows. Register one, or ask an admin for the lead "
        "role of your department.",
        icon=":material/lightbulb:",
    )
    st.stop()
today = utcnow().date()
st.caption(md_escape(f"{', '.join(mine)} · figures as of {today:%Y-%m-%d}"))

own = metrics[metrics.department.isin(mine)].sort_values(["department", "name"])
found = {
    w.workflow_id: blockers(w, data.classification(rev, w.workflow_id), today) for _, w in own.iterrows()
}
blocked = sum(1 for b in found.values() if b)
c1, c2, c3 = st.columns(3)
c1.metric("Workflows", f"{len(own):,}")
c2.metric("Blocked", f"{blocked:,}", help="With at least one thing to resolve below.")
c3.metric("Clear", f"{len(own) - blocked:,}")


def open_form(workflow_id: str, blocker: Blocker) -> None:
    """The form that resolves ``blocker``: the edit form, the sign-off form, or an upload."""
    if blocker.form == "edit":
        st.switch_page("app_pages/register.py", query_params={"edit": workflow_id})
    elif blocker.form == "sign_off":
        st.switch_page("app_pages/workflow_detail.py", query_params={"id": workflow_id, "form": "sign_off"})
    else:
        st.switch_page("app_pages/upload.py", query_params={"workflow": workflow_id})


st.subheader("My workflows", anchor=False)
for _, w in own.iterrows():
    with st.container(border=True):
        head, status = st.columns([5, 1])
        head.markdown(
            f"**{md_escape(w['name'])}** · {md_escape(w.department)} · id {md_escape(w.workflow_id)}"
        )
        with status:
            badge(w.status)
        if not found[w.workflow_id]:
            st.caption("Nothing blocks it.")
        for number, blocker in enumerate(found[w.workflow_id]):
            text, button = st.columns([4, 1], vertical_alignment="center")
            text.markdown(f":material/block: {md_escape(blocker.text[:1].upper() + blocker.text[1:])}")
            if button.button(FORMS[blocker.form], key=f"fix_{w.workflow_id}_{number}"):
                open_form(w.workflow_id, blocker)

st.subheader("My uploads", anchor=False)
batches = data.batches(rev)
ids = set(own.workflow_id)
ours = batches[batches.workflow_ids.map(lambda listed: bool(ids & set(listed))) | (batches.actor == me.name)]
if ours.empty:
    st.caption("No uploads for these workflows yet.")
else:
    st.dataframe(
        ours.drop(columns=["file_sha256"]).assign(
            state=ours.undone_at.map(lambda u: "active" if u is None or pd.isna(u) else "undone")
        ),
        hide_index=True,
        column_config=upload_columns(undone_at=None, undone_by=None),
        key="my_uploads",
    )
    st.page_link("app_pages/upload.py", label="Upload or undo a batch", icon=":material/upload_file:")
