"""Shared fixtures and helpers: stores, actors, the real data beside the checkout, the demo database,
and the command line run in-process."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from aiops.auth import Actor
from aiops.cli import main
from aiops.demo import build_demo
from aiops.store import Store

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SHARED = ROOT.parent / "shared"
REALDATA = SHARED / "realdata"


SLOW_FOLDERS = {"app", "browser"}  # every AppTest page run and every real browser takes seconds


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under tests/app and tests/browser are slow; slow unit tests carry the marker themselves."""
    for item in items:
        if item.path.parent.name in SLOW_FOLDERS and item.path.parent.parent == ROOT / "tests":
            item.add_marker(pytest.mark.slow)


ADMIN = Actor(name="admin@test", role="admin")


@pytest.fixture
def admin() -> Actor:
    return ADMIN


@contextmanager
def module_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path]]:
    """A store and a folder for a module-scoped fixture: data set up once, read by many tests."""
    folder = tmp_path_factory.mktemp("module")
    with Store(folder / "test.duckdb") as s:
        yield s, folder


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "test.duckdb") as s:
        yield s


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database, built once per test session; copy it before writing to it."""
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    build_demo(path).close()
    return path


@pytest.fixture
def demo_path(demo_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_template, path)
    return path


@pytest.fixture
def demo(demo_path: Path):
    with Store(demo_path) as s:
        yield s


def realdata(*parts: str) -> Path:
    path = REALDATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"{path} is missing: the tests need ../shared beside the checkout")
    return path


def cli_text(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``aiops ARGV`` in-process: (exit code, stdout, stderr)."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    """Run ``aiops ARGV`` in-process: (exit code, stdout parsed as JSON or None if empty, stderr)."""
    code, out, err = cli_text(capsys, *argv)
    return code, (json.loads(out) if out.strip() else None), err
