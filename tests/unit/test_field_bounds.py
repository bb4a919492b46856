"""Stored text is bounded at the domain (issue 14, finding 6): names at 200 characters, text at
5,000; longer input is rejected naming the field and the limit, by every way in."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from aiops.errors import AiopsError
from aiops.ingest.workflows import read_workflows
from aiops.inventory import record_incident, sign_off
from aiops.workflow import MAX_NAME, MAX_TEXT, MAX_WORKFLOW_NAME, Workflow


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("name", MAX_WORKFLOW_NAME),
        ("department", MAX_NAME),
        ("owner", MAX_NAME),
        ("trigger", MAX_TEXT),
        ("failure_plan", MAX_TEXT),
        ("checkpoints", MAX_TEXT),
    ],
)
def test_a_field_longer_than_its_limit_is_rejected_with_field_and_limit(field, limit):
    base = {"workflow_id": "w", "name": "n", "department": "d"}
    fits = "x" * limit if field != "checkpoints" else ["x" * limit]
    assert Workflow(**base | {field: fits})
    too_long = "x" * (limit + 1) if field != "checkpoints" else ["x" * limit, "y"]
    with pytest.raises(ValidationError, match=rf"{field} is [\d,]+ characters long; the limit is {limit:,}"):
        Workflow(**base | {field: too_long})


def test_a_bulk_import_rejects_the_long_line_and_keeps_the_others(store, tmp_path):
    path = tmp_path / "workflows.csv"
    path.write_text(f"name,department\nshort,Support\n{'n' * 10_000},Support\n")
    report = read_workflows(store, path)
    assert report.accepted == 1 and len(report.rejects) == 1
    assert "longer than 400 characters (the limit for name)" in " ".join(map(str, report.rejects.iloc[0]))


def test_sign_off_and_incident_notes_are_bounded(demo, admin):
    workflow_id = demo.query_one("SELECT workflow_id FROM workflows LIMIT 1")[0]
    with pytest.raises(AiopsError, match="signed_off_by is 201 characters long; the limit is 200"):
        sign_off(demo, admin, workflow_id, "a" * 201)
    with pytest.raises(AiopsError, match="note is 5,001 characters long; the limit is 5,000"):
        record_incident(demo, admin, workflow_id, "a" * 5001)
