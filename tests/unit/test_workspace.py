"""Settings reach the store (issue 14, finding 8): AIOPS_MEMORY_LIMIT is DuckDB's memory limit."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from aiops.settings import Settings, current_settings
from aiops.workspace import open_store


def test_the_memory_limit_setting_reaches_the_store(tmp_path, monkeypatch):
    seen = {}
    for limit in ("256MiB", "768MiB"):
        monkeypatch.setenv("AIOPS_MEMORY_LIMIT", limit)
        with open_store(Settings(db=tmp_path / "limit.duckdb")) as store:
            seen[limit] = store.query_one("SELECT current_setting('memory_limit')")[0]
            assert (
                store.query_one("SELECT value FROM duckdb_settings() WHERE name = 'memory_limit'")[0]
                == seen[limit]
            )
    assert seen == {"256MiB": "256.0 MiB", "768MiB": "768.0 MiB"}


def test_the_dashboards_settings_follow_their_sources(tmp_path, monkeypatch):
    """``current_settings`` keeps the last settings while their sources stay as they were, and reads
    them again when a variable, the working directory or ``aiops.toml`` changes."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIOPS_DB", "first.duckdb")
    first = current_settings()
    assert current_settings() is first and first.db == "first.duckdb"
    with pytest.raises(ValidationError):  # shared by every session: nobody may change it
        first.db = "elsewhere.duckdb"  # type: ignore[misc]
    monkeypatch.setenv("AIOPS_DB", "second.duckdb")
    assert current_settings().db == "second.duckdb"
    monkeypatch.delenv("AIOPS_DB")
    (tmp_path / "aiops.toml").write_text('db = "from-toml.duckdb"\n')
    assert current_settings().db == "from-toml.duckdb"
    (tmp_path / "aiops.toml").write_text('db = "edited-toml.duckdb"\n')  # another size: seen at once
    assert current_settings().db == "edited-toml.duckdb"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert current_settings().db == "data/aiops.duckdb"
