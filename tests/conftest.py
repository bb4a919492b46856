"""Shared fixtures: stores, actors, the real data beside the checkout, and the demo database."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiops.auth import Actor
from aiops.demo import build_demo
from aiops.store import Store
from tests import pg_cluster

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SHARED = ROOT.parent / "shared"
REALDATA = SHARED / "realdata"


@pytest.fixture
def admin() -> Actor:
    return Actor(name="admin@test", role="admin")


# -- the two stores ----------------------------------------------------------------------------
# A test module marked `pytest.mark.both_stores` runs its `store`/`demo` tests on a DuckDB file and
# on PostgreSQL; every other test uses the DuckDB file only.


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_kind" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_stores") is not None
        metafunc.parametrize("store_kind", ["duckdb", "postgres"] if both else ["duckdb"])


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A PostgreSQL server's URL: ``AIOPS_TEST_PG``, else a throwaway cluster for this session.
    Under CI=true a missing PostgreSQL fails the tests that need it; elsewhere it skips them."""
    given = os.environ.get("AIOPS_TEST_PG")
    if given:
        yield given
        return
    folder = tempfile.mkdtemp(prefix="aiops-test-pg-")
    try:
        url = pg_cluster.start(folder)
    except pg_cluster.Unavailable as e:
        shutil.rmtree(folder, ignore_errors=True)
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI: {e}")
        pytest.skip(f"no PostgreSQL for these tests ({e}); set AIOPS_TEST_PG or install postgresql")
    try:
        yield url
    finally:
        pg_cluster.stop(folder)


@pytest.fixture(scope="session")
def pg_migrated_template(pg_server: str) -> Iterator[str]:
    """An empty database at the latest schema, migrated once per session; tests copy it."""
    url = pg_cluster.create_database(pg_server)
    Store(url).close()
    yield url.rpartition("/")[2]
    pg_cluster.drop_database(pg_server, url)


@pytest.fixture
def pg_database(pg_server: str, pg_migrated_template: str) -> Iterator[str]:
    """A fresh PostgreSQL database with the schema and no rows (dropped after the test)."""
    url = pg_cluster.create_database(pg_server, template=pg_migrated_template)
    yield url
    pg_cluster.drop_database(pg_server, url)


@pytest.fixture
def store_location(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if store_kind == "postgres":
        return request.getfixturevalue("pg_database")
    return str(tmp_path / "test.duckdb")


@pytest.fixture
def store(store_location: str):
    with Store(store_location) as s:
        yield s


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database, built once per test session; copy it before writing to it."""
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    build_demo(path).close()
    return path


@pytest.fixture(scope="session")
def demo_pg_template(pg_server: str) -> Iterator[str]:
    """The demo on PostgreSQL, built once per session: a template database that tests copy."""
    url = pg_cluster.create_database(pg_server)
    build_demo(url).close()
    yield url.rpartition("/")[2]
    pg_cluster.drop_database(pg_server, url)


@pytest.fixture
def demo_path(demo_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_template, path)
    return path


@pytest.fixture
def demo_location(store_kind: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A writable copy of the demo: a DuckDB file, or a PostgreSQL database made from the template."""
    if store_kind == "duckdb":
        yield str(request.getfixturevalue("demo_path"))
        return
    server = request.getfixturevalue("pg_server")
    url = pg_cluster.create_database(server, template=request.getfixturevalue("demo_pg_template"))
    yield url
    pg_cluster.drop_database(server, url)


@pytest.fixture
def demo(demo_location: str):
    with Store(demo_location) as s:
        yield s


def realdata(*parts: str) -> Path:
    path = REALDATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"{path} is missing: the tests need ../shared beside the checkout")
    return path
