"""The dashboard's handle on the domain: one store per process, the acting user, errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from aiops.auth import Actor, local_admin
from aiops.errors import AiopsError
from aiops.settings import Settings
from aiops.store import Store
from aiops.workspace import open_store

T = TypeVar("T")


@st.cache_resource(show_spinner=False)
def _store(db: str) -> Store:
    # One Store per database file and process: it owns the file; every run reads via a cursor.
    return open_store(Settings(db=db))


def settings() -> Settings:
    return Settings()


def store() -> Store:
    return _store(str(settings().db))


def revision() -> str:
    """The key of cached reads: the database and its last audit row. Every write appends to the
    audit log, so any write (from any session) changes it."""
    row = store().query_one("SELECT coalesce(max(audit_id), 0) FROM audit_log")
    return f"{settings().db}#{row[0]}"


def actor() -> Actor:
    """The signed-in user; in local mode (no sign-in configured), one local admin."""
    return st.session_state.get("actor") or local_admin()


def run_action(action: Callable[[], T], success: str | None = None) -> T | None:
    """Run a domain write; show an expected failure as a friendly message, never a traceback."""
    try:
        result = action()
    except AiopsError as e:
        st.error(e.message + (f" — {e.hint}" if e.hint else ""), icon=":material/error:")
        return None
    if success:
        st.toast(success, icon=":material/check_circle:")
    return result
