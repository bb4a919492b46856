"""Shared fixtures and helpers: stores, actors, the real data beside the checkout, the demo database,
and the command line run in-process."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import gc
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from aiops.auth import Actor
from aiops.cli import main
from aiops.clock import utcnow
from aiops.errors import StoreError
from aiops.store import Statement, Store, tracer
from aiops.store.transfer import copy_rows
from aiops.views.build import View, data_bounds
from aiops.views.rows_state import RowsState, read_rows, rows_state
from aiops.workflow import Workflow
from tests import pg_cluster

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SHARED = ROOT.parent / "shared"
REALDATA = SHARED / "realdata"


SLOW_FOLDERS = {"app", "browser"}  # every AppTest page run and every real browser takes seconds


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under tests/app and tests/browser are slow, and so is every test on PostgreSQL (the quick
    loop runs the embedded store; `make test` runs both); slow unit tests carry the marker themselves."""
    for item in items:
        in_slow_folder = item.path.parent.name in SLOW_FOLDERS and item.path.parent.parent == ROOT / "tests"
        if in_slow_folder or _on_postgres(item):
            item.add_marker(pytest.mark.slow)


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection made (the test modules, everything they import, the items) lives until the
    process ends: frozen, the cycle collector stops walking it at every full collection, as the
    `aiops` command does before it exits (measured with gc.callbacks over five of the slowest
    files, -n 0: 1.2 s -> 0.55 s spent collecting). Nothing a test makes is frozen."""
    gc.freeze()


def _on_postgres(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    on_pg = callspec is not None and callspec.params.get("store_kind") == "postgres"
    return on_pg or any(name.startswith("pg_") for name in getattr(item, "fixturenames", ()))


ADMIN = Actor(name="admin@test", role="admin")


@pytest.fixture(autouse=True)
def _estimates_afresh(request: pytest.FixtureRequest) -> Iterator[None]:
    """Unit tests compute every estimate from its rows: a test that compares two ways of computing
    the same figures (PostgreSQL vs DuckDB, a scope vs everything) must not get the second from the
    estimate cache. The cache's own tests (marker ``estimate_cache``), the AppTests and the browser
    tests run with it."""
    in_unit = request.path.parent == ROOT / "tests" / "unit"
    if not in_unit or request.node.get_closest_marker("estimate_cache"):
        yield
        return
    from aiops.estimates.cache import computed_afresh

    with computed_afresh():
        yield


# The seven rollout rules PRODUCT.md gives every classified workflow.
ROLLOUT_KEYS = (
    "risk_level",
    "owner",
    "approval_checkpoint",
    "logging_requirement",
    "rollback_path",
    "success_metric",
    "stays_human",
)


def answered_workflow(**fields: Any) -> Workflow:
    """A fully answered, owned, measurable, low-risk workflow with one checkpoint; ``fields`` override."""
    defaults: dict[str, Any] = dict(
        workflow_id="wf-1",
        name="Example workflow",
        department="Operations",
        data_touched=["internal_docs"],
        changes=["drafts"],
        customer_impact="internal",
        owner="Ann Owner",
        reviewer="Rex Reviewer",
        review_requirement="spot_check",
        success_metric="Minutes per item",
        trigger="A new item arrives",
        acceptable_output="Correct and complete",
        failure_plan="Switch off, back to the manual process",
        failure_detection="Weekly audit of a sample",
        checkpoints=["Owner reads each output"],
    )
    return Workflow(**{**defaults, **fields})


# A roles file for sign-in tests: the CTO is admin, Dana leads Support, everyone else views.
ROLES = """
default_role = "viewer"
[[grants]]
email = "cto@northwind.example"
role = "admin"
[[grants]]
email = "dana.lee@northwind.example"
role = "lead"
departments = ["Support"]
"""


@pytest.fixture
def admin() -> Actor:
    return ADMIN


def sum_with_interval(
    values: Any, variances: Any, dofs: Any, level: float = 0.95
) -> tuple[float, float, float]:
    """A test's own oracle for a total: the sum, and its interval from the summed variances with
    Welch-Satterthwaite degrees of freedom (scipy's t, not the product's code)."""
    from scipy import stats

    total, var = float(sum(values)), float(sum(variances))
    dof = var**2 / sum(v**2 / d for v, d in zip(variances, dofs, strict=True))
    half = float(stats.t.ppf(0.5 + level / 2, dof)) * var**0.5
    return total, total - half, total + half


# Sums of a million floats differ in their last bits with the order DuckDB adds them.
FIGURES_RTOL = 1e-9


# Period ends a view of the demo reads: 2026 Q3's start and end, and all time.
ROWS_ENDS = [datetime(2026, 7, 1), datetime(2026, 10, 1), None]


def rows_state_now(store: Store, ends: list[datetime | None] = ROWS_ENDS) -> tuple[RowsState, RowsState, int]:
    """The timing rows' figures a view of ``store`` reads now for ``ends`` (carried over appended
    batches when it can), those a full read of the same moment gives for the same ends, and how
    many statements of the first read every committed row."""
    log: list[Statement] = []
    with store.snapshot() as db:
        with tracer(log.append):
            state = rows_state(store, db, ends)
        full = read_rows(db, list(state.before))
        assert full.bounds() == data_bounds(db)  # the first and last timing, as the table's min and max
    every_row = ("FROM committed_samples", "FROM timing_samples")
    scans = sum(any(r in s.sql for r in every_row) and "batch_id IN" not in s.sql for s in log)
    return state, full, scans


def forget_parts() -> None:
    """No period's part kept in this process, by either of its keys (as in a new process)."""
    from aiops.views.parts import FIGURES, PARTS

    PARTS.clear()
    FIGURES.clear()


# Figures a view computes when first read (properties, not fields).
VIEW_PROPERTIES = ["weekly", "stop_counts"]


def assert_same_figures(left: Any, right: Any, where: str) -> None:
    """Two computations of the same figures agree: frames, records (their ``generated_at`` aside),
    dicts and tuples of them, floats to ``FIGURES_RTOL``, everything else exactly."""
    import dataclasses
    import math

    import pandas as pd

    if isinstance(left, pd.DataFrame):
        pd.testing.assert_frame_equal(left, right, rtol=FIGURES_RTOL, obj=where)
    elif dataclasses.is_dataclass(left) and not isinstance(left, type):
        names = [f.name for f in dataclasses.fields(left) if f.compare and f.name != "generated_at"]
        if isinstance(left, View):
            names += VIEW_PROPERTIES
        for name in names:
            assert_same_figures(getattr(left, name), getattr(right, name), f"{where}.{name}")
    elif isinstance(left, dict):
        assert left.keys() == right.keys(), where
        for key in left:
            assert_same_figures(left[key], right[key], f"{where}[{key}]")
    elif isinstance(left, tuple):
        assert len(left) == len(right), where
        for i, (a, b) in enumerate(zip(left, right, strict=True)):
            assert_same_figures(a, b, f"{where}[{i}]")
    elif isinstance(left, float) and not (math.isnan(left) and math.isnan(right)):
        assert right == pytest.approx(left, rel=FIGURES_RTOL), where
    elif not isinstance(left, float):
        assert left == right, where


@contextmanager
def throwaway_store(location: str | Path) -> Iterator[Store]:
    """A fixture's store, closed without DuckDB's checkpoint: the file is thrown away after the
    test, so merging its write-ahead log into it on close is work nobody reads (a copy of the demo
    after one small upload: ~30 -> ~6 ms of CPU to close). A test that closes or reopens it itself
    still gets the whole file (the log is read on open); the product's own closes checkpoint."""
    with Store(location) as s:
        yield s
        if not s.postgres:
            with contextlib.suppress(StoreError):  # the test closed it already
                s.query("PRAGMA disable_checkpoint_on_shutdown")


@contextmanager
def module_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path]]:
    """A store and a folder for a module-scoped fixture: data set up once, read by many tests."""
    folder = tmp_path_factory.mktemp("module")
    with throwaway_store(folder / "test.duckdb") as s:
        yield s, folder


# -- the two stores ----------------------------------------------------------------------------
# A test module marked `pytest.mark.both_stores` runs its `store`/`demo` tests on a DuckDB file and
# on PostgreSQL; every other test uses the DuckDB file only.


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_kind" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_stores") is not None
        metafunc.parametrize("store_kind", ["duckdb", "postgres"] if both else ["duckdb"])


_PG_UNAVAILABLE = "AIOPS_TEST_PG_UNAVAILABLE"  # why the run's cluster did not start (for the workers)


QUICK_LOOP = "not slow"  # `make test-fast`: every PostgreSQL test is slow, so it needs no cluster


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, one throwaway cluster for the whole run, started before the workers (they
    inherit ``AIOPS_TEST_PG``); a run in one process starts its own when a test first needs it."""
    if hasattr(config, "workerinput") and config.option.markexpr == QUICK_LOOP:
        _one_duckdb_thread()
    if os.environ.get("AIOPS_TEST_PG") or hasattr(config, "workerinput"):
        return
    if config.option.markexpr == QUICK_LOOP:
        _temporary_folders_in_memory(config)
    if not getattr(config.option, "numprocesses", None) or config.option.markexpr == QUICK_LOOP:
        return
    folder = tempfile.mkdtemp(prefix="aiops-test-pg-")
    try:
        os.environ["AIOPS_TEST_PG"] = pg_cluster.start(folder)
        config.stash[_CLUSTER] = folder
    except pg_cluster.Unavailable as e:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ[_PG_UNAVAILABLE] = str(e)


def _one_duckdb_thread() -> None:
    """`make test-fast` runs one worker per core, each busy with nothing but the CPU; a DuckDB
    database starts a thread per core for its queries, so the workers' queries fought over the
    cores (the quick loop on 2 cores, measured back to back: 106 -> 90-94 s of CPU, 58 -> 50-52 s).
    There every database a worker opens runs its queries on one thread (a caller's own ``threads``
    wins); `make test` and a run in one process keep DuckDB's default, so the parallel engine is
    still what the whole suite tests."""
    connect = duckdb.connect

    def one_thread(
        database: Any = ":memory:", read_only: bool = False, config: Any = None, **kwargs: Any
    ) -> Any:
        return connect(database, read_only=read_only, config={"threads": 1, **(config or {})}, **kwargs)

    duckdb.connect = one_thread


RAM_DISK = Path("/dev/shm")
# pytest keeps the last three runs' folders, ~40 MB each (the templates, failed tests' folders).
RAM_DISK_FREE = 2 * 1024**3


def _temporary_folders_in_memory(config: pytest.Config) -> None:
    """`make test-fast` puts the tests' temporary folders (every store a test writes) on the RAM
    disk when the machine has one with room: on a disk each commit and each close of a DuckDB
    file waits for it (fsync), and a worker waiting is a core idle (measured beside other jobs:
    a COMMIT 12.5 -> 6.9 ms on average over the two upload-heavy files, closing a written demo copy
    16-35 -> about 10 ms). Workers inherit the root; an explicit ``--basetemp`` or
    ``PYTEST_DEBUG_TEMPROOT`` wins, and `make test` keeps the system's disk."""
    if config.option.basetemp or os.environ.get("PYTEST_DEBUG_TEMPROOT") or not RAM_DISK.is_dir():
        return
    if os.access(RAM_DISK, os.W_OK) and shutil.disk_usage(RAM_DISK).free >= RAM_DISK_FREE:
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(RAM_DISK)
        config.add_cleanup(lambda: os.environ.pop("PYTEST_DEBUG_TEMPROOT", None))


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_CLUSTER, None)
    if folder is not None:
        pg_cluster.stop(folder)
        os.environ.pop("AIOPS_TEST_PG", None)


_CLUSTER = pytest.StashKey[str]()


def _no_postgres(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required under CI: {reason}")
    pytest.skip(f"no PostgreSQL for these tests ({reason}); set AIOPS_TEST_PG or install postgresql")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A PostgreSQL server's URL: ``AIOPS_TEST_PG``, else a throwaway cluster for this session.
    Under CI=true a missing PostgreSQL fails the tests that need it; elsewhere it skips them."""
    given = os.environ.get("AIOPS_TEST_PG")
    if given:
        yield given
        return
    if os.environ.get(_PG_UNAVAILABLE):
        _no_postgres(os.environ[_PG_UNAVAILABLE])
    folder = tempfile.mkdtemp(prefix="aiops-test-pg-")
    try:
        url = pg_cluster.start(folder)
    except pg_cluster.Unavailable as e:
        shutil.rmtree(folder, ignore_errors=True)
        _no_postgres(str(e))
    try:
        yield url
    finally:
        pg_cluster.stop(folder)


@pytest.fixture(scope="session")
def pg_session_database(pg_server: str) -> Iterator[str]:
    """One database at the latest schema for the whole session, migrated once; each test that asks
    for ``pg_database`` gets it emptied (a TRUNCATE is ~20x cheaper than a database per test)."""
    url = pg_cluster.create_database(pg_server)
    Store(url).close()
    yield url
    pg_cluster.drop_database(pg_server, url)


@pytest.fixture
def pg_database(pg_session_database: str) -> str:
    """The session's PostgreSQL database with the schema, no rows and fresh ids."""
    pg_cluster.empty_database(pg_session_database)
    return pg_session_database


def _built_once(
    factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None], kept: Path | None
) -> Path:
    """A file built once for the whole run and shared by every pytest-xdist worker (they share the
    parent of their temporary folders): the first worker makes it under a lock, the others wait.
    It is copied from ``kept`` (a file an earlier run built from the same inputs) when there is
    one, else built and then kept there for the next run."""
    base = factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    path = shared / name
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            partial = shared / f"{name}.partial"
            for leftover in (partial, partial.with_name(partial.name + ".wal")):  # a failed build's
                leftover.unlink(missing_ok=True)
            if kept is None or not _copied(kept, partial):
                build(partial)
                if kept is not None and build_inputs_key() == _BUILD_INPUTS:  # none edited meanwhile
                    _keep(partial, kept)
            partial.rename(path)
    return path


def _copied(kept: Path, to: Path) -> bool:
    try:
        shutil.copy(kept, to)
    except FileNotFoundError:  # none kept yet (or just replaced by a run whose inputs differ)
        return False
    return True


def _keep(built: Path, kept: Path) -> None:
    """Save a copy for later runs: written beside, then renamed over (a run copying it meanwhile
    reads a whole file); the same template built from other inputs is removed."""
    stem = kept.name.split("-")[0]
    for other in set(kept.parent.glob(f"{stem}-*{kept.suffix}")) - {kept}:
        other.unlink(missing_ok=True)
    part = kept.with_name(f"{kept.name}.{os.getpid()}.part")
    shutil.copy(built, part)
    os.replace(part, kept)


def _kept_template(config: pytest.Config, name: str) -> Path | None:
    """Where a template built from exactly this run's inputs is kept across runs (in pytest's cache
    folder; none with ``-p no:cacheprovider``, and a fresh checkout or CI has none yet: it builds)."""
    cache = getattr(config, "cache", None)
    if cache is None:
        return None
    stem, suffix = name.split(".", 1)
    return cache.mkdir("templates") / f"{stem}-{_BUILD_INPUTS}.{suffix}"


def build_inputs_key(package: Path = ROOT / "aiops", today: date | None = None) -> str:
    """A hash of everything a template's build reads, so that a kept one is never stale: every file
    of the package (code, migrations, policies, the demo's recipes and workflows, the precedents),
    this file (the build calls), the Python version and every installed distribution's version
    (DuckDB writes the file; numpy draws the demo's loops; pandas, scipy and statsmodels compute the
    estimates its classification stores), and the UTC date: the build stamps its uploads and
    governance events with the clock and classifies as of it, so a template serves one day only
    (a single run may already use one built minutes earlier). The build reads no settings, no
    environment variable and no other file."""
    digest = hashlib.sha256(sys.version.encode())
    for file in sorted(package.rglob("*")):
        if file.is_file() and "__pycache__" not in file.parts:
            digest.update(str(file.relative_to(package)).encode() + b"\0" + file.read_bytes())
    digest.update(Path(__file__).read_bytes())
    digest.update(_installed_versions().encode())
    digest.update((today or utcnow().date()).isoformat().encode())
    return digest.hexdigest()[:16]


@functools.cache
def _installed_versions() -> str:
    return "\n".join(sorted(f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions()))


# Taken as the process starts, right after its imports: a template built from files edited later in
# the run (the key no longer matches when it is done) is used by this run but not kept.
_BUILD_INPUTS = build_inputs_key()


@pytest.fixture(scope="session")
def empty_template(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Path:
    """An empty DuckDB store at the latest schema: copying it is a third of creating one."""
    kept = _kept_template(pytestconfig, "empty.duckdb")
    return _built_once(tmp_path_factory, "empty.duckdb", lambda path: Store(path).close(), kept)


@pytest.fixture
def store_location(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if store_kind == "postgres":
        return request.getfixturevalue("pg_database")
    path = tmp_path / "test.duckdb"
    shutil.copy(request.getfixturevalue("empty_template"), path)
    return str(path)


@pytest.fixture
def store(store_location: str):
    with throwaway_store(store_location) as s:
        yield s


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Path:
    """The demo database, built once per test run (or kept from an earlier run with the same inputs);
    copy it before writing to it."""
    kept = _kept_template(pytestconfig, "demo.duckdb")
    return _built_once(tmp_path_factory, "demo.duckdb", _build_demo, kept)


def _build_demo(path: Path) -> None:
    from aiops.demo import build_demo  # imported only by the worker that builds it

    build_demo(path).close()


@pytest.fixture(scope="session")
def demo_pg_template(pg_server: str, demo_template: Path) -> Iterator[str]:
    """The demo on PostgreSQL, once per session: a template database that tests copy. It is the
    DuckDB demo moved by the copy `aiops store copy` makes (seconds, where building it row by row
    on the server takes far longer)."""
    url = pg_cluster.create_database(pg_server)
    with Store(demo_template) as source, Store(url) as target:
        copy_rows(source, target, Actor(name="admin@test", role="admin"))
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
    with throwaway_store(demo_location) as s:
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


def python_output(code: str) -> str:
    """What a new ``python -c code`` process prints, run from the repository (it must succeed: its
    stderr is the failure's message)."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return result.stdout
