"""AppTest fixtures: the dashboard run in-process on a demo copy or an empty database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

# st.login's settings for AppTests that sign in (`at.user`): never contacted.
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "test-only-secret",
    "client_id": "saved-loops",
    "client_secret": "test-only",
    "server_metadata_url": "http://localhost:9/.well-known/openid-configuration",
}

DASHBOARD = str(ROOT / "dashboard.py")
PAGES = [
    "overview", "departments", "workflows", "workflow_detail", "upload", "register", "policy", "audit",
    "my_department",
]  # fmt: skip


def make_app(db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("AIOPS_DB", str(db))
    return AppTest.from_file(DASHBOARD, default_timeout=60)


@pytest.fixture
def app(demo_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    return make_app(demo_path, monkeypatch)


@pytest.fixture
def empty_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    return make_app(tmp_path / "empty.duckdb", monkeypatch)


def open_page(at: AppTest, page: str, **query: str) -> AppTest:
    try:
        at.main  # noqa: B018 - raises until the app has run once
    except KeyError:
        at.run()  # switch_page on an app that never ran would render the default page instead
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown(markdown: str) -> str:
    """What a reader sees of escaped markdown (`ui.text.md_escape`): escapes resolved, joiners gone."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")
