"""The test templates kept across runs (tests/conftest.py): a kept template is used only when every
input of its build is the same, else it is built again."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests import conftest
from tests.conftest import _built_once, build_inputs_key

DAY = date(2026, 12, 5)


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A package with one file of each kind the build reads, and a compiled file it does not."""
    root = tmp_path / "aiops"
    for name, text in {
        "demo/__init__.py": "SEED = 1\n",
        "demo/workflows.csv": "workflow_id\nwf-1\n",
        "store/migrations/001_core.sql": "CREATE TABLE t (x INTEGER);\n",
        "policies/default.toml": 'version = "1"\n',
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "precedents").mkdir()
    (root / "precedents" / "cases.json.gz").write_bytes(b"\x1f\x8b\x08\x00")
    (root / "demo" / "__pycache__").mkdir()
    (root / "demo" / "__pycache__" / "x.pyc").write_bytes(b"compiled")
    return root


EDITED = [  # one of each kind
    "demo/__init__.py",
    "demo/workflows.csv",
    "store/migrations/001_core.sql",
    "precedents/cases.json.gz",
]


@pytest.mark.parametrize("name", EDITED)
def test_changing_any_file_of_the_package_changes_the_key(package: Path, name: str) -> None:
    before = build_inputs_key(package, DAY)
    with (package / name).open("ab") as f:
        f.write(b"\n")
    assert build_inputs_key(package, DAY) != before


def test_a_new_file_a_removed_file_and_a_new_day_change_the_key(package: Path) -> None:
    before = build_inputs_key(package, DAY)
    (package / "views").mkdir()
    (package / "views" / "demo_company.toml").write_text('name = "Northwind"\n')
    added = build_inputs_key(package, DAY)
    assert added != before
    (package / "demo" / "workflows.csv").unlink()
    assert build_inputs_key(package, DAY) not in {before, added}
    assert build_inputs_key(package, date(2026, 12, 6)) != build_inputs_key(package, DAY)


def test_compiled_files_do_not_change_the_key(package: Path) -> None:
    before = build_inputs_key(package, DAY)
    (package / "demo" / "__pycache__" / "x.pyc").write_bytes(b"compiled again")
    assert build_inputs_key(package, DAY) == before


class _Factory:
    """A stand-in for pytest's tmp_path_factory: one run's temporary folder."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def getbasetemp(self) -> Path:
        return self.base


def test_a_kept_template_is_copied_into_the_next_run_and_a_missing_one_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    built: list[Path] = []

    def build(path: Path) -> None:
        built.append(path)
        path.write_text(f"build {len(built)}")

    kept = tmp_path / "cache" / f"demo-{build_inputs_key()}.duckdb"
    kept.parent.mkdir()
    (kept.parent / "demo-0123456789abcdef.duckdb").write_text("from other inputs")
    runs = [tmp_path / f"run{i}" for i in range(3)]
    for run in runs:
        run.mkdir()
    first = _built_once(_Factory(runs[0]), "demo.duckdb", build, kept)
    assert first.read_text() == "build 1" and kept.read_text() == "build 1"
    assert sorted(p.name for p in kept.parent.iterdir()) == [kept.name]  # the other inputs' one is gone
    second = _built_once(_Factory(runs[1]), "demo.duckdb", build, kept)
    assert second.read_text() == "build 1" and len(built) == 1  # copied, not built
    assert _built_once(_Factory(runs[1]), "demo.duckdb", build, kept) == second  # once per run
    kept.unlink()  # no kept template (a fresh checkout, or inputs that changed): built again
    assert _built_once(_Factory(runs[2]), "demo.duckdb", build, kept).read_text() == "build 2"


def test_a_template_built_after_its_inputs_changed_during_the_run_is_used_but_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.setattr(conftest, "_BUILD_INPUTS", "key-when-the-run-started")  # a file edited since
    kept = tmp_path / "demo-key-when-the-run-started.duckdb"
    path = _built_once(_Factory(tmp_path), "demo.duckdb", lambda p: p.write_text("built"), kept)
    assert path.read_text() == "built" and not kept.exists()
