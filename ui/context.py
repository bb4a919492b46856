"""The dashboard's handle on the domain: one store per process, the acting user, errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from aiops.auth import Actor, load_roles, local_admin
from aiops.errors import AiopsError, PermissionDenied
from aiops.settings import Settings
from aiops.store import Store
from aiops.workspace import open_store
from ui.text import md_escape

T = TypeVar("T")


@st.cache_resource(show_spinner=False)
def _store(db: str) -> Store:
    # One Store per database and process: it owns a DuckDB file, or shares a PostgreSQL server
    # with other processes; every run reads via a cursor.
    return open_store(Settings(db=db))


def settings() -> Settings:
    return Settings()


def store() -> Store:
    return _store(str(settings().db))


def revision() -> str:
    """The key of cached reads: the database and its last audit row, read from the database. Every
    write appends to the audit log, so any write (from any session, or on PostgreSQL from any
    process) changes it; the latest time tells a restore (which rewinds ids) from the past."""
    row = store().query_one("SELECT coalesce(max(audit_id), 0), max(recorded_at) FROM audit_log")
    return f"{store().path}#{row[0]}@{row[1]}"


def auth_configured() -> bool:
    """Sign-in is on when `.streamlit/secrets.toml` has an `[auth]` section (Streamlit OIDC)."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, StreamlitSecretNotFoundError):
        return False


def signed_in_actor() -> Actor | None:
    """The signed-in user with their role from the roles file; None when nobody is signed in."""
    if not st.user.is_logged_in:
        return None
    return load_roles(settings().roles_file).actor_for_claims(st.user.to_dict())


def actor() -> Actor:
    """Who is acting: the signed-in user, or in local mode (no sign-in configured) one local admin."""
    if not auth_configured():
        return local_admin()
    signed_in = signed_in_actor()
    if signed_in is None:  # the router stops before any page runs without a user
        raise PermissionDenied("nobody is signed in", "sign in first")
    return signed_in


def run_action(action: Callable[[], T], success: str | None = None) -> T | None:
    """Run a domain write; show an expected failure as a friendly message, never a traceback."""
    try:
        result = action()
    except AiopsError as e:
        st.error(md_escape(e.message + (f" — {e.hint}" if e.hint else "")), icon=":material/error:")
        return None
    if success:
        st.toast(success, icon=":material/check_circle:")
    return result
