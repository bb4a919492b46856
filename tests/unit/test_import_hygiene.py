"""The domain never imports the UI and has no import cycles: checked at runtime and by the
import-linter contracts."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import aiops
from tests.conftest import ROOT, python_output


@pytest.mark.slow
def test_importing_every_aiops_module_never_loads_streamlit():
    modules = [m.name for m in pkgutil.walk_packages(aiops.__path__, "aiops.")]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print('streamlit' in sys.modules)"
    )
    assert python_output(code).strip() == "False"
    assert len(modules) > 10


def test_import_linter_contracts_hold():
    """Every contract in pyproject (no UI in the domain, no cycles) is checked and kept."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert {c["type"] for c in contracts} >= {"forbidden", "acyclic_siblings"}
    linter = Path(sys.executable).parent / "lint-imports"  # installed beside this interpreter
    assert linter.exists(), f"{linter} is missing: install the test extras (make install)"
    result = subprocess.run([str(linter)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(contracts)} kept, 0 broken" in result.stdout


@pytest.mark.slow
def test_the_command_line_loads_statsmodels_only_when_a_workflow_needs_a_fit():
    """statsmodels takes about a second to import: a command whose workflows need no regression
    (an upload with no trend or comparison design, a list) does not pay it."""
    code = "import sys, aiops.cli, aiops.ingest.timings, aiops.views\nprint('statsmodels' in sys.modules)"
    assert python_output(code).strip() == "False"


# What the company summary does not use once every estimate is kept (aiops.estimates.cache): the
# classifier (opening a store for a read classifies no workflow), scipy (its intervals take their t
# quantiles from aiops.student_t; the estimates' fits import scipy when they run).
NOT_ON_THE_SUMMARY_PATH = ("aiops.classifier", "scipy")


@pytest.mark.slow
def test_the_company_summary_loads_only_what_it_uses(demo_path: Path):
    """`aiops report summary` over kept estimates imports none of NOT_ON_THE_SUMMARY_PATH."""
    summary = ["report", "summary", "--period", "all", "--json", "--db", str(demo_path)]
    first = subprocess.run(
        [sys.executable, "-m", "aiops.cli", *summary], capture_output=True, text=True, cwd=ROOT
    )
    assert first.returncode == 0, first.stderr  # it keeps every estimate it computed
    code = (
        "import sys\nfrom aiops.cli import main\n"
        f"assert main({summary!r}) == 0\n"
        f"print([m for m in {NOT_ON_THE_SUMMARY_PATH!r} if m in sys.modules])"
    )
    assert python_output(code).strip().splitlines()[-1] == "[]"


@pytest.mark.slow
def test_the_dashboards_pages_load_altair_only_to_build_a_chart():
    """Altair takes about 0.18 s to import: a new server draws the charts whose specs the store
    keeps (ui/charts.py) without it, so no module a page imports may load it."""
    pages = sorted(f"app_pages.{p.stem}" for p in (ROOT / "app_pages").glob("*.py"))
    code = (
        "import ast, importlib, sys\n"
        f"for page in {pages!r}:\n"
        "    tree = ast.parse(open(page.replace('.', '/') + '.py').read())\n"
        "    for node in ast.walk(tree):\n"
        "        if isinstance(node, ast.ImportFrom) and node.level == 0:\n"
        "            importlib.import_module(node.module)\n"
        "        elif isinstance(node, ast.Import):\n"
        "            for alias in node.names: importlib.import_module(alias.name)\n"
        "print('altair' in sys.modules)"
    )
    assert python_output(code).strip() == "False"
