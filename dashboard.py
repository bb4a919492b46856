"""Saved Loops — the dashboard's router. Pages in `app_pages/` are thin views over `aiops`.

The folder is not called `pages/`: Streamlit runs a `pages/` folder beside the entry script as
a legacy multipage app on a process's first script run, which would bypass this router."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from aiops.errors import AiopsError
from ui import context

HERE = Path(__file__).parent
PAGES = {
    "Measure": [
        ("overview.py", "Overview", ":material/insights:", "overview"),
        ("departments.py", "Departments", ":material/apartment:", "departments"),
        ("workflows.py", "Workflows", ":material/table_rows:", "workflows"),
        ("workflow_detail.py", "Workflow detail", ":material/account_tree:", "workflow"),
    ],
    "Contribute": [
        ("upload.py", "Upload timings", ":material/upload_file:", "upload"),
        ("register.py", "Register workflow", ":material/add_circle:", "register"),
    ],
    "Govern": [
        ("policy.py", "Policy", ":material/gavel:", "policy"),
        ("audit.py", "Audit log", ":material/history:", "audit"),
    ],
}


def run() -> None:
    st.set_page_config(page_title="Saved Loops", page_icon=":material/all_inclusive:", layout="wide")
    pages = {
        section: [
            st.Page(
                HERE / "app_pages" / file, title=title, icon=icon, url_path=url, default=url == "overview"
            )
            for file, title, icon, url in entries
        ]
        for section, entries in PAGES.items()
    }
    navigation = st.navigation(pages)
    try:
        store = context.store()
    except AiopsError as e:
        st.error(
            f"The database could not be opened: {e.message}" + (f" — {e.hint}" if e.hint else ""),
            icon=":material/error:",
        )
        st.stop()
    with st.sidebar:
        st.caption(f"Policy {store.policy.version} · acting as {context.actor().name}")
    navigation.run()


run()
