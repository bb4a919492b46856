"""The real exports in ../shared/realdata/timings/, imported as elapsed time, add nothing to hours
returned and show a cycle-time change instead (issue 11's done-when)."""

from __future__ import annotations

import math

from aiops.ingest.timings import TimingMapping, import_timings
from aiops.inventory import save_workflow
from aiops.metrics import workflow_metrics
from aiops.workflow import Workflow
from tests.conftest import realdata

EXPORTS = {
    "helpdesk-events": (
        "eventlog_helpdesk.csv",
        {"case_column": "CaseID", "timestamp_column": "CompleteTimestamp", "go_live": "2012-01-01"},
    ),
    "jira": (
        "jira_apache_avro-issues.csv",
        {"start_column": "created", "end_column": "resolutiondate", "go_live": "2016-01-01"},
    ),
    "nyc-311": (
        "nyc311_service_requests_2024-04-16.csv",
        {"start_column": "created_date", "end_column": "closed_date", "go_live": "2024-04-16"},
    ),
}


def test_real_exports_imported_as_elapsed_return_no_hours_and_show_cycle_time(store, admin):
    for workflow_id, (file_name, fields) in EXPORTS.items():
        save_workflow(store, admin, Workflow(workflow_id=workflow_id, name=workflow_id, department="Ops"))
        mapping = TimingMapping(workflow=workflow_id, time_kind="elapsed", **fields)
        report = import_timings(store, admin, realdata("timings", file_name), mapping)
        assert report.accepted > 0 and report.mapping.kind == "elapsed"
    assert store.query("SELECT DISTINCT time_kind FROM timing_samples") == [("elapsed",)]
    metrics = workflow_metrics(store, store.policy.evidence).set_index("workflow_id")
    for workflow_id in EXPORTS:
        row = metrics.loc[workflow_id]
        assert row.time_kind == "elapsed" and "elapsed_time" in row.warnings
        assert not row.hours_returned or math.isnan(row.hours_returned)
        if row.design != "none":
            assert math.isfinite(row.cycle_time_change_days)
    assert metrics.hours_returned.fillna(0).sum() == 0


def _github_issues(path, seed: int = 11) -> None:
    """An export shaped like a GitHub issues export (closed issues, open -> close): created over twelve
    years, closed days to years later (lognormal, a median of five days), exported in June 2024, so
    baseline issues created before the go-live often closed long after it."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2012-01-01") + pd.to_timedelta(rng.uniform(0, 12.4 * 365, 6000), unit="D")
    closed = created + pd.to_timedelta(rng.lognormal(np.log(5), 2.0, 6000), unit="D")
    export = pd.Timestamp("2024-06-01")
    issues = pd.DataFrame({"number": range(1, 6001), "created_at": created, "closed_at": closed})
    issues = issues[issues.closed_at < export]  # a closed-issues export: open ones are not in it
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    issues.assign(
        created_at=issues.created_at.dt.strftime(fmt), closed_at=issues.closed_at.dt.strftime(fmt)
    ).to_csv(path, index=False)


def test_a_github_issues_export_keeps_its_after_loops_once_stored_and_the_preview_says_what_is_set_aside(
    store, admin, tmp_path
):
    """Issue 22: the censoring step took the last close of a baseline issue as the start of the after
    window, so every after loop vanished once stored (preview 5,914 after, stored 0, design none)."""
    import re

    path = tmp_path / "github_issues.csv"
    _github_issues(path)
    save_workflow(store, admin, Workflow(workflow_id="gh-issues", name="Issues", department="Eng"))
    mapping = TimingMapping(
        workflow="gh-issues", time_kind="elapsed", start_column="created_at", end_column="closed_at",
        go_live="2019-01-01",
    )  # fmt: skip
    preview = import_timings(store, admin, path, mapping, dry_run=True)
    previewed = preview.summary.set_index("phase").samples
    assert previewed["after"] > 1000 and previewed["before"] > 1000
    assert import_timings(store, admin, path, mapping).batch_id is not None
    row = workflow_metrics(store, store.policy.evidence).set_index("workflow_id").loc["gh-issues"]
    assert row.design != "none" and row.samples_after > 0.5 * previewed["after"]
    assert "censored_window" in row.warnings
    # Every loop the estimate leaves out is announced at preview, per phase.
    (note,) = [n for n in preview.notes if n.startswith("Once stored, gh-issues:")]
    assert not any("change most" in w for w in preview.warnings)  # a censored export's weeks say nothing
    before, after = (
        int(n.replace(",", "")) for n in re.search(r"\(([\d,]+) before, ([\d,]+) after\)", note).groups()
    )
    assert previewed["before"] - before == row.samples_before
    assert previewed["after"] - after == row.samples_after
