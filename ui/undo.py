"""Undo an upload: say what it removes, then ask; nothing happens on one click."""

from __future__ import annotations

import streamlit as st

from aiops.ingest.batches import batch_contents, undo_batch
from ui.context import actor, rerun, run_action, run_write, store
from ui.text import md_escape


def confirm_undo(batch_id: int, key: str) -> None:
    """What undoing ``batch_id`` removes (samples, loops, period, workflows), a box to tick and the
    button; once the batch is undone, the confirmation closes (``{key}_open``) and the page runs
    again."""
    contents = run_action(lambda: batch_contents(store(), batch_id))
    if contents is None:
        return
    with st.container(border=True):
        st.warning(md_escape(contents.sentence()), icon=":material/undo:")
        if len(contents.workflows):
            st.dataframe(
                contents.workflows,
                hide_index=True,
                column_config={"before": "samples before", "after": "samples after"},
                key=f"{key}_what",
            )
        sure = st.checkbox(
            f"Yes, remove these {contents.samples:,} timing samples", key=f"{key}_sure", value=False
        )
        if st.button(
            f"Undo batch {batch_id}", key=f"{key}_go", type="primary", disabled=not sure
        ) and run_write(lambda: undo_batch(store(), actor(), batch_id)):
            st.session_state.pop(f"{key}_open", None)
            rerun(f"Batch {batch_id} undone.")
