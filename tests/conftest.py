"""Shared fixtures: stores, actors, the real data beside the checkout, and the demo database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aiops.auth import Actor
from aiops.demo import build_demo
from aiops.store import Store

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SHARED = ROOT.parent / "shared"
REALDATA = SHARED / "realdata"


@pytest.fixture
def admin() -> Actor:
    return Actor(name="admin@test", role="admin")


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
