"""Saved-loops metrics: hand-computed means, Welch intervals against scipy, evidence labels, periods,
run rate, totals, the report summary, and a coverage simulation on heavy-tailed data.

Every expected number is computed here by hand or with numpy/scipy, never read back from the code.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from aiops.auth import Actor
from aiops.cli import main
from aiops.governance import reclassify
from aiops.ingest.timings import import_timings
from aiops.inventory import save_workflows
from aiops.metrics import Period, workflow_metrics
from aiops.store import Store
from aiops.views import View, build_view
from aiops.workflow import Workflow
from tests.conftest import ADMIN, module_store

# The read path on PostgreSQL: the tests that write their own data run on both stores, and one test
# checks the module-scoped data sets give the same metrics on PostgreSQL as on DuckDB.
both_stores = pytest.mark.both_stores

COLUMNS = ["workflow_id", "phase", "measured_at", "duration_minutes", "loops", "rework_minutes"]
BEFORE_START = datetime(2026, 1, 5, 9, 0)
AFTER_START = datetime(2026, 4, 6, 9, 0)


# -- helpers ------------------------------------------------------------------------------------------


def register(store: Store, admin: Actor, workflows: dict[str, str]) -> None:
    """Register workflows {id: department}."""
    items = [Workflow(workflow_id=i, name=f"Workflow {i}", department=d) for i, d in workflows.items()]
    store.write(admin, lambda tx: save_workflows(tx, items, "test"))


def rows(
    workflow_id: str,
    phase: str,
    minutes,
    loops=None,
    rework=None,
    start: datetime | None = None,
    step: timedelta = timedelta(hours=1),
) -> list[tuple]:
    """Canonical timing rows, one per value of ``minutes``, measured ``step`` apart."""
    start = start or (BEFORE_START if phase == "before" else AFTER_START)
    loops = [1] * len(minutes) if loops is None else loops
    rework = [0.0] * len(minutes) if rework is None else rework
    return [
        (workflow_id, phase, (start + i * step).isoformat(" "), float(m), int(n), float(r))
        for i, (m, n, r) in enumerate(zip(minutes, loops, rework, strict=True))
    ]


def upload(store: Store, admin: Actor, folder: Path, samples: list[tuple]) -> None:
    """Through the real upload path: a canonical CSV, checked and committed as one batch."""
    path = folder / f"timings_{len(list(folder.glob('timings_*.csv')))}.csv"
    pd.DataFrame(samples, columns=COLUMNS).to_csv(path, index=False)
    report = import_timings(store, admin, path)
    assert report.rejected == 0, report.rejects


def metrics(store: Store, period: Period = Period(), as_of: datetime | None = None) -> pd.DataFrame:
    return workflow_metrics(store, store.policy.evidence, period, as_of).set_index("workflow_id")


def ratio_variance(minutes: np.ndarray, loops: np.ndarray) -> float:
    """Variance of the ratio estimator sum(y)/sum(x): sum((y - R x)^2) / (n (n - 1) xbar^2)."""
    n, ratio = len(minutes), minutes.sum() / loops.sum()
    return float(((minutes - ratio * loops) ** 2).sum() / (n * (n - 1) * loops.mean() ** 2))


def welch(vb: float, nb: int, va: float, na: float) -> float:
    return (vb + va) ** 2 / (vb**2 / (nb - 1) + va**2 / (na - 1))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path


# -- means, rework, loops removed, hours returned -----------------------------------------------------

HAND_BEFORE = rows("ops-hand", "before", [30, 50, 40], loops=[1, 2, 1])  # 120 min / 4 loops = 30
HAND_AFTER = rows("ops-hand", "after", [10, 25, 8], loops=[1, 2, 1], rework=[2, 1, 0])  # 46 / 4 = 11.5


@pytest.fixture(scope="module")
def hand(tmp_path_factory) -> Iterator[pd.Series]:
    with module_store(tmp_path_factory) as (store, folder):
        register(store, ADMIN, {"ops-hand": "Operations"})
        upload(store, ADMIN, folder, HAND_BEFORE + HAND_AFTER)
        yield metrics(store).loc["ops-hand"]


def test_mean_per_loop_with_aggregated_rows_is_total_minutes_over_total_loops(hand):
    assert (hand.samples_before, hand.loops_before) == (3, 4)
    assert hand.mean_per_loop_before == pytest.approx(30.0)


def test_rework_minutes_count_against_the_after_phase(hand):
    assert hand.rework_minutes_after == pytest.approx(3.0)
    assert hand.mean_per_loop_after == pytest.approx(11.5)  # (10 + 2 + 25 + 1 + 8) / 4, not 43 / 4


def test_saved_per_loop_is_the_before_mean_minus_the_after_mean(hand):
    assert hand.saved_per_loop == pytest.approx(30.0 - 11.5)


def test_loops_removed_is_saving_times_after_loops_over_the_baseline_mean(hand):
    assert hand.loops_removed == pytest.approx(18.5 * 4 / 30.0)


def test_hours_returned_is_saving_times_after_loops_over_60(hand):
    assert hand.hours_returned == pytest.approx(18.5 * 4 / 60)


def test_variance_of_the_mean_is_the_ratio_estimator_cluster_variance(hand):
    before = ratio_variance(np.array([30.0, 50, 40]), np.array([1.0, 2, 1]))
    after = ratio_variance(np.array([12.0, 26, 8]), np.array([1.0, 2, 1]))
    assert hand.var_mean_before == pytest.approx(before, rel=1e-9)
    assert hand.var_mean_after == pytest.approx(after, rel=1e-9)


def test_welch_interval_matches_scipy_when_every_row_is_one_loop(store, admin, folder):
    rng = np.random.default_rng(11)
    before = np.round(rng.lognormal(3.5, 0.7, 30), 2)
    after = np.round(rng.lognormal(3.0, 0.9, 25), 2)
    register(store, admin, {"sup-welch": "Support"})
    upload(store, admin, folder, rows("sup-welch", "before", before) + rows("sup-welch", "after", after))
    m = metrics(store).loc["sup-welch"]
    test = stats.ttest_ind(before, after, equal_var=False)
    interval = test.confidence_interval(0.95)
    assert m.saved_per_loop == pytest.approx(before.mean() - after.mean(), rel=1e-9)
    assert m.var_mean_before == pytest.approx(before.var(ddof=1) / 30, rel=1e-9)
    assert m.saved_dof == pytest.approx(test.df, rel=1e-9)
    assert (m.saved_low, m.saved_high) == (
        pytest.approx(interval.low, rel=1e-9),
        pytest.approx(interval.high, rel=1e-9),
    )


@both_stores
def test_welch_interval_with_aggregated_rows_uses_the_ratio_variance(store, admin, folder):
    rng = np.random.default_rng(12)
    loops_b, loops_a = rng.integers(1, 9, 40), rng.integers(1, 9, 30)
    minutes_b = np.round([rng.lognormal(3.2, 0.8, k).sum() for k in loops_b], 2)
    minutes_a = np.round([rng.lognormal(2.9, 0.8, k).sum() for k in loops_a], 2)
    rework_a = np.round(rng.exponential(3.0, 30), 2)
    register(store, admin, {"fin-agg": "Finance"})
    upload(
        store,
        admin,
        folder,
        rows("fin-agg", "before", minutes_b, loops=loops_b)
        + rows("fin-agg", "after", minutes_a, loops=loops_a, rework=rework_a),
    )
    m = metrics(store).loc["fin-agg"]
    after_total = minutes_a + rework_a
    saved = minutes_b.sum() / loops_b.sum() - after_total.sum() / loops_a.sum()
    vb, va = ratio_variance(minutes_b, loops_b), ratio_variance(after_total, loops_a)
    half = stats.t.ppf(0.975, welch(vb, 40, va, 30)) * math.sqrt(vb + va)
    assert m.saved_per_loop == pytest.approx(saved, rel=1e-9)
    assert (m.saved_low, m.saved_high) == (
        pytest.approx(saved - half, rel=1e-9),
        pytest.approx(saved + half, rel=1e-9),
    )


# -- evidence labels ----------------------------------------------------------------------------------


def _two_phases(store, admin, folder, workflow_id, before, after) -> pd.Series:
    register(store, admin, {workflow_id: "Support"})
    upload(store, admin, folder, rows(workflow_id, "before", before) + rows(workflow_id, "after", after))
    return metrics(store).loc[workflow_id]


def test_evidence_is_saving_when_the_whole_interval_is_above_zero(store, admin, folder):
    m = _two_phases(store, admin, folder, "w", np.linspace(50, 70, 30), np.linspace(20, 40, 30))
    assert m.saved_low > 0 and m.evidence == "saving"


def test_evidence_is_slower_when_the_whole_interval_is_below_zero(store, admin, folder):
    m = _two_phases(store, admin, folder, "w", np.linspace(20, 40, 30), np.linspace(50, 70, 30))
    assert m.saved_high < 0 and m.evidence == "slower"


def test_evidence_is_inconclusive_when_the_interval_includes_zero(store, admin, folder):
    m = _two_phases(store, admin, folder, "w", np.linspace(10, 90, 30), np.linspace(12, 88, 30))
    assert m.saved_low < 0 < m.saved_high and m.evidence == "inconclusive"


def test_evidence_is_insufficient_with_one_sample_fewer_than_the_policy_minimum(store, admin, folder):
    few = store.policy.evidence.min_samples_per_phase - 1
    m = _two_phases(store, admin, folder, "w", np.linspace(50, 70, few), np.linspace(20, 40, 30))
    assert m.samples_before == few and m.evidence == "insufficient"


@both_stores
def test_evidence_is_judged_at_exactly_the_policy_minimum_of_samples(store, admin, folder):
    enough = store.policy.evidence.min_samples_per_phase
    m = _two_phases(store, admin, folder, "w", np.linspace(50, 70, enough), np.linspace(20, 40, enough))
    assert m.evidence == "saving"


@both_stores
def test_workflow_without_timings_is_insufficient(store, admin):
    register(store, admin, {"no-timings": "Support"})
    m = metrics(store).loc["no-timings"]
    assert (m.samples_before, m.samples_after, m.evidence) == (0, 0, "insufficient")


# -- the period and the run rate ----------------------------------------------------------------------


QUARTER_SAMPLES = (
    rows("sales-q", "before", [60, 40, 50], start=datetime(2026, 5, 4))
    + rows("sales-q", "after", [40, 30], loops=[4, 6], start=datetime(2026, 8, 3))
    + rows("sales-q", "after", [20, 10], loops=[3, 3], start=datetime(2026, 11, 2))
    + rows("sales-q", "after", [500], loops=[5], start=datetime(2027, 2, 1))
)


@pytest.fixture(scope="module")
def quarters(tmp_path_factory) -> Iterator[Store]:
    """Before in 2026-Q2; after: 10 loops in Q3, 6 loops in Q4, and 2027 samples that are much slower."""
    with module_store(tmp_path_factory) as (store, folder):
        register(store, ADMIN, {"sales-q": "Sales"})
        upload(store, ADMIN, folder, QUARTER_SAMPLES)
        yield store


def test_period_counts_hours_only_for_after_loops_measured_inside_it(quarters):
    m = metrics(quarters, Period.quarter(2026, 4)).loc["sales-q"]
    saved = 50.0 - (40 + 30 + 20 + 10) / 16  # the saving uses every sample before the period's end
    assert m.period_loops_after == 6
    assert m.saved_per_loop == pytest.approx(saved)
    assert m.hours_returned == pytest.approx(saved * 6 / 60)
    assert m.loops_removed == pytest.approx(saved * 6 / 50.0)


def test_period_leaves_samples_after_its_end_out_of_the_saving(quarters):
    within = metrics(quarters, Period.quarter(2026, 4)).loc["sales-q"]
    everything = metrics(quarters).loc["sales-q"]
    assert (within.samples_after, within.loops_after) == (4, 16)
    assert (everything.samples_after, everything.loops_after) == (5, 21)
    assert everything.mean_per_loop_after == pytest.approx((100 + 500) / 21)


def test_period_from_to_dates_is_half_open(quarters):
    m = metrics(quarters, Period(date(2026, 8, 3), date(2026, 11, 2))).loc["sales-q"]
    assert m.period_loops_after == 10  # 2026-08-03 09:00 and 10:00 in, 2026-11-02 09:00 out


def _run_rate_rows(workflow_id: str, window_end: datetime, weeks: int) -> list[tuple]:
    """A baseline in June; after go-live, 12 loops in the ``weeks`` weeks before ``window_end`` (a
    Monday; the data ends the Sunday before it) and 4 loops just before that window."""
    recent = window_end - timedelta(weeks=weeks)
    return (
        rows(workflow_id, "before", [60, 60, 60], start=datetime(2026, 6, 1))
        + rows(workflow_id, "after", [12], loops=[4], start=recent - timedelta(days=1))
        + rows(workflow_id, "after", [21, 9], loops=[3, 5], start=recent + timedelta(days=1))
        + rows(workflow_id, "after", [6], loops=[2], start=window_end - timedelta(days=1))
    )


@both_stores
def test_run_rate_is_the_current_saving_over_each_workflows_last_complete_weeks(store, admin, folder):
    weeks = store.policy.evidence.run_rate_weeks
    as_of = datetime(2026, 11, 30)  # a Monday: the view's run-rate window ends here
    late_end = as_of - timedelta(weeks=5)  # a late export: its data ends five weeks earlier
    register(store, admin, {"rr": "Support", "late": "Support"})
    upload(store, admin, folder, _run_rate_rows("rr", as_of, weeks) + _run_rate_rows("late", late_end, weeks))
    m = metrics(store, as_of=as_of)
    for workflow_id in ("rr", "late"):
        row = m.loc[workflow_id]
        # The current saving uses the window's after loops only: (21 + 9 + 6) minutes over 10 loops.
        current = 60.0 - 36 / 10
        assert row.recent_loops_after == 10
        assert row.current_per_loop == pytest.approx(current)
        assert row.saved_per_loop == pytest.approx(60.0 - 48 / 14)
        assert row.hours_per_week == pytest.approx(current * 10 / 60 / weeks)


# -- department and company totals --------------------------------------------------------------------


COMPANY = {"sup-a": "Support", "sup-b": "Support", "sup-few": "Support", "sal-a": "Sales"}


def company_samples() -> list[tuple]:
    rng = np.random.default_rng(21)
    samples = []
    for wid, before, after, n_before in (
        ("sup-a", 40, 25, 40),
        ("sup-b", 30, 29, 40),
        ("sup-few", 50, 10, 5),
        ("sal-a", 90, 60, 35),
    ):
        samples += rows(wid, "before", np.round(rng.lognormal(math.log(before), 0.5, n_before), 2))
        samples += rows(wid, "after", np.round(rng.lognormal(math.log(after), 0.5, 30), 2))
    return samples


class Company(NamedTuple):
    view: View
    metrics: pd.DataFrame  # the metrics frame (as_of now), for the PostgreSQL comparison


@pytest.fixture(scope="module")
def company(tmp_path_factory) -> Iterator[Company]:
    """Support: a saving, an inconclusive one and an insufficient one; Sales: a saving. None is
    proven (before/after designs) and all are paused (open stop conditions): the totals' hours at
    risk hold those with evidence, with one interval."""
    with module_store(tmp_path_factory) as (store, folder):
        register(store, ADMIN, COMPANY)
        upload(store, ADMIN, folder, company_samples())
        yield Company(build_view(store, Period()), metrics(store).reset_index())


def test_workflow_labels_in_the_totals_fixture_are_as_designed(company):
    frame = company.view.workflows
    labels = dict(zip(frame.workflow_id, frame.evidence, strict=True))
    assert labels == {
        "sup-a": "saving",
        "sup-b": "inconclusive",
        "sup-few": "insufficient",
        "sal-a": "saving",
    }
    assert not frame.proven.any() and frame.at_risk.sum() == 3


def test_department_total_is_the_sum_of_its_workflows_with_evidence(company):
    support = company.view.department("Support")
    frame = company.view.workflows
    usable = frame[frame.workflow_id.isin(["sup-a", "sup-b"])]
    assert support.hours_at_risk == pytest.approx(usable.hours_returned.sum(), rel=1e-12)


def test_total_interval_contains_the_total_and_is_wider_than_zero(company):
    total = company.view.company
    assert total.hours_at_risk_low < total.hours_at_risk < total.hours_at_risk_high


def test_total_interval_adds_variances_with_satterthwaite_degrees_of_freedom(company):
    frame = company.view.workflows
    usable = frame[frame.evidence != "insufficient"]
    var_total = usable.hours_var.sum()
    dof = var_total**2 / (usable.hours_var**2 / usable.saved_dof).sum()
    half = stats.t.ppf(0.975, dof) * math.sqrt(var_total)
    total = company.view.company
    assert total.hours_at_risk_low == pytest.approx(usable.hours_returned.sum() - half, rel=1e-9)
    assert total.hours_at_risk_high == pytest.approx(usable.hours_returned.sum() + half, rel=1e-9)


def test_company_total_equals_the_sum_of_the_department_totals(company):
    departments = company.view.departments
    summed = sum(d.hours_at_risk for d in departments)
    assert company.view.company.hours_at_risk == pytest.approx(summed, rel=1e-12)
    assert [d.scope for d in departments] == ["Sales", "Support"]


def test_insufficient_workflows_are_counted_but_not_summed(company):
    frame = company.view.workflows
    few = frame.set_index("workflow_id").loc["sup-few"]
    total = company.view.company
    assert few.hours_returned > 0  # it would change the total if it were summed
    assert (total.workflows, total.workflows_with_evidence, total.evidence_insufficient) == (4, 3, 1)
    summed = frame[frame.workflow_id != "sup-few"].hours_returned.sum()
    assert total.hours_at_risk == pytest.approx(summed, rel=1e-12)
    assert total.samples_before == 40 + 40 + 5 + 35  # samples still count every workflow


def test_postgres_gives_the_same_metrics_as_duckdb_for_every_data_set(
    pg_database, tmp_path, company, quarters
):
    """The module's data sets (read on DuckDB by the tests above) read the same on PostgreSQL."""
    with Store(pg_database) as pg:
        register(pg, ADMIN, {**COMPANY, "sales-q": "Sales", "ops-hand": "Operations"})
        upload(pg, ADMIN, tmp_path, company_samples() + QUARTER_SAMPLES + HAND_BEFORE + HAND_AFTER)
        on_pg = metrics(pg).reset_index()
        on_pg_q4 = metrics(pg, Period.quarter(2026, 4)).loc[["sales-q"]]
    expected = company.metrics.set_index("workflow_id").sort_index()
    pd.testing.assert_frame_equal(on_pg.set_index("workflow_id").loc[expected.index], expected, rtol=1e-9)
    q4 = metrics(quarters, Period.quarter(2026, 4)).loc[["sales-q"]]
    pd.testing.assert_frame_equal(on_pg_q4, q4, rtol=1e-9)
    assert on_pg.set_index("workflow_id").loc["ops-hand"].mean_per_loop_after == pytest.approx(11.5)


# -- the report summary, through the CLI --------------------------------------------------------------


def _summary(capsys, demo_path: Path, *extra: str) -> dict:
    code = main(["report", "summary", "--db", str(demo_path), "--json", *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_metrics_for_some_workflows_equal_their_rows_in_the_whole_company(demo):
    """Reclassification after an upload estimates only the uploaded workflows: their rows must be
    what the whole-company run gives, the comparison design (which reads its twin) included."""
    rules, as_of = demo.policy.evidence, datetime(2026, 11, 27)
    everything = workflow_metrics(demo, rules, as_of=as_of).set_index("workflow_id")
    scope = ["fin-invoice-coding", "sup-ticket-triage"]
    some = workflow_metrics(demo, rules, as_of=as_of, workflow_ids=scope).set_index("workflow_id")
    assert sorted(some.index) == sorted(scope)
    assert some.loc["fin-invoice-coding", "design"] == "comparison"
    pd.testing.assert_frame_equal(some.loc[scope], everything.loc[scope], check_like=True)


def test_reclassifying_a_comparison_workflow_refreshes_the_workflows_compared_with_it(demo):
    fresh = demo.write(ADMIN, lambda tx: reclassify(tx, ["fin-po-matching"]))
    assert sorted(c.workflow_id for c in fresh) == ["fin-invoice-coding", "fin-po-matching"]


def test_cli_report_summary_json_has_period_company_departments_and_workflows(capsys, demo_path):
    summary = _summary(capsys, demo_path)
    company = summary["company"]
    for key in ("hours_returned", "loops_removed"):
        assert company[f"{key}_low"] <= company[key] <= company[f"{key}_high"]
    assert {"samples_before", "samples_after"} <= set(company)
    assert {f"evidence_{label}" for label in ("saving", "slower", "inconclusive", "insufficient")} <= set(
        company
    )
    assert sum(company[f"evidence_{k}"] for k in ("saving", "slower", "inconclusive", "insufficient")) == len(
        summary["workflows"]
    )
    # The default period, as on the dashboard and in the pack: the last complete quarter with data.
    assert summary["period"]["label"] == "2026-07-01 to 2026-09-30" and summary["period"]["complete"]
    assert company["hours_returned"] == pytest.approx(
        sum(d["hours_returned"] for d in summary["departments"])
    )
    with Store(demo_path) as store:
        departments = {r[0] for r in store.query("SELECT DISTINCT department FROM workflows")}
    assert {d["department"] for d in summary["departments"]} == departments


def test_cli_report_summary_period_restricts_hours_to_that_quarter(capsys, demo_path):
    summary = _summary(capsys, demo_path, "--period", "2026Q4")
    with Store(demo_path) as store:
        q4_loops = dict(
            store.query(
                "SELECT workflow_id, sum(loops) FROM timing_samples WHERE phase = 'after' "
                "AND measured_at >= '2026-10-01' AND measured_at < '2027-01-01' GROUP BY 1"
            )
        )
        q4_ai_loops = dict(  # the concurrent design's saving is per AI-assisted loop
            store.query(
                "SELECT workflow_id, sum(loops) FROM timing_samples WHERE phase = 'after' AND ai_assisted "
                "AND measured_at >= '2026-10-01' AND measured_at < '2027-01-01' GROUP BY 1"
            )
        )
    assert summary["period"]["label"] == "2026-10-01 to 2026-12-31"
    expected_total = expected_unproven = 0.0
    for w in summary["workflows"]:
        assert w["period_loops_after"] == q4_loops.get(w["workflow_id"], 0), w["workflow_id"]
        if "elapsed_time" in w["warnings"]:  # cycle time, never hours
            assert w["hours_returned"] == 0, w["workflow_id"]
        elif w["evidence"] != "insufficient":
            concurrent = w["design"] == "concurrent"
            loops = q4_ai_loops.get(w["workflow_id"], 0) if concurrent else w["period_loops_after"]
            assert w["hours_returned"] == pytest.approx(w["saved_per_loop"] * loops / 60), w["workflow_id"]
            # The headline banks proven savings of workflows with no open stop condition.
            if not w["stop_conditions"] and w["proven"]:
                expected_total += w["hours_returned"]
                assert w["banked"], w["workflow_id"]
            elif not w["stop_conditions"]:
                expected_unproven += w["hours_returned"]
                assert w["unproven"] and not w["banked"], w["workflow_id"]
    assert summary["company"]["hours_returned"] == pytest.approx(expected_total)
    assert summary["company"]["hours_unproven"] == pytest.approx(expected_unproven)
    assert summary["headline_rule"].startswith("The headline counts only proven hours")
    all_time = _summary(capsys, demo_path, "--period", "all")
    assert all_time["period"]["label"] == "all time"
    assert 0 < summary["company"]["hours_returned"] < all_time["company"]["hours_returned"]


# -- simulation: coverage of the 95% interval on heavy-tailed data ------------------------------------

# True coverage of a Welch interval for these settings is about 0.94 (lognormal skew at n = 20 costs
# a point), so the count of datasets must be large enough that 0.93-0.97 is not a coin toss: with
# 4,000 datasets the standard error of the coverage is 0.0036.
SIM_DATASETS = 4000
SIM_LABELS = 150


def _lognormal_phase(rng, ids, phase, mu, sigma, n, aggregated) -> pd.DataFrame:
    """Rows of one phase for every dataset at once: ``n[i]`` rows of lognormal(mu[i], sigma[i])
    minutes per loop, each row one loop or (aggregated) the total of 1-8 loops."""
    row_dataset = np.repeat(np.arange(len(ids)), n)
    loops = rng.integers(1, 9, len(row_dataset)) if aggregated else np.ones(len(row_dataset), dtype=np.int64)
    draw_dataset = np.repeat(row_dataset, loops)
    draws = rng.lognormal(mu[draw_dataset], sigma[draw_dataset])
    minutes = np.add.reduceat(draws, np.concatenate([[0], np.cumsum(loops)[:-1]]))
    start = BEFORE_START if phase == "before" else AFTER_START
    return pd.DataFrame(
        {
            "workflow_id": ids[row_dataset],
            "phase": phase,
            "measured_at": start + pd.to_timedelta(np.arange(len(row_dataset)) % 100_000, unit="s"),
            "duration_minutes": minutes,
            "loops": loops,
            "rework_minutes": 0.0,
        }
    )


def _simulated_workflows(rng, prefix, count, aggregated, mean_ratio, n_range) -> tuple[list, dict]:
    """``count`` datasets: lognormal before/after with sigma in 0.5-1.0 and a known true saving,
    the difference of the lognormal means exp(mu + sigma^2 / 2)."""
    ids = np.array([f"{prefix}-{i:04d}" for i in range(count)])
    sigma_b, sigma_a = rng.uniform(0.5, 1.0, count), rng.uniform(0.5, 1.0, count)
    mu_b = rng.uniform(2.0, 4.5, count)
    ratio = np.full(count, mean_ratio) if mean_ratio is not None else rng.uniform(0.4, 1.2, count)
    mu_a = mu_b + sigma_b**2 / 2 + np.log(ratio) - sigma_a**2 / 2
    true_saving = np.exp(mu_b + sigma_b**2 / 2) - np.exp(mu_a + sigma_a**2 / 2)
    n_b, n_a = rng.integers(n_range[0], n_range[1] + 1, (2, count))
    frames = [
        _lognormal_phase(rng, ids, "before", mu_b, sigma_b, n_b, aggregated),
        _lognormal_phase(rng, ids, "after", mu_a, sigma_a, n_a, aggregated),
    ]
    return frames, dict(zip(ids.tolist(), true_saving.tolist(), strict=True))


@pytest.fixture(scope="module")
def simulation(tmp_path_factory) -> tuple[pd.DataFrame, dict[str, dict[str, float]], int]:
    """One store, many seeded datasets as workflows, one call to workflow_metrics."""
    rng = np.random.default_rng(20261116)
    groups = {
        "single": dict(count=SIM_DATASETS, aggregated=False, mean_ratio=None, n_range=(20, 200)),
        "aggregated": dict(count=SIM_DATASETS, aggregated=True, mean_ratio=None, n_range=(20, 200)),
        "saving": dict(count=SIM_LABELS, aggregated=False, mean_ratio=0.4, n_range=(150, 300)),
        "slower": dict(count=SIM_LABELS, aggregated=False, mean_ratio=2.5, n_range=(150, 300)),
        "same": dict(count=SIM_DATASETS, aggregated=False, mean_ratio=1.0, n_range=(20, 200)),
    }
    frames, truths = [], {}
    for prefix, spec in groups.items():
        group_frames, truths[prefix] = _simulated_workflows(rng, prefix, **spec)
        frames += group_frames
    store_path = tmp_path_factory.mktemp("simulation") / "sim.duckdb"
    admin = Actor(name="sim@test", role="admin")
    with Store(store_path) as store:
        few = store.policy.evidence.min_samples_per_phase - 1
        tiny_frames, truths["tiny"] = _simulated_workflows(rng, "tiny", SIM_LABELS, False, 0.4, (2, few))
        samples = pd.concat(frames + tiny_frames, ignore_index=True)
        ids = pd.DataFrame({"workflow_id": samples.workflow_id.unique()})

        def load(tx):
            tx.cursor.register("sim_ids", ids)
            tx.cursor.register("sim_samples", samples)
            tx.execute(
                "INSERT INTO workflows (workflow_id, name, department, created_at, updated_at) "
                "SELECT workflow_id, workflow_id, 'Simulation', ?, ? FROM sim_ids",
                [tx.now, tx.now],
            )
            tx.execute(
                "INSERT INTO timing_samples (batch_id, workflow_id, phase, measured_at, duration_minutes, "
                "loops, rework_minutes) "
                "SELECT 1, workflow_id, phase, measured_at, duration_minutes, "
                "loops, rework_minutes FROM sim_samples"
            )

        store.write(admin, load)
        result = metrics(store)
    return result, truths, few


def _coverage(result: pd.DataFrame, truth: dict[str, float]) -> float:
    m = result.loc[list(truth)]
    true = pd.Series(truth)
    return float(((m.saved_low <= true) & (true <= m.saved_high)).mean())


@pytest.mark.slow
def test_simulation_interval_covers_the_true_saving_93_to_97_percent_with_one_loop_per_row(simulation):
    result, truths, _ = simulation
    assert 0.93 <= _coverage(result, truths["single"]) <= 0.97


@pytest.mark.slow
def test_simulation_interval_covers_the_true_saving_93_to_97_percent_with_aggregated_rows(simulation):
    result, truths, _ = simulation
    aggregated = result.loc[list(truths["aggregated"])]
    assert (aggregated.loops_before > aggregated.samples_before).all()
    assert 0.93 <= _coverage(result, truths["aggregated"]) <= 0.97


@pytest.mark.slow
def test_simulation_clear_saving_is_labelled_saving(simulation):
    result, truths, _ = simulation
    assert set(result.loc[list(truths["saving"])].evidence) == {"saving"}


@pytest.mark.slow
def test_simulation_clear_slowdown_is_labelled_slower(simulation):
    result, truths, _ = simulation
    assert set(result.loc[list(truths["slower"])].evidence) == {"slower"}


@pytest.mark.slow
def test_simulation_no_difference_is_inconclusive_93_to_97_percent_of_the_time(simulation):
    result, truths, _ = simulation
    labels = result.loc[list(truths["same"])].evidence
    assert set(labels) <= {"inconclusive", "saving", "slower"}
    assert 0.93 <= float((labels == "inconclusive").mean()) <= 0.97


@pytest.mark.slow
def test_simulation_tiny_samples_are_labelled_insufficient_even_with_a_clear_saving(simulation):
    result, truths, few = simulation
    tiny = result.loc[list(truths["tiny"])]
    assert tiny[["samples_before", "samples_after"]].max().max() == few
    assert set(tiny.evidence) == {"insufficient"}
