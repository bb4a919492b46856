"""The estimate cache: a kept estimate is the one computing afresh gives; an upload (or its undo)
recomputes only the workflows it touched and those that use them as a comparison; a new process
starts warm from the store's table; keeping estimates never waits for a write nor moves the revision."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

import aiops.metrics
from aiops.estimates.cache import MEMORY, Window, computed_afresh, inputs_keys
from aiops.ingest.batches import undo_batch
from aiops.ingest.timings import import_timings
from aiops.period import Period
from aiops.store import Store
from aiops.views.build import build_view, revision
from tests.conftest import ADMIN

pytestmark = pytest.mark.estimate_cache

# fin-invoice-coding is compared with fin-po-matching (the demo's one comparison).
COMPARED = "fin-po-matching"
USES_IT = "fin-invoice-coding"


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """The scopes the cells query was run for (one list per computation)."""
    scopes: list[list[str]] = []
    load = aiops.metrics.load_cells

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        scopes.append(list(args[5]))
        return load(*args, **kwargs)

    monkeypatch.setattr(aiops.metrics, "load_cells", recording)
    MEMORY.clear()
    yield scopes
    MEMORY.clear()


def _forget(store: Store) -> None:
    """No kept estimate in either layer (the demo's build keeps those its classification computed)."""
    MEMORY.clear()
    assert store.keep_derived([("DELETE FROM estimate_cache", None)])


def _frame(store: Store, period: Period = Period()) -> pd.DataFrame:
    return build_view(store, period).workflows


def _afresh(store: Store, period: Period = Period()) -> pd.DataFrame:
    with computed_afresh():
        return _frame(store, period)


@pytest.mark.parametrize("period", [Period(), Period.quarter(2026, 3)], ids=["all", "quarter"])
def test_kept_estimates_are_those_computed_afresh(demo_path: Path, computed, period: Period) -> None:
    with Store(demo_path) as store:
        _forget(store)
        first = _frame(store, period)
        builds = 2 if period.previous() else 1  # a quarter's view also reads the previous quarter
        assert len(computed) == builds  # every workflow, in one cells query a period
        again = _frame(store, period)
        assert len(computed) == builds  # all kept
        pd.testing.assert_frame_equal(again, first)
        pd.testing.assert_frame_equal(_afresh(store, period), first)


def test_a_new_process_reads_kept_estimates_from_the_store(demo_path: Path, computed) -> None:
    with Store(demo_path) as store:
        _forget(store)
        first = _frame(store)
        kept = store.query_value("SELECT count(*) FROM estimate_cache")
        measured = store.query_value("SELECT count(DISTINCT workflow_id) FROM committed_samples")
    assert kept == measured
    MEMORY.clear()  # as a new process
    with Store(demo_path) as store:
        pd.testing.assert_frame_equal(_frame(store), first)
    assert len(computed) == 1


def _upload(store: Store, folder: Path, workflow_id: str) -> int:
    path = folder / "more.csv"
    rows = [f"{workflow_id},after,2026-11-{day:02d}T10:00:00,{20 + day},1,0" for day in range(2, 9)]
    path.write_text("workflow_id,phase,measured_at,duration_minutes,loops,rework_minutes\n" + "\n".join(rows))
    report = import_timings(store, ADMIN, path)
    assert report.accepted == len(rows)
    return report.batch_id


@pytest.mark.slow  # four views of the whole demo, an upload and its undo: 1.5 s on a quiet core
def test_an_upload_and_its_undo_recompute_only_what_they_touched(
    demo_path: Path, tmp_path: Path, computed
) -> None:
    with Store(demo_path) as store:
        before = _frame(store)
        computed.clear()
        batch = _upload(store, tmp_path, COMPARED)
        after = _frame(store)
        # The uploaded workflow and the one compared with it (the comparison's cells come along).
        assert [sorted(s) for s in computed if s] == [sorted([COMPARED, USES_IT])]
        pd.testing.assert_frame_equal(after, _afresh(store))
        changed = after.set_index("workflow_id").samples_after - before.set_index("workflow_id").samples_after
        assert changed[changed != 0].to_dict() == {COMPARED: 7}
        computed.clear()
        undo_batch(store, ADMIN, batch)
        pd.testing.assert_frame_equal(_frame(store), before)  # the earlier inputs: their kept estimates
        assert computed == []


def test_keeping_estimates_moves_no_revision_and_never_waits_for_a_write(demo_path: Path, computed) -> None:
    with Store(demo_path) as store:
        _forget(store)
        at_start = revision(store)
        held, release = threading.Event(), threading.Event()

        def writer() -> None:
            with store._write_lock:  # a long write holds the lock
                held.set()
                release.wait(30)

        thread = threading.Thread(target=writer)
        thread.start()
        held.wait(5)
        try:
            frame = _frame(store)  # returns while the lock is held: it keeps nothing in the table
            assert store.query_value("SELECT count(*) FROM estimate_cache") == 0
        finally:
            release.set()
            thread.join()
        assert len(frame) > 0 and revision(store) == at_start
        MEMORY.clear()  # what was not kept is computed again by the next process, and kept then
        _frame(store)
        assert store.query_value("SELECT count(*) FROM estimate_cache") > 0
        assert revision(store) == at_start


def test_other_evidence_rules_or_another_period_are_other_inputs(demo_path: Path) -> None:
    with Store(demo_path) as store:
        rules = store.policy.evidence
        window = Window(None, None, pd.Timestamp("2026-12-01").to_pydatetime(), 28)
        keys = inputs_keys(store, rules, window, {}, None)
        stricter = rules.model_copy(update={"min_samples_per_phase": rules.min_samples_per_phase + 1})
        quarter = Window(*Period.quarter(2026, 3).bounds(), window.recent_end, 28)
        assert len(keys) == 38
        assert not set(keys.values()) & set(inputs_keys(store, stricter, window, {}, None).values())
        assert not set(keys.values()) & set(inputs_keys(store, rules, quarter, {}, None).values())
        # A comparison workflow's rows are part of its user's inputs, of nobody else's.
        compared = inputs_keys(store, rules, window, {USES_IT: COMPARED}, None)
        assert {w for w in keys if keys[w] != compared[w]} == {USES_IT}
        assert date(2026, 12, 1) == window.recent_end.date()
