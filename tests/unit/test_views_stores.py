"""The read model reads the same on both stores. On PostgreSQL a view's queries run on one local
copy of the tables it reads (``aiops.views.snapshot``); on the DuckDB file, on the file itself: the
demo's views (every design, warning, stop condition, adoption and comparison it teaches) must agree
to the last displayed digit, and n, labels, designs and warnings exactly."""

from __future__ import annotations

from datetime import datetime

import pytest

from aiops.estimates.cache import computed_afresh
from aiops.period import Period, default_period
from aiops.store import Store
from aiops.views import View, build_view, data_bounds, snapshot, view_for
from aiops.views.snapshot import timing_snapshot
from tests import pg_cluster
from tests.conftest import assert_same_figures

AS_OF = datetime(2026, 11, 27, 12)


@pytest.fixture
def both(demo_path, pg_server, demo_pg_template):
    """The demo on a DuckDB file and the same rows on PostgreSQL (copied by `aiops store copy`)."""
    url = pg_cluster.create_database(pg_server, template=demo_pg_template)
    try:
        with Store(demo_path) as duck, Store(url) as pg:
            yield duck, pg
    finally:
        pg_cluster.drop_database(pg_server, url)


def test_the_view_on_postgresql_equals_the_view_on_duckdb(both):
    duck, pg = both
    assert data_bounds(pg) == data_bounds(duck)
    default = default_period(*data_bounds(duck))[0]
    to_date = Period.quarter(AS_OF.year, (AS_OF.month - 1) // 3 + 1)
    compared = []
    for period in (default, to_date, Period()):  # a whole quarter, one to date, all time
        on_duck: View = build_view(duck, period, as_of=AS_OF)
        on_pg: View = build_view(pg, period, as_of=AS_OF)
        assert on_duck.company.has_estimate and len(on_duck.adoption_weekly) and len(on_duck.stop_counts)
        compared.append(on_duck.comparison is not None)
        assert_same_figures(on_duck, on_pg, period.name)
    assert compared == [False, True, False]  # the quarter to date is compared per week with Q3


def test_a_snapshot_reads_local_copies_private_to_the_build(both):
    _, pg = both
    where = "SELECT database_name FROM duckdb_tables() WHERE table_name = 'committed_samples' ORDER BY 1"
    with timing_snapshot(pg) as db:
        assert ("temp",) in db.query(where)  # shadows the server's view for this build's queries
        assert db.query_value("SELECT count(*) FROM committed_samples") == pg.query_value(
            "SELECT count(*) FROM committed_samples"
        )
        assert ("temp",) not in pg.query(where)  # every other reader still reads the server
    with pytest.raises(Exception):  # noqa: B017 - the copy went with its closed cursor
        db.query(where)


def test_a_table_too_big_to_copy_is_read_on_the_server_with_the_same_view(both, monkeypatch):
    duck, pg = both
    monkeypatch.setattr(snapshot, "MAX_COPY_BYTES", 0)
    with timing_snapshot(pg) as db:
        assert db is pg  # no copy: every query reads the server's tables
    period = default_period(*data_bounds(duck))[0]
    assert_same_figures(
        build_view(duck, period, as_of=AS_OF), build_view(pg, period, as_of=AS_OF), period.name
    )


@pytest.mark.estimate_cache  # figures kept, as on the dashboard
def test_a_view_read_on_the_server_keeps_no_period(both, monkeypatch):
    """Without a copy each query reads its own moment of the server: a period's figures could be
    filed under inputs read before a write they include, and served again once an undo restores
    those inputs (found in review). Such a build keeps nothing; one on a copy does."""
    duck, pg = both
    period = default_period(*data_bounds(duck))[0]
    monkeypatch.setattr(snapshot, "MAX_COPY_BYTES", 0)
    first, again = (build_view(pg, period) for _ in range(2))
    assert again.workflows is not first.workflows
    monkeypatch.undo()
    first, again = (build_view(pg, period) for _ in range(2))
    assert again.workflows is first.workflows
    assert pg.query_value("SELECT count(*) FROM derived_cache") == 0  # a read never writes to the server


def test_builds_at_once_share_one_memory_bound_for_their_copies(both, monkeypatch):
    """Sessions building views at the same time never hold more than ``MAX_COPY_BYTES`` of copies:
    a build that would pass it reads the server's tables, and the bytes come back when a build ends."""
    _, pg = both
    size = pg.query_value(snapshot.on_server("SELECT pg_relation_size('timing_samples')"))
    monkeypatch.setattr(snapshot, "MAX_COPY_BYTES", size + size // 2)  # room for one copy, not two
    with timing_snapshot(pg) as first:
        assert first is not pg
        with timing_snapshot(pg) as second:
            assert second is pg  # the first build's copy holds most of the bound
    with timing_snapshot(pg) as again:
        assert again is not pg  # released


@pytest.mark.parametrize("copies", [True, False], ids=["copied", "read on the server"])
def test_the_opening_view_is_the_default_periods_on_both_stores(both, copies, monkeypatch):
    """``view_for`` with no period finds the default period in the same read as the view: the very
    view a page asking for that period gets, and what building it afresh gives."""
    if not copies:
        monkeypatch.setattr(snapshot, "MAX_COPY_BYTES", 0)
    for store in both:
        default = default_period(*data_bounds(store))[0]
        opening = view_for(store)
        assert opening.period == opening.default == default
        assert view_for(store, default) is opening
        with computed_afresh():
            afresh = build_view(store, default, as_of=opening.as_of)
        assert_same_figures(opening, afresh, default.name)


def test_the_opening_view_of_an_empty_store_lists_no_workflow(store):
    assert view_for(store).workflows.empty
