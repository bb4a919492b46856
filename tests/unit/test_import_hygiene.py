"""The domain never imports the UI: checked at runtime and by the import-linter contract."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import aiops
from tests.conftest import ROOT


def test_importing_every_aiops_module_never_loads_streamlit():
    modules = [m.name for m in pkgutil.walk_packages(aiops.__path__, "aiops.")]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print('streamlit' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    assert len(modules) > 10


def test_import_linter_contract_holds():
    linter = ROOT / ".venv" / "bin" / "lint-imports"
    command = [str(linter)] if linter.exists() else [sys.executable, "-m", "importlinter.cli"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout
