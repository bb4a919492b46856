"""The read model: banked vs at risk, money, honest windows (run rate of the data, part-period per
week), the default period, and the summary's money fields. Expected numbers are computed here."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from aiops.auth import Actor
from aiops.ingest.batches import undo_batch
from aiops.ingest.timings import import_timings
from aiops.inventory import save_workflows
from aiops.period import DAYS_PER_MONTH, Period, complete_weeks_end, default_period
from aiops.report.summary import summarize
from aiops.store import Store
from aiops.views import build_view, save_company
from aiops.views.company import set_ai_costs
from aiops.workflow import Workflow
from tests.conftest import answered_workflow

BEFORE = date(2026, 4, 6)  # a Monday
GO_LIVE = date(2026, 6, 29)  # a Monday
DATA_END = date(2026, 11, 11)  # a Wednesday, 12 days before "today"
TODAY = datetime(2026, 11, 23, 12)
PER_DAY = 3
SAVED = 10.0  # minutes per loop: 30 before, 20 after (±1, alternating: a variance, the same mean)


def _workflow(workflow_id: str, owner: str) -> Workflow:
    return answered_workflow(
        workflow_id=workflow_id, name=f"Workflow {workflow_id}", department="Support", owner=owner
    )


def _rows(workflow_id: str) -> list[tuple]:
    rows, day, i = [], BEFORE, 0
    while day <= DATA_END:
        after = day >= GO_LIVE
        for k in range(PER_DAY):
            minutes = (20.0 if after else 30.0) + (1 if i % 2 else -1)
            moment = datetime.combine(day, datetime.min.time()) + timedelta(hours=9 + 2 * k)
            rows.append((workflow_id, "after" if after else "before", moment.isoformat(" "), minutes, 1, 0.0))
            i += 1
        day += timedelta(days=1)
    return rows


@pytest.fixture(scope="module")
def flat_template(tmp_path_factory: pytest.TempPathFactory, empty_template: Path) -> Path:
    """Two Support workflows with flat weekly volume; `risky` has no owner (a stop condition).
    Made once per module: each test reads or writes its own copy (``flat``)."""
    admin = Actor(name="admin@test", role="admin")
    folder = tmp_path_factory.mktemp("flat")
    shutil.copy(empty_template, folder / "flat.duckdb")
    with Store(folder / "flat.duckdb") as store:
        items = [_workflow("steady", "Dana Lee"), _workflow("risky", "")]
        store.write(admin, lambda tx: save_workflows(tx, items, "test"))
        path = folder / "timings.csv"
        columns = ["workflow_id", "phase", "measured_at", "duration_minutes", "loops", "rework_minutes"]
        pd.DataFrame(_rows("steady") + _rows("risky"), columns=columns).to_csv(path, index=False)
        assert import_timings(store, admin, path).rejected == 0
        save_company(
            store,
            admin,
            'name = "Flat Co"\ncurrency = "EUR"\nhourly_cost = 50\n'
            "[hourly_cost_by_department]\nsupport = 60\n",
        )
        set_ai_costs(store, admin, {"steady": 300.0, "risky": 100.0})
    return folder / "flat.duckdb"


@pytest.fixture
def flat(flat_template: Path, tmp_path: Path):
    shutil.copy(flat_template, tmp_path / "flat.duckdb")
    with Store(tmp_path / "flat.duckdb") as store:
        yield store


def _loops(start: date, end: date) -> int:
    """After-phase loops of one workflow in [start, end)."""
    first, stop = max(start, GO_LIVE), min(end, DATA_END + timedelta(days=1))
    return max((stop - first).days, 0) * PER_DAY


def test_run_rate_counts_the_last_complete_weeks_of_data_not_back_from_today(flat):
    view = build_view(flat, Period(), as_of=TODAY)
    weeks_end = complete_weeks_end(DATA_END)
    assert weeks_end == date(2026, 11, 9)  # the week of Wednesday 11 November is not complete
    expected = _loops(weeks_end - timedelta(weeks=4), weeks_end) * SAVED / 60 / 4
    steady = view.workflows.set_index("workflow_id").loc["steady"]
    assert steady.hours_per_week == pytest.approx(expected, rel=0.02)
    naive = _loops(TODAY.date() - timedelta(weeks=4), TODAY.date()) * SAVED / 60 / 4
    assert naive < 0.7 * expected  # what counting back from today would have shown: a fake decline
    assert view.company.hours_per_week == pytest.approx(expected, rel=0.02)  # `risky` is not banked
    assert "to 2026-11-08" in view.run_rate_label


def test_a_part_quarter_is_labelled_to_date_and_compared_per_week(flat):
    view = build_view(flat, Period.quarter(2026, 4), as_of=TODAY)
    assert not view.complete and view.name == "2026 Q4 to date"
    comparison = view.comparison
    assert comparison is not None and comparison.per_week and comparison.name == "2026 Q3"
    q4_days = (DATA_END + timedelta(days=1) - date(2026, 10, 1)).days
    assert comparison.current_weeks == pytest.approx(q4_days / 7)
    assert comparison.previous_weeks == pytest.approx(92 / 7)
    # Flat weekly volume: per week, no change (a whole-period comparison would show -50% or so).
    assert comparison.current_hours == pytest.approx(PER_DAY * 7 * SAVED / 60, rel=0.03)
    assert comparison.previous_hours == pytest.approx(PER_DAY * 7 * SAVED / 60, rel=0.03)
    assert abs(comparison.hours_change) < 0.03 * comparison.previous_hours
    assert view.company.hours_returned < 0.6 * comparison.previous.hours_returned
    assert "h/week" in comparison.hours_change_text and "to date" in view.period_note


def test_a_complete_quarter_is_compared_whole(flat):
    view = build_view(flat, Period.quarter(2026, 3), as_of=TODAY)
    assert view.complete and view.name == "2026 Q3"
    assert view.comparison is None or not view.comparison.per_week


def test_paused_hours_are_at_risk_beside_the_headline_never_added(flat):
    view = build_view(flat, Period.quarter(2026, 3), as_of=TODAY)
    frame = view.workflows.set_index("workflow_id")
    assert frame.loc["risky", "stop_conditions"] and frame.loc["risky", "at_risk"]
    assert frame.loc["steady", "banked"] and not frame.loc["steady", "stop_conditions"]
    c = view.company
    assert c.hours_returned == pytest.approx(frame.loc["steady", "hours_returned"])
    assert c.hours_at_risk == pytest.approx(frame.loc["risky", "hours_returned"])
    assert c.hours_at_risk_low < c.hours_at_risk < c.hours_at_risk_high
    assert (c.banked_workflows, c.at_risk_workflows) == (1, 1)


def test_money_uses_the_department_rate_and_the_months_the_ai_ran(flat):
    view = build_view(flat, Period.quarter(2026, 3), as_of=TODAY)
    steady = view.workflows.set_index("workflow_id").loc["steady"]
    assert steady.hourly_cost == 60  # the department's rate ("support" matches "Support")
    assert steady.value == pytest.approx(steady.hours_returned * 60)
    assert steady.value_low == pytest.approx(steady.hours_returned_low * 60)
    assert steady.ai_cost == pytest.approx(300 * 92 / DAYS_PER_MONTH)
    c = view.company
    assert c.currency == "EUR" and c.value == pytest.approx(steady.value)
    assert c.ai_cost == pytest.approx((300 + 100) * 92 / DAYS_PER_MONTH)  # paused AI is still paid for
    assert c.net_value == pytest.approx(c.value - c.ai_cost)
    assert c.net_value_low == pytest.approx(c.value_low - c.ai_cost)
    assert c.roi == pytest.approx(c.net_value / c.ai_cost)


def test_default_period_is_the_last_complete_quarter_with_data():
    assert default_period(datetime(2026, 4, 6), datetime(2026, 11, 11))[0] == Period.quarter(2026, 3)
    assert default_period(datetime(2026, 4, 6), datetime(2026, 9, 30, 18))[0] == Period.quarter(2026, 3)
    period, reason = default_period(datetime(2026, 10, 2), datetime(2026, 11, 11))
    assert period == Period.quarter(2026, 4) and "to date" in reason
    assert default_period(None, None)[0] == Period()


def test_summary_json_has_money_at_risk_and_completeness(flat):
    summary = summarize(flat, Period.quarter(2026, 4), as_of=TODAY)
    assert summary["period"]["complete"] is False
    for scope in [summary["company"], *summary["departments"]]:
        for key in (
            "hours_at_risk",
            "hours_at_risk_low",
            "hours_at_risk_high",
            "value",
            "value_low",
            "value_high",
            "ai_cost",
            "net_value",
            "net_value_low",
            "net_value_high",
            "currency",
        ):
            assert key in scope, key
        assert scope["currency"] == "EUR"
    default = summarize(flat, as_of=TODAY)
    assert default["period"]["name"] == "2026 Q3" and default["period"]["complete"] is True


def test_the_view_is_built_once_per_revision(flat):
    from aiops.views import view_for

    first = view_for(flat, Period.quarter(2026, 3))
    assert view_for(flat, Period.quarter(2026, 3)) is first
    set_ai_costs(flat, Actor(name="admin@test", role="admin"), {"steady": 400.0})
    assert view_for(flat, Period.quarter(2026, 3)) is not first


def test_quarter_arithmetic():
    q1 = Period.parse_quarter("2026-Q1")
    assert q1 == Period(date(2026, 1, 1), date(2026, 4, 1)) and q1.name == "2026 Q1"
    assert q1.previous() == Period.quarter(2025, 4)
    assert Period(date(2026, 8, 1), date(2026, 9, 1)).previous() == Period(date(2026, 7, 1), date(2026, 8, 1))
    assert Period().name == "all time" and Period().previous() is None


def test_adoption_is_the_weekly_share_of_loops_done_with_ai_where_uploads_record_it(flat):
    admin = Actor(name="admin@test", role="admin")
    # Record ai_assisted on `steady`'s after loops: every other loop with AI (the first of each day
    # and the third), none recorded on `risky`.
    flat.write(
        admin,
        lambda tx: tx.execute(
            "UPDATE timing_samples SET ai_assisted = (hour(measured_at) <> 11) "
            "WHERE workflow_id = 'steady' AND phase = 'after'"
        ),
    )
    view = build_view(flat, Period.quarter(2026, 3), as_of=TODAY)
    frame = view.workflows.set_index("workflow_id")
    assert frame.loc["steady", "adoption"] == pytest.approx(2 / 3)
    assert pd.isna(frame.loc["risky", "adoption"])  # not recorded: no share, not 0%
    assert view.company.adoption == pytest.approx(2 / 3)
    weekly = view.adoption_weekly
    assert set(weekly.workflow_id) == {"steady"} and weekly.share.between(0.6, 0.7).all()


def _upload_csv(folder: Path, name: str, rows: list[tuple]) -> Path:
    path = folder / f"{name}.csv"
    columns = ["workflow_id", "phase", "measured_at", "duration_minutes", "loops", "rework_minutes"]
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
    return path


def test_freshness_is_each_departments_last_rows_and_uploads(flat: Store, tmp_path: Path) -> None:
    """Per department: the last upload not undone, the last timing, the last timing before go-live,
    the uploads, the workflows and those with a baseline; computed here from the raw tables, with a
    department whose workflow has no timing, one whose workflow has no baseline, two batches of the
    same workflows, one batch of two departments, and an undo."""
    admin = Actor(name="admin@test", role="admin")
    idle = answered_workflow(workflow_id="idle", name="Idle", department="Legal", owner="Ann")
    early = answered_workflow(workflow_id="early", name="Early", department="Finance", owner="Bo")
    flat.write(admin, lambda tx: save_workflows(tx, [idle, early], "test"))
    after_only = [("early", "after", "2026-10-05 10:00:00", 12.0, 1, 0.0)]
    assert import_timings(flat, admin, _upload_csv(tmp_path, "early", after_only)).accepted == 1
    again = [("early", "after", "2026-10-06 10:00:00", 11.0, 1, 0.0)]  # the same list of workflows
    assert import_timings(flat, admin, _upload_csv(tmp_path, "again", again)).accepted == 1
    both = [  # one batch, two departments
        ("early", "after", "2026-10-07 10:00:00", 10.0, 1, 0.0),
        ("steady", "after", "2026-10-07 11:00:00", 19.0, 1, 0.0),
    ]
    assert import_timings(flat, admin, _upload_csv(tmp_path, "both", both)).accepted == 2
    later = [("steady", "after", "2026-11-20 10:00:00", 20.0, 1, 0.0)]
    undone = import_timings(flat, admin, _upload_csv(tmp_path, "later", later)).batch_id
    build_view(flat, Period())  # figures kept before the undo: the next build reads every row again
    undo_batch(flat, admin, undone)

    rows = flat.query("SELECT workflow_id, phase, measured_at FROM committed_samples")
    batches = flat.query(
        "SELECT batch_id, uploaded_at, workflow_ids FROM upload_batches WHERE undone_at IS NULL"
    )
    expected = []
    for department, ids in sorted(_departments(flat).items()):
        mine = [r for r in rows if r[0] in ids]
        uploads = [b for b in batches if set(b[2]) & ids]
        expected.append(
            {
                "department": department,
                "last_upload": max((b[1] for b in uploads), default=None),
                "last_measured": max((r[2] for r in mine), default=None),
                "baseline_until": max((r[2] for r in mine if r[1] == "before"), default=None),
                "uploads": len(uploads),
                "workflows": len(ids),
                "with_baseline": len({r[0] for r in mine if r[1] == "before"}),
            }
        )
    got = build_view(flat, Period()).freshness
    assert got.to_dict("records") == [{k: _plain(v) for k, v in row.items()} for row in expected]
    assert [r["department"] for r in expected] == ["Finance", "Legal", "Support"]


def _departments(store: Store) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for workflow_id, department in store.query("SELECT workflow_id, department FROM workflows"):
        out.setdefault(department, set()).add(workflow_id)
    return out


def _plain(value: object) -> object:
    """A value as a frame's ``to_dict`` gives it: a timestamp as pandas', a missing one NaT."""
    return pd.NaT if value is None else pd.Timestamp(value) if isinstance(value, datetime) else value
