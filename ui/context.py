"""The dashboard's handle on the domain: one store per process, the acting user, errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn, TypeVar

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from aiops.auth import Actor, load_roles, local_admin
from aiops.errors import AiopsError, PermissionDenied
from aiops.settings import Settings, current_settings, load_settings
from aiops.store import Store
from aiops.views.build import revision as store_revision
from aiops.workspace import open_store
from ui.text import md_escape

T = TypeVar("T")


@st.cache_resource(show_spinner=False)
def _store(db: str) -> Store:
    # One Store per database and process: it owns a DuckDB file, or shares a PostgreSQL server
    # with other processes; every run reads via a cursor.
    return open_store(load_settings(db=db))


def settings() -> Settings:
    return current_settings()


def store() -> Store:
    return _store(str(settings().db))


def revision() -> str:
    """The key of cached reads: the database and its revision (``aiops.views.build.revision``)."""
    return f"{store().path}#{store_revision(store())}"


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


def note_sign_in(who: Actor) -> None:
    """Audit a signed-in user once per browser session: the log then names everyone who used the
    dashboard by their verified identity, readers included."""
    if st.session_state.get("_signed_in_as") == who.name:
        return
    detail = {"role": who.role, "departments": list(who.departments)}
    store().write(who, lambda tx: tx.audit("user.signed_in", "user", who.name, detail))
    st.session_state["_signed_in_as"] = who.name


def actor() -> Actor:
    """Who is acting: the signed-in user, or in local mode (no sign-in configured) one local admin."""
    if not auth_configured():
        return local_admin()
    signed_in = signed_in_actor()
    if signed_in is None:  # the router stops before any page runs without a user
        raise PermissionDenied("nobody is signed in", "sign in first")
    return signed_in


def run_action(action: Callable[[], T], words: Callable[[str], str] | None = None) -> T | None:
    """Run a domain action for its value; show an expected failure as a friendly message, never a
    traceback, and return None then (``words`` puts it in the page's own words). For a write whose
    value does not matter, use ``run_write``: it tells a failure from an action that succeeded and
    returned None. What a write did is said by ``rerun`` or ``switch_page``."""
    outcome = _run(action, words)
    return None if isinstance(outcome, _Failed) else outcome


def run_write(action: Callable[[], object]) -> bool:
    """Run a domain write; True when it succeeded (whatever it returned), False when it failed
    (the failure is shown as a friendly message)."""
    return not isinstance(_run(action), _Failed)


class _Failed:
    """What ``_run`` returns for an action that failed (its message is already on the page)."""


def _run(action: Callable[[], T], words: Callable[[str], str] | None = None) -> T | _Failed:
    try:
        return action()
    except AiopsError as e:
        text = e.message + (f" — {e.hint}" if e.hint else "")
        st.error(md_escape(words(text) if words else text), icon=":material/error:")
        return _Failed()


_NOTICE = "_notice"


def rerun(notice: str) -> NoReturn:
    """Run the page again after a write; ``notice`` (what the write did) is shown by that run. A
    toast sent by a run that a rerun interrupts can be lost on its way to the browser (it was, on a
    loaded machine), so the run that follows sends it (``show_notice``)."""
    st.session_state[_NOTICE] = notice
    st.rerun()


def switch_page(page: str, query_params: dict[str, str], notice: str) -> NoReturn:
    """Open ``page`` after a write; it shows ``notice`` (as ``rerun`` does)."""
    st.session_state[_NOTICE] = notice
    st.switch_page(page, query_params=query_params)


def show_notice() -> None:
    """The router's, every run: the notice the run before left for this one, once."""
    notice = st.session_state.pop(_NOTICE, None)
    if notice:
        st.toast(notice, icon=":material/check_circle:", duration="long")  # 10 s, not 4: time to read


def session_still_open() -> Callable[[], bool]:
    """A check, callable from any thread, that this browser session is still connected: work done
    for it after the script run (a deferred download) stops when it turns false. Without a
    Streamlit server (AppTest, bare mode) there is no connection to lose: always true."""
    from streamlit import runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not runtime.exists():
        return lambda: True
    server, session_id = runtime.get_instance(), ctx.session_id
    return lambda: server.is_active_session(session_id)
