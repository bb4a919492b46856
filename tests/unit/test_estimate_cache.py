"""The estimate cache: a kept estimate is the one computing afresh gives; an upload (or its undo)
recomputes only the workflows it touched and those that use them as a comparison; a new process
starts warm from the store's table; keeping estimates never waits for a write nor moves the revision."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

import aiops.metrics
from aiops.estimates.cache import MEMORY, Window, computed_afresh, inputs_keys
from aiops.estimates.codes import Design, WarningCode
from aiops.estimates.fit import Coef
from aiops.estimates.record import Estimate, PhaseStats, from_json, to_json
from aiops.ingest.batches import undo_batch
from aiops.ingest.timings import import_timings
from aiops.period import Period
from aiops.store import Store
from aiops.views.build import build_view, revision
from tests.conftest import ADMIN, forget_parts

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
    """The period's workflow frame, its part computed (not read back: this file tests the
    estimates beneath it, aiops.views.parts keeps the figures built from them)."""
    store.settle()  # a part the build before is storing
    forget_parts()
    cursor = store.new_cursor()  # not keep_derived: a test here holds the write lock meanwhile
    cursor.execute("DELETE FROM derived_cache")
    cursor.close()
    return build_view(store, period).workflows


def _afresh(store: Store, period: Period = Period()) -> pd.DataFrame:
    with computed_afresh():
        return _frame(store, period)


@pytest.mark.parametrize(
    "period",
    # A quarter's views read the previous quarter too: four views of the whole demo, 1.9 s of CPU.
    [Period(), pytest.param(Period.quarter(2026, 3), marks=pytest.mark.slow)],
    ids=["all", "quarter"],
)
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


@pytest.mark.slow  # views of the whole demo around an upload made from another thread: 2.1 s of CPU
def test_an_upload_committed_during_a_read_is_not_kept_under_the_earlier_rows_key(
    demo_path: Path, tmp_path: Path, computed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another session's upload commits between the read's fingerprints and its cells query, and is
    then undone: the read must not have kept the upload's estimate under the earlier rows' key."""
    with Store(demo_path) as store:
        _forget(store)
        load, batches = aiops.metrics.load_cells, []

        def upload_meanwhile(*args, **kwargs):  # type: ignore[no-untyped-def]
            if not batches:  # once (the upload's own classification reads cells too)
                batches.append(0)
                batches[0] = _upload(store, tmp_path, COMPARED)
            return load(*args, **kwargs)

        monkeypatch.setattr(aiops.metrics, "load_cells", upload_meanwhile)
        _frame(store)
        monkeypatch.setattr(aiops.metrics, "load_cells", load)
        undo_batch(store, ADMIN, batches[0])
        pd.testing.assert_frame_equal(_frame(store), _afresh(store))
        MEMORY.clear()  # a new process reads the table
        pd.testing.assert_frame_equal(_frame(store), _afresh(store))


@pytest.mark.slow  # eighteen metrics frames of the whole demo, kept and afresh: 4.9 s of CPU
def test_a_warm_cache_agrees_with_computing_afresh_through_every_kind_of_change(
    demo_path: Path, tmp_path: Path, computed
) -> None:
    """Each input of an estimate, changed one at a time with every earlier estimate kept: the run-rate
    window (as_of), the period's start at the same end, a column edited in place, an upload and its
    undo. A key that left any of them out would serve a kept estimate that computing afresh contradicts."""
    with Store(demo_path) as store:
        rules = store.policy.evidence

        def same(period: Period = Period(), as_of: datetime | None = None) -> None:
            kept = aiops.metrics.workflow_metrics(store, rules, period, as_of)
            with computed_afresh():
                afresh = aiops.metrics.workflow_metrics(store, rules, period, as_of)
            pd.testing.assert_frame_equal(kept, afresh)

        same()
        same(as_of=datetime(2026, 9, 20))  # a run-rate window that ends earlier
        same(Period(date(2026, 7, 1), date(2026, 10, 1)))
        same(Period(date(2026, 8, 1), date(2026, 10, 1)))  # the same end, another start
        for column, value in (("rework_minutes", 7.5), ("segment", "'vip'"), ("ai_assisted", "true")):
            store.write(
                ADMIN,
                lambda tx, column=column, value=value: tx.execute(
                    f"UPDATE timing_samples SET {column} = {value} WHERE workflow_id = ?"
                    " AND phase = 'after' AND measured_at = (SELECT max(measured_at) FROM timing_samples"
                    " WHERE workflow_id = ?)",
                    [USES_IT, USES_IT],
                ),
            )
            same()
        batch = _upload(store, tmp_path, COMPARED)
        same()
        undo_batch(store, ADMIN, batch)
        same()


@pytest.mark.slow
def test_each_workflow_alone_gets_the_estimate_it_gets_among_all(demo_path: Path) -> None:
    """A workflow's estimate depends on its own rows and its comparison's only: computed alone (as
    an upload's classification computes it) it is the one computed with every other workflow (as a
    view computes it). Found otherwise: a mix measured against other workflows' segment columns,
    and concurrent arms missing from cells without any non-AI loop."""
    with Store(demo_path) as store, computed_afresh():
        rules = store.policy.evidence
        together = aiops.metrics.workflow_metrics(store, rules).set_index("workflow_id")
        estimated = [c.name for c in aiops.metrics.RECORD_COLUMNS]
        for workflow_id in together.index:
            alone = aiops.metrics.workflow_metrics(store, rules, workflow_ids=[workflow_id])
            pd.testing.assert_frame_equal(
                alone.set_index("workflow_id")[estimated], together.loc[[workflow_id], estimated]
            )


def test_the_code_in_the_key_is_every_module_of_the_package(tmp_path: Path) -> None:
    # The estimates read the t quantiles and the calendar from outside their own package: an edit
    # there changes figures, so it must change the key of what was kept (it did not: issue 23).
    import aiops
    from aiops.code_hash import PACKAGE, package_hash

    copy = tmp_path / "aiops"
    shutil.copytree(Path(aiops.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert package_hash(copy) == PACKAGE
    for module in ("student_t.py", "period.py", "estimates/choose.py"):
        edited = copy / module
        source = edited.read_text()
        edited.write_text(source + "\n# edited\n")
        assert package_hash(copy) != PACKAGE, module
        edited.write_text(source)


def test_kept_estimates_and_periods_are_keyed_by_the_package_digest(monkeypatch) -> None:
    from aiops.estimates import cache

    monkeypatch.setattr(cache, "PACKAGE", "another version of the package")
    assert cache._code_hash() != cache.CODE


def test_a_kept_record_reads_back_as_it_was_each_coefficient_by_name() -> None:
    """A record goes through the store's table as JSON: each coefficient's value, variance and
    degrees of freedom come back where they were (all different here, so a swap shows; no NaN, so
    the records compare equal)."""
    record = Estimate(
        workflow_id="w",
        design=Design.CONCURRENT,
        saving=Coef(value=4.0, var=0.25, dof=12.0),
        current=Coef(value=3.0, var=0.5, dof=7.0),
        concurrent=Coef(value=5.0, var=0.75, dof=30.0),
        baseline_mean=20.0,
        treated_loops=40.0,
        treated_recent_loops=10.0,
        warnings=frozenset({WarningCode.SELECTION}),
        segmented=False,
        elapsed=False,
        before=PhaseStats(samples=9, mean_per_loop=30.0, median_per_loop=29.0, var_mean=1.5),
        after=PhaseStats(samples=8, mean_per_loop=26.0, median_per_loop=25.0, var_mean=2.5),
    )
    stored = json.loads(json.dumps(to_json(record)))
    assert stored["saving"] == {"value": 4.0, "var": 0.25, "dof": 12.0}
    assert from_json(stored) == record
