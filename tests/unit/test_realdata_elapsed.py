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
