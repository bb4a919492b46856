"""The demo company covers what the product must show, deterministically."""

from __future__ import annotations

import pytest

from aiops.classifier import STATUSES, STOP_CONDITIONS
from aiops.demo import RECIPES, build_demo, demo_workflows
from aiops.estimates.codes import WARNINGS


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


@pytest.mark.slow
def test_demo_is_deterministic(demo, tmp_path):
    with build_demo(tmp_path / "again.duckdb") as again:
        query = (
            "SELECT workflow_id, phase, measured_at, duration_minutes, loops, rework_minutes "
            "FROM timing_samples ORDER BY ALL"
        )
        assert again.query(query) == demo.query(query)


def test_demo_is_data_every_workflow_and_recipe_is_imported(demo):
    workflows = demo_workflows()
    stored = {r[0] for r in demo.query("SELECT workflow_id FROM workflows")}
    assert stored == {w.workflow_id for w in workflows} and len(workflows) >= 40
    with_timings = {r[0] for r in demo.query("SELECT DISTINCT workflow_id FROM timing_samples")}
    assert with_timings == {r.workflow for r in RECIPES}
    # Every upload went through the normal import: each record accepted or rejected.
    assert demo.query("SELECT count(*) FROM upload_batches WHERE accepted + rejected <> rows_total") == [(0,)]
    audit = demo.query_one("SELECT count(*) FROM audit_log WHERE action = 'upload.committed'")[0]
    assert audit == demo.query_one("SELECT count(*) FROM upload_batches")[0]


def test_demo_has_the_data_each_design_needs(demo):
    # concurrent: after go-live, loops with and without the AI in the same weeks
    weeks = demo.query_one(
        "SELECT count(*) FROM (SELECT workflow_id, date_trunc('week', measured_at) FROM timing_samples "
        "WHERE phase = 'after' GROUP BY ALL HAVING bool_or(ai_assisted) AND NOT bool_and(ai_assisted))"
    )[0]
    assert weeks >= 8
    # comparison: a workflow names another, which has timings over the same weeks
    pairs = demo.query(
        "SELECT w.workflow_id, w.comparison_workflow_id FROM workflows w "
        "WHERE w.comparison_workflow_id IN (SELECT workflow_id FROM timing_samples)"
    )
    assert pairs == [("fin-invoice-coding", "fin-po-matching")]
    # before_after: a workflow with too few weeks for a trend (at most 3 either side of go-live)
    few = demo.query(
        "SELECT workflow_id FROM timing_samples GROUP BY ALL "
        "HAVING count(DISTINCT date_trunc('week', measured_at)) <= 6"
    )
    assert ("people-offer-letters",) in few


def test_demo_has_the_data_each_warning_needs(demo):
    # elapsed_time: a Zendesk export uploaded as calendar time (the preset's default)
    elapsed = demo.query("SELECT DISTINCT workflow_id FROM timing_samples WHERE time_kind = 'elapsed'")
    assert elapsed == [("sup-ticket-resolution",)]
    # censored_window: the same export's open tickets were rejected as not finished
    rejected = demo.query_one(
        "SELECT rejected FROM upload_batches WHERE file_name = 'sup-ticket-resolution_timings.csv'"
    )[0]
    assert rejected > 0
    # stale_baseline: months between the end of the baseline and the first after loop
    gap = demo.query_one(
        "SELECT date_diff('week', max(measured_at) FILTER (WHERE phase = 'before'), "
        "min(measured_at) FILTER (WHERE phase = 'after')) FROM timing_samples "
        "WHERE workflow_id = 'sales-rfp-answers'"
    )[0]
    assert gap >= 20
    # outliers: three 60-day loops in one baseline
    assert demo.query(
        "SELECT workflow_id, phase, count(*) FROM timing_samples WHERE duration_minutes >= 86400 "
        "AND time_kind = 'hands_on' GROUP BY ALL"
    ) == [("ops-change-writeups", "before", 3)]
    # mix_shift: the AI-assisted loops are mostly the routine segment, the manual ones are not
    shares = dict(
        demo.query(
            "SELECT ai_assisted, avg((segment = 'routine')::INT) FROM timing_samples "
            "WHERE workflow_id = 'sup-escalation-summaries' AND phase = 'after' GROUP BY ALL"
        )
    )
    assert shares[True] - shares[False] > 0.3
    # baseline_trend: the baseline falls by about a third before go-live (no AI effect)
    first, last = demo.query_one(
        "SELECT avg(duration_minutes) FILTER (WHERE measured_at < min_at + INTERVAL 3 WEEK), "
        "avg(duration_minutes) FILTER (WHERE measured_at >= go_live - INTERVAL 3 WEEK) FROM ("
        "  SELECT *, min(measured_at) OVER () AS min_at,"
        "         min(measured_at) FILTER (WHERE phase = 'after') OVER () AS go_live"
        "  FROM timing_samples WHERE workflow_id = 'prod-market-digests') "
        "WHERE phase = 'before'"
    )
    assert last < first * 0.85


def test_demo_one_phase_and_elapsed_uploads_are_recorded_per_batch(demo):
    assert demo.query(
        "SELECT file_name, time_kind, phase_only FROM upload_batches "
        "WHERE time_kind <> 'hands_on' OR phase_only IS NOT NULL ORDER BY 1"
    ) == [
        ("fin-po-matching_timings.csv", "hands_on", "before"),
        ("sup-ticket-resolution_timings.csv", "elapsed", None),
    ]


def test_demo_shows_every_design_and_warning_on_the_case_that_teaches_it(demo):
    from aiops.views import build_view

    metrics = build_view(demo).workflows.set_index("workflow_id")  # late_data needs the company's view
    cases = {
        "sup-escalation-summaries": ("concurrent", {"mix_shift"}),
        "fin-invoice-coding": ("comparison", set()),
        "prod-market-digests": ("trend_adjusted", {"baseline_trend"}),
        "people-offer-letters": ("before_after", set()),
        "sales-rfp-answers": (None, {"stale_baseline"}),
        "sup-ticket-resolution": (None, {"elapsed_time", "censored_window"}),
        "ops-change-writeups": (None, {"outliers"}),
        "sup-ticket-translation": ("trend_adjusted", {"selection"}),
        "ops-alert-enrichment": (None, {"fading"}),
        "people-policy-answers": (None, {"late_data"}),
    }
    for workflow_id, (design, warnings) in cases.items():
        row = metrics.loc[workflow_id]
        assert design is None or row.design == design, (workflow_id, row.design)
        assert warnings <= set(row.warnings), (workflow_id, row.warnings)
    assert {"concurrent", "comparison", "trend_adjusted", "before_after"} <= set(metrics.design)
    taught = set().union(*(warnings for _, warnings in cases.values()))
    # A comparison whose baseline diverges is taught in test_estimates, not shown to the board.
    assert taught == set(WARNINGS) - {"nonparallel_comparison"}
    # The falling baseline with no AI effect is not a saving once the trend is accounted for.
    assert metrics.loc["prod-market-digests", "evidence"] != "saving"
    # Elapsed time never enters hours returned.
    assert not metrics.loc["sup-ticket-resolution", "hours_returned"]
    # The AI that was given the easy loops saves nothing: never proven, never in the headline.
    assert not metrics.loc["sup-ticket-translation", "proven"]
    assert not metrics.loc["ops-alert-enrichment", "banked"]


# -- the demo as a test of itself: every recipe has a known truth ------------------------------------


def _truths(metrics) -> dict[str, tuple[float, float]]:
    """Each hands-on recipe's true saving (period average, current) in the metric its design
    reports: per AI-assisted loop for the concurrent design, per after loop otherwise. Elapsed and
    censored recipes are left out: their comparison keeps only loops that could finish."""
    from aiops.demo import recipe_truth

    weeks = load_weeks()
    out = {}
    for recipe in RECIPES:
        if recipe.workflow not in metrics.index or recipe.export != "canonical" or recipe.phase_only:
            continue
        row = metrics.loc[recipe.workflow]
        out[recipe.workflow] = recipe_truth(recipe, weeks, per_ai_loop=row.design == "concurrent")
    return out


def load_weeks() -> int:
    from aiops.policy import load_policy

    return load_policy().evidence.run_rate_weeks


def test_demo_intervals_cover_their_recipes_truth(demo):
    from aiops.metrics import workflow_metrics

    metrics = workflow_metrics(demo, demo.policy.evidence).set_index("workflow_id")
    truths = _truths(metrics)
    covered = []
    for workflow_id, (average, current) in truths.items():
        row = metrics.loc[workflow_id]
        for low, high, truth in (
            (row.saved_low, row.saved_high, average),
            (row.current_low, row.current_high, current),
        ):
            if low == low:  # an interval exists (NaN otherwise)
                covered.append((workflow_id, low <= truth <= high))
    share = sum(ok for _, ok in covered) / len(covered)
    assert len(covered) >= 40
    assert share >= 0.93, [w for w, ok in covered if not ok]


def test_no_advice_in_the_demo_pack_contradicts_a_recipe(demo):
    from aiops.metrics import workflow_metrics
    from aiops.report.board import build_board_pack

    pack = build_board_pack(demo, charts=False)
    truths = _truths(workflow_metrics(demo, demo.policy.evidence).set_index("workflow_id"))
    for w, _ in pack.decisions.pause:
        if w.workflow_id in truths and w.evidence == "slower":
            assert truths[w.workflow_id][1] < 0, (w.workflow_id, truths[w.workflow_id])
    for w in [*pack.decisions.fund, *(w for w, _ in pack.decisions.remove_checkpoint)]:
        if w.workflow_id in truths:
            assert truths[w.workflow_id][1] > 0, (w.workflow_id, truths[w.workflow_id])
    # The recorded incident is in the pack.
    assert [i.workflow for i in pack.incidents] == ["Refund decisions under $50"]


def test_advice_to_pause_for_a_slowdown_follows_the_policys_gate_designs(demo):
    """A slowdown measured by a design the policy does not trust to prove a saving does not earn
    advice to pause either (the pack reads the policy's gate designs, not the built-in ones)."""
    from dataclasses import replace

    from aiops.report.board import build_board_pack
    from aiops.views import build_view

    view = build_view(demo)
    slower = [w for w, _ in build_board_pack(view, charts=False).decisions.pause if w.evidence == "slower"]
    assert slower, "the demo teaches a slowdown worth pausing"
    designs = {w.design for w in slower}
    narrowed = replace(view, gate_designs=view.gate_designs - designs)
    still = [w for w, _ in build_board_pack(narrowed, charts=False).decisions.pause if w.evidence == "slower"]
    assert still == []
