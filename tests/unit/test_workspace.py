"""Settings reach the store (issue 14, finding 8): AIOPS_MEMORY_LIMIT is DuckDB's memory limit."""

from __future__ import annotations

from aiops.settings import Settings
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
