"""The demo company covers what the product must show, deterministically."""

from __future__ import annotations

from aiops.classifier import STATUSES, STOP_CONDITIONS
from aiops.demo import build_demo


def test_demo_has_enough_workflows_departments_and_weeks(demo):
    workflows, departments = demo.query_one("SELECT count(*), count(DISTINCT department) FROM workflows")
    assert workflows >= 30 and departments >= 6
    weeks = demo.query_one(
        "SELECT date_diff('week', min(measured_at), max(measured_at)) FROM timing_samples"
    )[0]
    assert weeks >= 16


def test_demo_covers_every_risk_status_stop_condition_and_evidence(demo):
    rows = demo.query("SELECT risk, status, stop_conditions, evidence FROM classifications")
    assert {r[0] for r in rows} == {"low", "medium", "high"}
    assert {r[1] for r in rows} == set(STATUSES)
    assert {c for r in rows for c in r[2]} == set(STOP_CONDITIONS)
    assert any(len(r[2]) > 1 for r in rows), "a workflow with combined stop conditions"
    assert {"saving", "inconclusive", "slower", "insufficient"} <= {r[3] for r in rows}


def test_demo_has_aggregated_rows_and_rework(demo):
    aggregated, reworked = demo.query_one(
        "SELECT count(*) FILTER (WHERE loops > 1), count(*) FILTER (WHERE rework_minutes > 0) "
        "FROM timing_samples"
    )
    assert aggregated > 100 and reworked > 100


def test_demo_includes_the_seed_loops(demo):
    names = {r[0].lower() for r in demo.query("SELECT name FROM workflows")}
    for loop in (
        "support ticket triage",
        "pr review prep",
        "sales follow-up emails",
        "product-to-engineering handoff briefs",
        "operational issues caught before a person searches",
    ):
        assert loop in names


def test_demo_timings_are_heavy_tailed(demo):
    mean, median = demo.query_one(
        "SELECT avg(duration_minutes), median(duration_minutes) FROM timing_samples "
        "WHERE workflow_id = 'sup-reply-drafts' AND phase = 'before'"
    )
    assert mean > median * 1.1  # lognormal: the mean sits above the median


def test_demo_is_deterministic(demo, tmp_path):
    with build_demo(tmp_path / "again.duckdb") as again:
        query = (
            "SELECT workflow_id, phase, measured_at, duration_minutes, loops, rework_minutes "
            "FROM timing_samples ORDER BY ALL"
        )
        assert again.query(query) == demo.query(query)
