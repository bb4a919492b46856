"""A period's part of the view (aiops.views.parts) is kept while what it was computed from is
unchanged: an upload of later weeks keeps the period's figures, and every change that reaches them
(rows inside the period, a workflow's fields, its classification, the company's settings, the end
of an incomplete period's data) builds what building afresh gives."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import aiops.metrics
import aiops.views.build
from aiops.estimates.cache import computed_afresh
from aiops.ingest.batches import undo_batch
from aiops.ingest.timings import import_timings
from aiops.period import Period, default_period
from aiops.policy import default_policy_text, parse_policy
from aiops.store import Statement, Store, Tx, tracer
from aiops.views import part_store
from aiops.views.build import View, build_view, data_bounds
from aiops.views.company import save_company
from aiops.views.parts import PARTS, Part
from tests.conftest import ADMIN, assert_same_figures, forget_parts

pytestmark = pytest.mark.estimate_cache


@pytest.fixture(autouse=True)
def _new_process() -> None:
    """Each test starts with no part in memory (the demo copies are alike: one's parts are another's)."""
    forget_parts()


WORKFLOW = "fin-invoice-coding"


def _upload(store: Store, folder: Path, day: date, name: str) -> int:
    path = folder / f"{name}.csv"
    rows = [f"{WORKFLOW},after,{day.isoformat()}T1{hour}:00:00,{20 + hour},1,0" for hour in range(7)]
    path.write_text("workflow_id,phase,measured_at,duration_minutes,loops,rework_minutes\n" + "\n".join(rows))
    report = import_timings(store, ADMIN, path)
    assert report.accepted == len(rows)
    return report.batch_id


def _same_as_afresh(store: Store, period: Period) -> View:
    kept = build_view(store, period)
    with computed_afresh():
        afresh = build_view(store, period)
    for figures in (
        "data_first",
        "data_through",
        "default",
        "run_rate_end",
        "freshness",
        "workflows",
        "weekly",
        "adoption_weekly",
        "stop_counts",
        "company",
        "departments",
        "comparison",
        "company_settings",
        "policy_sha256",
        "classification_versions",
        "incidents",
    ):
        assert_same_figures(getattr(kept, figures), getattr(afresh, figures), figures)
    return kept


def _sql(store: Store, sql: str, action: str = "test.edited") -> None:
    def run(tx: Tx) -> None:
        tx.execute(sql, [WORKFLOW])
        tx.audit(action, "workflow", WORKFLOW, {"sql": sql})  # as every write of the product

    store.write(ADMIN, run)


@pytest.mark.slow  # seven views of the whole demo, two uploads and an undo: 3.6 s of CPU
def test_an_upload_of_later_weeks_keeps_the_period_and_moves_what_it_should(demo_path: Path, tmp_path: Path):
    with Store(demo_path) as store:
        first, last = data_bounds(store)
        period = default_period(first, last)[0]
        assert period.end is not None and last is not None and last.date() >= period.end
        before = build_view(store, period)
        _upload(store, tmp_path, last.date() + pd.Timedelta(days=1), "later")
        after = _same_as_afresh(store, period)
        assert after.workflows is before.workflows  # the period's part was kept, not rebuilt
        assert after.data_through is not None and after.data_through > last
        inside = _upload(store, tmp_path, period.end.replace(day=1) - pd.Timedelta(days=20), "inside")
        rebuilt = _same_as_afresh(store, period)
        assert rebuilt.workflows is not before.workflows
        undo_batch(store, ADMIN, inside)
        _same_as_afresh(store, period)


INCIDENT = (
    "INSERT INTO checkpoint_events (workflow_id, kind, note, actor, recorded_at) "
    "VALUES (?, 'incident', 'wrong account coded', 'a', TIMESTAMP '2026-12-01')"
)


def _facts_read(store: Store, period: Period) -> bool:
    """Whether a view of ``period`` built now reads the store's facts (``aiops.views.facts``)."""
    log: list[Statement] = []
    with tracer(log.append):
        build_view(store, period)
    return any("FROM checkpoint_events" in s.sql for s in log)


@pytest.mark.slow  # nine views of the demo, four of them afresh: 4 s of CPU
def test_the_views_facts_are_carried_over_uploads_only(demo_path: Path, tmp_path: Path) -> None:
    """An upload of later weeks changes none of the facts (its classification changes are audited
    as such): they are carried. After an incident, a workflow edited or the company's settings
    saved, they are read again and the view is what building afresh gives."""
    with Store(demo_path) as store:
        period = default_period(*data_bounds(store))[0]
        _same_as_afresh(store, period)
        last = data_bounds(store)[1]
        assert last is not None
        _upload(store, tmp_path, last.date() + pd.Timedelta(days=1), "later")
        assert not _facts_read(store, period)
        _sql(store, INCIDENT, "incident.recorded")  # as record_incident writes it, without reclassifying
        assert _facts_read(store, period)
        assert "wrong account coded" in _same_as_afresh(store, period).incidents.note.tolist()
        save_company(store, ADMIN, 'name = "Renamed Inc"\n')
        assert _same_as_afresh(store, period).company_settings.name == "Renamed Inc"
        _sql(store, "UPDATE workflows SET name = 'Renamed' WHERE workflow_id = ?", "workflow.updated")
        assert "Renamed" in _same_as_afresh(store, period).incidents.name.tolist()


def test_a_policy_made_the_stores_own_without_a_write_is_read_again(demo_path: Path) -> None:
    """Re-applying a version another process applied changes the store's policy and writes nothing
    (``apply_policy``): the carried facts were read under the other one (found in review)."""
    with Store(demo_path) as store:
        build_view(store, Q3)
        text = re.sub(r'(?m)^version = ".*"$', 'version = "test-9"', default_policy_text())
        store.policy = parse_policy(text)
        assert _same_as_afresh(store, Q3).policy_sha256 == store.policy.sha256


RECLASSIFIED = "classification.changed"  # as the product audits it: the rows' figures are carried
CHANGES: dict[str, Callable[[Store], None]] = {
    "a workflow renamed": lambda s: _sql(s, "UPDATE workflows SET name = 'Renamed' WHERE workflow_id = ?"),
    "a workflow moved to another department": lambda s: _sql(
        s, "UPDATE workflows SET department = 'Elsewhere' WHERE workflow_id = ?"
    ),
    "its AI cost changed": lambda s: _sql(
        s, "UPDATE workflows SET ai_monthly_cost = 999 WHERE workflow_id = ?"
    ),
    "a stop condition opened": lambda s: _sql(
        s, "UPDATE classifications SET stop_conditions = ['no_owner'] WHERE workflow_id = ?", RECLASSIFIED
    ),
    "its status changed": lambda s: _sql(
        s, "UPDATE classifications SET status = 'autonomous' WHERE workflow_id = ?", RECLASSIFIED
    ),
    "its next checkpoint changed": lambda s: _sql(
        s,
        "UPDATE classifications SET detail = json_merge_patch(detail, "
        '\'{"next_checkpoint": {"checkpoint": "review"}}\') WHERE workflow_id = ?',
        RECLASSIFIED,
    ),
    "a row inside the period edited": lambda s: _sql(
        s,
        "UPDATE timing_samples SET rework_minutes = rework_minutes + 5 WHERE workflow_id = ? "
        "AND measured_at >= TIMESTAMP '2026-07-01' AND measured_at < TIMESTAMP '2026-10-01'",
    ),
    "the company's hourly cost changed": lambda s: save_company(s, ADMIN, "hourly_cost = 123.0\n"),
}


# Changes of what the classifications say only: the period's figures are relabelled, not computed.
LABELS_ONLY = {"a stop condition opened", "its status changed", "its next checkpoint changed"}


@pytest.mark.slow  # two views of the demo per change, built afresh and kept
@pytest.mark.parametrize("change", list(CHANGES))
def test_every_change_that_reaches_a_period_rebuilds_it(
    demo_path: Path, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    computed: list[object] = []
    metrics = aiops.views.build.workflow_metrics

    def counted(*args: Any, **kwargs: Any) -> pd.DataFrame:
        computed.append(args)
        return metrics(*args, **kwargs)

    monkeypatch.setattr(aiops.views.build, "workflow_metrics", counted)
    with Store(demo_path) as store:
        period = Period(date(2026, 7, 1), date(2026, 10, 1))
        before = _same_as_afresh(store, period)
        CHANGES[change](store)
        computed.clear()
        after = build_view(store, period)
        assert after.workflows is not before.workflows
        assert (computed == []) is (change in LABELS_ONLY), computed
        assert _same_as_afresh(store, period).workflows is after.workflows


@pytest.mark.slow
def test_an_incomplete_period_follows_the_end_of_the_data(demo_path: Path, tmp_path: Path) -> None:
    """Figures "to date" and late data are measured against the company's last timing: an upload
    that moves it rebuilds an open period even when no row of the period changed."""
    with Store(demo_path) as store:
        last = data_bounds(store)[1]
        assert last is not None
        period = Period(date(2026, 10, 1), date(2027, 1, 1))
        before = _same_as_afresh(store, period)
        _upload(store, tmp_path, last.date() + pd.Timedelta(days=1), "later")
        after = _same_as_afresh(store, period)
        assert after.workflows is not before.workflows


Q3 = Period(date(2026, 7, 1), date(2026, 10, 1))


class Computed:
    """Counts the weekly cells a build computes (a part read back computes none)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        original = aiops.views.build.weekly_cells

        def counted(*args: object) -> pd.DataFrame:
            self.calls += 1
            return original(*args)

        monkeypatch.setattr(aiops.views.build, "weekly_cells", counted)


def test_a_new_process_reads_the_periods_from_the_store(
    demo_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restarted server or a command reads the figures the process before it computed: none is
    computed again, and they are what building afresh gives."""
    with Store(demo_path) as store:
        first = build_view(store, Q3)
        store.settle()  # parts are stored off the read's path
        assert store.query_value("SELECT count(*) FROM derived_cache") == 2  # the quarter and the one before
        forget_parts()  # as a new process
        computed = Computed(monkeypatch)
        kept = _same_as_afresh(store, Q3)
        assert computed.calls == 2  # the afresh build's two periods only
        assert kept.workflows is not first.workflows


def test_a_part_stored_by_other_code_is_computed_again(
    demo_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(demo_path) as store:
        build_view(store, Q3)
        store.settle()
        forget_parts()
        monkeypatch.setattr(part_store, "CODE_HASH", "another version of the code")
        computed = Computed(monkeypatch)
        build_view(store, Q3)
        assert computed.calls == 2


@pytest.mark.slow  # three views of the demo's Q3 (two periods each), one afresh: 2.2-2.5 s of CPU
def test_a_damaged_stored_part_is_computed_again(demo_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store(demo_path) as store:
        build_view(store, Q3)
        store.settle()
        assert store.keep_derived([("UPDATE derived_cache SET payload = CAST('not a part' AS BLOB)", None)])
        forget_parts()
        computed = Computed(monkeypatch)
        _same_as_afresh(store, Q3)
        assert computed.calls == 4  # both periods computed again, then the afresh build's two


def _assert_same_part(back: Part | part_store.PartFields, part: Part) -> None:
    pd.testing.assert_frame_equal(back.frame, part.frame, check_exact=True)
    pd.testing.assert_frame_equal(back.adoption, part.adoption, check_exact=True)
    pd.testing.assert_frame_equal(back.weeks, part.weeks, check_exact=True)
    assert (back.company, back.departments) == (part.company, part.departments)


def test_a_stored_part_comes_back_exactly(demo_path: Path) -> None:
    with Store(demo_path) as store:
        build_view(store, Q3)
    assert len(PARTS.values()) == 2
    for part in PARTS.values():
        back = part_store.decoded(part_store.encoded(part))
        assert part_store.same_fields(back, part)
        _assert_same_part(back, part)


def test_a_kept_part_loads_back_as_the_part_it_was(demo_path: Path) -> None:
    """Each field goes back where it came from (the frames and the totals are stored in a fixed
    order and built back by name)."""
    with Store(demo_path) as store:
        build_view(store, Q3)
        store.settle()  # the build's own two stored first
        part = PARTS.values()[-1]
        with store.snapshot() as reader:
            assert part_store.keep(reader, "a key", part, datetime(2026, 12, 1))
            back = part_store.load(reader, "a key", Part)
    assert isinstance(back, Part)
    _assert_same_part(back, part)


def test_a_part_that_would_not_come_back_exactly_is_not_stored(demo_path: Path) -> None:
    """A value JSON cannot hold as it is (a tuple comes back a list) fails the read-back check; one
    it cannot hold at all is refused when written."""
    with Store(demo_path) as store:
        build_view(store, Q3)
        part = PARTS.values()[-1]
        frame = part.frame.assign(stop_conditions=part.frame.stop_conditions.map(tuple))
        store.settle()  # the build's own two stored first
        with store.snapshot() as reader:
            assert not part_store.keep(reader, "a key", replace(part, frame=frame), datetime(2026, 12, 1))
            money = part.frame.assign(next_checkpoint=Decimal("1.10"))  # not JSON at all
            assert not part_store.keep(reader, "a key", replace(part, frame=money), datetime(2026, 12, 1))
            assert part_store.keep(reader, "a key", part, datetime(2026, 12, 1))
        assert store.query_value("SELECT count(*) FROM derived_cache") == 3


@pytest.mark.slow  # three views of the whole demo with their previous periods: 2.2 s of CPU
def test_a_previous_period_that_has_not_ended_is_built_each_time(
    demo_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A custom period whose previous one ends after now: that part's run rate looks back from the
    clock, which no key holds, so it is never kept (found in review: kept, it served figures as of
    an earlier day)."""
    clock = [datetime(2026, 10, 1)]
    for module in (aiops.metrics, aiops.views.build):
        monkeypatch.setattr(module, "utcnow", lambda: clock[0])
    period = Period(date(2026, 10, 15), date(2026, 11, 15))
    with Store(demo_path) as store:
        build_view(store, period)
        clock[0] = datetime(2026, 10, 12)
        kept = build_view(store, period)
        with computed_afresh():
            afresh = build_view(store, period)
    assert kept.comparison is not None
    assert_same_figures(kept.comparison, afresh.comparison, "comparison")
