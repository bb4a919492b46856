"""The statement tracer: one hook sees every SQL statement of every store, reads and imports alike."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from aiops.errors import StoreError
from aiops.ingest.timings import import_timings
from aiops.inventory import save_workflows
from aiops.store import Statement, tracer
from aiops.views import view_for
from aiops.workflow import Workflow
from tests.conftest import ADMIN

pytestmark = pytest.mark.both_stores


def _register(store) -> None:
    items = [
        Workflow(workflow_id=w, name=w, department="Support") for w in ("ticket-triage", "refund-drafts")
    ]
    store.write(ADMIN, lambda tx: save_workflows(tx, items, "test"))


def canonical_file(folder: Path) -> Path:
    path = folder / "timings.csv"
    lines = [
        f"ticket-triage,{'before' if d < 10 else 'after'},2026-03-{d:02d} 09:00,{30 - d},1,0"
        for d in range(1, 21)
    ]
    path.write_text(
        "workflow_id,phase,measured_at,duration_minutes,loops,rework_minutes\n" + "\n".join(lines)
    )
    return path


def test_the_tracer_sees_reads_writes_and_an_import_with_their_times(store, tmp_path):
    _register(store)
    log: list[Statement] = []
    with tracer(log.append):
        report = import_timings(store, ADMIN, canonical_file(tmp_path))
        view_for(store)
        store.query("SELECT count(*) FROM workflows WHERE department = ?", ["Support"])
    assert report.accepted > 0
    texts = [" ".join(s.sql.split()) for s in log]
    # the import's own cursor: reading the file, then the batch written in the write transaction
    assert any("read_csv" in t for t in texts)
    assert any(t.startswith("INSERT INTO timing_samples") for t in texts)
    assert any(t.startswith("INSERT INTO upload_batches") for t in texts)
    assert "COMMIT" in texts
    # a read with its bound parameters, last, timed
    assert log[-1].sql.startswith("SELECT count(*) FROM workflows") and log[-1].params == ["Support"]
    assert all(s.seconds >= 0 for s in log) and sum(s.seconds for s in log) > 0
    # the view's reads (its weekly cells) are there too
    assert any("date_trunc('week'" in t for t in texts)


def test_statements_after_the_block_are_not_traced_and_tracers_nest(store):
    outer: list[Statement] = []
    inner: list[Statement] = []
    with tracer(outer.append):
        store.query("SELECT 1")
        with tracer(inner.append):
            store.query("SELECT 2")
        store.query("SELECT 3")
    store.query("SELECT 4")
    assert _selects(outer) == ["SELECT 1", "SELECT 2", "SELECT 3"]
    assert _selects(inner) == ["SELECT 2"]


def test_the_tracer_sees_statements_from_other_threads_and_failed_ones(store):
    log: list[Statement] = []
    with tracer(log.append):
        worker = threading.Thread(target=lambda: store.query("SELECT 42"))
        worker.start()
        worker.join()
        with pytest.raises(StoreError):
            store.query("SELECT * FROM no_such_table")
    # the new thread's cursor is set up first (its progress bar off): every statement is seen
    assert any(s.sql.startswith("SET enable_progress_bar") for s in log)
    assert _selects(log) == ["SELECT 42", "SELECT * FROM no_such_table"]


def _selects(log: list[Statement]) -> list[str]:
    return [s.sql for s in log if s.sql.startswith("SELECT")]


def test_a_write_classifies_its_workflows_reading_each_thing_once(store, tmp_path):
    """The classification after a write reads its workflows (with those comparing against them),
    their history and stored classification, and the cells of their rows, once each, scoped to
    them; no metrics frame (its query of every workflow's risk and status) is built."""
    _register(store)
    log: list[Statement] = []
    with tracer(log.append):
        import_timings(store, ADMIN, canonical_file(tmp_path))
    confirm = [" ".join(s.sql.split()) for s in log]
    confirm = confirm[max(i for i, t in enumerate(confirm) if t.startswith("INSERT INTO upload_batches")) :]
    assert sum(t.startswith('SELECT "workflow_id", "name"') for t in confirm) == 1
    assert sum(t.startswith("WITH events AS") for t in confirm) == 1
    assert sum("quantile_cont(per_loop" in t for t in confirm) == 1
    assert not any("coalesce(c.risk, 'unclassified')" in t for t in confirm)
    assert not any("FROM checkpoint_events GROUP BY" in t for t in confirm)  # never every workflow's
