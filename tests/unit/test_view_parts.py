"""A period's part of the view (aiops.views.parts) is kept while what it was computed from is
unchanged: an upload of later weeks keeps the period's figures, and every change that reaches them
(rows inside the period, a workflow's fields, its classification, the company's settings, the end
of an incomplete period's data) builds what building afresh gives."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

import aiops.metrics
import aiops.views.build
from aiops.estimates.cache import computed_afresh
from aiops.ingest.batches import undo_batch
from aiops.ingest.timings import import_timings
from aiops.period import Period, default_period
from aiops.store import Store, Tx
from aiops.views.build import View, build_view, data_bounds
from aiops.views.company import save_company
from tests.conftest import ADMIN, assert_same_figures

pytestmark = pytest.mark.estimate_cache

WORKFLOW = "fin-invoice-coding"


def _upload(store: Store, folder: Path, day: date, name: str) -> int:
    path = folder / f"{name}.csv"
    rows = [f"{WORKFLOW},after,{day.isoformat()}T1{hour}:00:00,{20 + hour},1,0" for hour in range(7)]
    path.write_text("workflow_id,phase,measured_at,duration_minutes,loops,rework_minutes\n" + "\n".join(rows))
    report = import_timings(store, ADMIN, path)
    assert report.accepted == len(rows)
    return report.batch_id


def _same_as_afresh(store: Store, period: Period) -> View:
    kept = build_view(store, period, keep_parts=True)
    with computed_afresh():
        afresh = build_view(store, period)
    for figures in (
        "workflows",
        "weekly",
        "adoption_weekly",
        "stop_counts",
        "company",
        "departments",
        "comparison",
    ):
        assert_same_figures(getattr(kept, figures), getattr(afresh, figures), figures)
    return kept


def _sql(store: Store, sql: str) -> None:
    def run(tx: Tx) -> None:
        tx.execute(sql, [WORKFLOW])

    store.write(ADMIN, run)


def test_an_upload_of_later_weeks_keeps_the_period_and_moves_what_it_should(demo_path: Path, tmp_path: Path):
    with Store(demo_path) as store:
        first, last = data_bounds(store)
        period = default_period(first, last)[0]
        assert period.end is not None and last is not None and last.date() >= period.end
        before = build_view(store, period, keep_parts=True)
        _upload(store, tmp_path, last.date() + pd.Timedelta(days=1), "later")
        after = _same_as_afresh(store, period)
        assert after.workflows is before.workflows  # the period's part was kept, not rebuilt
        assert after.data_through is not None and after.data_through > last
        inside = _upload(store, tmp_path, period.end.replace(day=1) - pd.Timedelta(days=20), "inside")
        rebuilt = _same_as_afresh(store, period)
        assert rebuilt.workflows is not before.workflows
        undo_batch(store, ADMIN, inside)
        _same_as_afresh(store, period)


CHANGES: dict[str, Callable[[Store], None]] = {
    "a workflow renamed": lambda s: _sql(s, "UPDATE workflows SET name = 'Renamed' WHERE workflow_id = ?"),
    "a workflow moved to another department": lambda s: _sql(
        s, "UPDATE workflows SET department = 'Elsewhere' WHERE workflow_id = ?"
    ),
    "its AI cost changed": lambda s: _sql(
        s, "UPDATE workflows SET ai_monthly_cost = 999 WHERE workflow_id = ?"
    ),
    "a stop condition opened": lambda s: _sql(
        s, "UPDATE classifications SET stop_conditions = ['no_owner'] WHERE workflow_id = ?"
    ),
    "its status changed": lambda s: _sql(
        s, "UPDATE classifications SET status = 'autonomous' WHERE workflow_id = ?"
    ),
    "its next checkpoint changed": lambda s: _sql(
        s,
        "UPDATE classifications SET detail = json_merge_patch(detail, "
        '\'{"next_checkpoint": {"checkpoint": "review"}}\') WHERE workflow_id = ?',
    ),
    "a row inside the period edited": lambda s: _sql(
        s,
        "UPDATE timing_samples SET rework_minutes = rework_minutes + 5 WHERE workflow_id = ? "
        "AND measured_at >= TIMESTAMP '2026-07-01' AND measured_at < TIMESTAMP '2026-10-01'",
    ),
    "the company's hourly cost changed": lambda s: save_company(s, ADMIN, "hourly_cost = 123.0\n"),
}


@pytest.mark.slow  # two views of the demo per change, built afresh and kept
@pytest.mark.parametrize("change", list(CHANGES))
def test_every_change_that_reaches_a_period_rebuilds_it(demo_path: Path, change: str) -> None:
    with Store(demo_path) as store:
        period = Period(date(2026, 7, 1), date(2026, 10, 1))
        before = _same_as_afresh(store, period)
        CHANGES[change](store)
        after = _same_as_afresh(store, period)
        assert after.workflows is not before.workflows


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


def test_a_view_built_once_keeps_nothing(demo_path: Path) -> None:
    """A command builds one view: its figures are not kept (the key would cost a scan for nothing)."""
    with Store(demo_path) as store:
        period = Period(date(2026, 7, 1), date(2026, 10, 1))
        assert build_view(store, period).workflows is not build_view(store, period).workflows


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
        build_view(store, period, keep_parts=True)
        clock[0] = datetime(2026, 10, 12)
        kept = build_view(store, period, keep_parts=True)
        with computed_afresh():
            afresh = build_view(store, period)
    assert kept.comparison is not None
    assert_same_figures(kept.comparison, afresh.comparison, "comparison")
