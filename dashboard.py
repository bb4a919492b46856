"""Saved Loops — the dashboard's router. Pages in `app_pages/` are thin views over `aiops`.

The folder is not called `pages/`: Streamlit runs a `pages/` folder beside the entry script as
a legacy multipage app on a process's first script run, which would bypass this router."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from aiops.auth import SignInRefused
from aiops.errors import AiopsError
from ui import context
from ui.text import md_escape

HERE = Path(__file__).parent
# Pages by what they need: anyone signed in reads; writing needs a lead or admin role.
PAGES = {
    "Measure": [
        ("overview.py", "Overview", ":material/insights:", "overview"),
        ("departments.py", "Departments", ":material/apartment:", "departments"),
        ("workflows.py", "Workflows", ":material/table_rows:", "workflows"),
        ("workflow_detail.py", "Workflow detail", ":material/account_tree:", "workflow"),
    ],
    "Contribute": [
        ("my_department.py", "My department", ":material/badge:", "my-department"),
        ("upload.py", "Upload timings", ":material/upload_file:", "upload"),
        ("sources.py", "Sources", ":material/cloud_sync:", "sources"),
        ("register.py", "Register workflow", ":material/add_circle:", "register"),
    ],
    "Govern": [
        ("policy.py", "Policy", ":material/gavel:", "policy"),
        ("audit.py", "Audit log", ":material/history:", "audit"),
    ],
}


def run() -> None:
    st.set_page_config(page_title="Saved Loops", page_icon=":material/all_inclusive:", layout="wide")
    try:
        store = context.store()
        actor = context.actor() if not context.auth_configured() else context.signed_in_actor()
    except SignInRefused as e:
        st.title("Saved Loops")
        st.error(md_escape(f"Sign-in refused: {e.message}."), icon=":material/no_accounts:")
        st.caption(md_escape(e.hint.capitalize() + "."))
        st.button("Sign out", on_click=st.logout, key="sign_out_refused", icon=":material/logout:")
        st.stop()
    except AiopsError as e:
        st.error(
            md_escape(f"Saved Loops could not start: {e.message}" + (f" — {e.hint}" if e.hint else "")),
            icon=":material/error:",
        )
        st.stop()
    if actor is None:
        sign_in_page()
        st.stop()
    if context.auth_configured():
        context.note_sign_in(actor)
    sections = {s: e for s, e in PAGES.items() if s != "Contribute" or actor.can_write()}
    landing = "my-department" if actor.role == "lead" else "overview"  # a lead lands on their department
    pages = {
        section: [
            st.Page(HERE / "app_pages" / file, title=title, icon=icon, url_path=url, default=url == landing)
            for file, title, icon, url in entries
        ]
        for section, entries in sections.items()
    }
    navigation = st.navigation(pages)
    with st.sidebar:
        if context.auth_configured():
            departments = f" · {', '.join(actor.departments)}" if actor.departments else ""
            st.caption(md_escape(f"Signed in as {actor.name} ({actor.role}{departments})"))
            st.button("Sign out", on_click=st.logout, key="sign_out", icon=":material/logout:")
        else:
            st.warning(
                "**Local mode**: no sign-in is configured, so everyone acts as the local admin "
                f"({md_escape(actor.name)}). See the README to turn on sign-in.",
                icon=":material/lock_open:",
            )
        st.caption(md_escape(f"Policy {store.policy.version}"))
    context.show_notice()
    navigation.run()


def sign_in_page() -> None:
    st.title("Saved Loops")
    st.write("Sign in with your company account to see the AI workflows and the time they return.")
    st.button("Sign in", on_click=st.login, type="primary", icon=":material/login:", key="sign_in")


run()
