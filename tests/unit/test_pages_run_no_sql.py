"""Pages are thin: no module in app_pages/ runs SQL, imports a database driver or the store, or calls
the metrics' query functions. They render the read model (aiops.views) through ui.data."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

PAGES = sorted((ROOT / "app_pages").glob("*.py"))
FORBIDDEN_MODULES = ("duckdb", "psycopg", "sqlalchemy", "aiops.store")
FORBIDDEN_CALLS = {
    "query",
    "query_df",
    "query_one",
    "execute",
    "sql",
    "workflow_metrics",
    "weekly_cells",
    "weekly_series",
}
FORBIDDEN_NAMES = FORBIDDEN_CALLS | {"freshness", "build_view"}  # imported by name: a page would compute
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b[\s\S]*\b(FROM|INTO|SET)\b", re.IGNORECASE)


def offences(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            found += [f"imports {n}" for n in names if n.startswith(FORBIDDEN_MODULES)]
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("aiops"):
                found += [f"imports {a.name}" for a in node.names if a.name in FORBIDDEN_NAMES]
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in FORBIDDEN_CALLS:
                found.append(f"calls {name}() on line {node.lineno}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
            found.append(f"SQL text on line {node.lineno}")
    return found


def test_there_are_pages_to_check():
    assert {p.stem for p in PAGES} >= {"overview", "departments", "workflows", "workflow_detail"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_page_runs_no_sql(page: Path):
    assert offences(page.read_text("utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "import duckdb",
        "from aiops.store import Store",
        "store().query_one('SELECT 1')",
        "x = 'select name from workflows'",
        "from aiops.metrics import workflow_metrics",
    ],
)
def test_the_check_catches_sql(source: str):
    assert offences(source)
