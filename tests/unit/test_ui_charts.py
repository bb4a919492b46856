"""The dashboard's charts: a spec is kept by the contents it is built from, and only by them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st

from aiops.charts import (
    before_after_distribution,
    hours_by_department,
    minutes_per_loop_by_week,
    weekly_hours,
)
from aiops.store import Store
from tests.conftest import python_output
from ui import charts
from ui.charts import content_digest


def departments(hours: float = 120.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "department": ["Support", "Sales"],
            "hours_returned": [hours, 40.0],
            "hours_returned_low": [hours - 20, 30.0],
            "hours_returned_high": [hours + 20, 50.0],
            "hours_at_risk": [0.0, 12.0],
            "hours_at_risk_low": [0.0, 8.0],
            "hours_at_risk_high": [0.0, 16.0],
            "warnings": [["trend"], []],  # a list column: not hashable by pandas
        }
    )


@pytest.mark.parametrize(
    "changed",
    [
        lambda f: f.assign(hours_returned=[121.0, 40.0]),
        lambda f: f.assign(warnings=[["trend", "season"], []]),
        lambda f: f.assign(department=["Support", "Legal"]),
        lambda f: f.rename(columns={"hours_at_risk": "hours_at_risk_2"}),
        lambda f: f.astype({"hours_at_risk": "float32"}),
        lambda f: f.iloc[::-1],
    ],
    ids=["value", "list value", "text", "column name", "dtype", "row order"],
)
def test_any_change_a_chart_can_show_moves_the_digest(changed):
    frame = departments()
    assert content_digest(frame) == content_digest(departments())
    assert content_digest(changed(frame)) != content_digest(frame)


def test_one_changed_row_of_a_large_frame_moves_the_digest():
    # Streamlit's own argument hashing samples 10,000 of 50,000 rows or more.
    big = pd.DataFrame({"week": range(200_000), "hours": 1.0})
    edited = big.copy()
    edited.loc[123_456, "hours"] = 1.5
    assert content_digest(big) != content_digest(edited)


class Drawn:
    """What ``st.vega_lite_chart`` was given, in order; the dashboard's store is ``store``, and
    the process's kept specs are forgotten (a new process)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, store: Store) -> None:
        self.specs: list[dict] = []
        st.cache_data.clear()
        monkeypatch.setattr(st, "vega_lite_chart", lambda spec, theme, key: self.specs.append(spec))
        monkeypatch.setattr(charts, "store", lambda: store)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "charts.duckdb") as opened:
        yield opened


def test_a_spec_is_built_once_per_content_and_equals_a_fresh_build(monkeypatch, store):
    drawn = Drawn(monkeypatch, store)
    builds: list[int] = []
    original = charts._built
    monkeypatch.setattr(charts, "_built", lambda *a: builds.append(1) or original(*a))
    charts.chart(hours_by_department, departments(), title="Hours", key="k")
    charts.chart(hours_by_department, departments(), title="Hours", key="k")
    assert len(builds) == 1 and drawn.specs[0] == drawn.specs[1]
    assert drawn.specs[0] == original(hours_by_department, (departments(),), {}, "Hours")
    charts.chart(hours_by_department, departments(hours=200.0), title="Hours", key="k")
    assert len(builds) == 2
    assert {r["hours"] for rows in drawn.specs[2]["datasets"].values() for r in rows} == {
        200.0,
        40.0,
        0.0,
        12.0,
    }


def test_a_chart_is_built_again_for_another_title_option_or_builder(monkeypatch, store):
    Drawn(monkeypatch, store)
    builds: list[tuple] = []
    original = charts._built
    monkeypatch.setattr(charts, "_built", lambda *a: builds.append(a[3:]) or original(*a))
    weekly = pd.DataFrame(
        {
            "week": pd.to_datetime(["2026-07-06"]),
            "phase": "after",
            "mean_per_loop": [5.0],
            "samples": [3],
            "workflow_id": "w1",
            "department": "Sales",
            "hours_returned": [1.0],
            "hours_returned_low": [0.5],
            "hours_returned_high": [1.5],
            "loops": [2.0],
        }
    )
    charts.chart(minutes_per_loop_by_week, weekly, title="A", key="k")
    charts.chart(minutes_per_loop_by_week, weekly, title="B", key="k")  # another title
    charts.chart(weekly_hours, weekly, title="A", key="k")  # another builder, same inputs
    charts.chart(weekly_hours, weekly, title="A", key="k", color_by="workflow_id")  # another option
    charts.chart(weekly_hours, weekly, title="A", key="k", color_by="workflow_id")  # the same again
    assert len(builds) == 4


def test_a_chart_of_rows_is_never_stored(monkeypatch, store):
    """An upload's preview and a sample of timings: kept in the process only (a discarded upload
    or an undone batch leaves none of its rows in the store)."""
    Drawn(monkeypatch, store)
    charts.chart(hours_by_department, departments(), title="Rows", key="k", stored=False)
    store.settle()
    assert store.query_value("SELECT count(*) FROM derived_cache") == 0
    charts.chart(hours_by_department, departments(), title="Figures", key="k")
    store.settle()
    assert store.query_value("SELECT count(*) FROM derived_cache") == 1


def test_a_drawn_spec_is_a_copy(monkeypatch, store):
    drawn = Drawn(monkeypatch, store)
    charts.chart(hours_by_department, departments(), title="Hours", key="k")
    drawn.specs[0]["title"] = "changed by a caller"
    charts.chart(hours_by_department, departments(), title="Hours", key="k")
    assert drawn.specs[1]["title"] != "changed by a caller"


def test_a_new_process_draws_the_stored_spec_without_building_it(monkeypatch, store):
    first = Drawn(monkeypatch, store)
    charts.chart(hours_by_department, departments(), title="Hours", key="k")
    store.settle()  # stored off the page's path
    again = Drawn(monkeypatch, store)  # a restarted server: nothing kept in memory
    monkeypatch.setattr(charts, "_built", lambda *a: pytest.fail("built again"))
    charts.chart(hours_by_department, departments(), title="Hours", key="k")
    assert again.specs == first.specs
    monkeypatch.setattr(charts, "CODE", "another version of the code")
    with pytest.raises(pytest.fail.Exception, match="built again"):
        charts.chart(hours_by_department, departments(), title="Hours", key="k")


@pytest.mark.slow  # a new Python process that imports Streamlit: 1.7 s of CPU
def test_a_stored_spec_is_drawn_without_importing_altair(monkeypatch, tmp_path):
    """A restarted server's first Overview needs no Altair (about 0.18 s to import) when its
    charts' specs are in the store. The spec is built and stored here; a new process draws it, then
    builds a chart of other contents (which does import Altair: the first answer is not for free)."""
    path = tmp_path / "charts.duckdb"
    with Store(path) as store:
        Drawn(monkeypatch, store)
        builds: list[int] = []
        original = charts._built
        monkeypatch.setattr(charts, "_built", lambda *a: builds.append(1) or original(*a))
        charts.chart(hours_by_department, departments(), title="Hours", key="k")
        store.settle()
        assert builds == [1] and store.query_value("SELECT count(*) FROM derived_cache") == 1
    code = f"""
import sys
import streamlit as st
from aiops.store import Store
from ui import charts
from aiops.charts import hours_by_department
from tests.unit.test_ui_charts import departments
store = Store({str(path)!r})
charts.store = lambda: store
st.vega_lite_chart = lambda spec, theme, key: None
charts.chart(hours_by_department, departments(), title="Hours", key="k")
print("altair" in sys.modules)
charts.chart(hours_by_department, departments(hours=200.0), title="Hours", key="k")
store.settle()
print("altair" in sys.modules)
"""
    assert python_output(code).split()[-2:] == ["False", "True"]  # read from the store, then built


def test_specs_hold_their_rows_inline_without_a_row_limit():
    # Altair's default data transformer refuses more than 5,000 rows; a large department's
    # weekly chart or a distribution can hold more.
    samples = pd.DataFrame({"phase": ["before", "after"] * 4_000, "minutes_per_loop": 3.0})
    spec = before_after_distribution(samples).to_dict()
    assert sum(len(rows) for rows in spec["datasets"].values()) == 8_000


def test_dates_are_written_as_iso_text_and_missing_values_as_null():
    weekly = pd.DataFrame(
        {
            "week": pd.to_datetime(["2026-07-06", "2026-07-13"]),
            "phase": "after",
            "mean_per_loop": [5.0, float("nan")],
            "samples": [3, 4],
        }
    )
    spec = minutes_per_loop_by_week(weekly).to_dict()
    rows = [r for rows in spec["datasets"].values() for r in rows]
    assert [(r["week"], r["mean_per_loop"]) for r in rows] == [
        ("2026-07-06T00:00:00", 5.0),
        ("2026-07-13T00:00:00", None),
    ]
