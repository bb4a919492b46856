"""A workflows sheet updates what it names (issue 24): a partial sheet keeps every other answer,
an empty cell clears a stored answer only when confirmed, and the result says what changed and
which statuses moved."""

from __future__ import annotations

import json

from aiops.ingest.workflows import change_lines, clearing_lines, import_workflows, read_workflows
from aiops.workflow_reads import get_workflow
from tests.conftest import DATA, cli_text

PARTIAL = "workflow_id,name,department,owner\nSUP-TRIAGE,Support ticket triage,Support,Sam Okafor\n"
EMPTIED = (
    "workflow_id,name,department,success_metric,failure_detection,reviewer\n"
    "sup-triage,Support ticket triage,Support,,,\n"
)


def test_a_partial_sheet_changes_only_its_columns_and_keeps_the_status(store, admin, tmp_path):
    import_workflows(store, admin, DATA / "workflows_valid.csv")
    before = get_workflow(store, "sup-triage")
    sheet = tmp_path / "partial.csv"
    sheet.write_text(PARTIAL)
    report = import_workflows(store, admin, sheet)
    after = get_workflow(store, "sup-triage")
    assert after.owner == "Sam Okafor"
    assert after.model_copy(update={"owner": before.owner}) == before  # nothing else moved
    assert report.saved.changed == {"sup-triage": ["owner"]}
    assert report.saved.status_moves() == {}
    assert change_lines(report) == ["updated sup-triage: owner"]


def test_empty_cells_are_listed_and_clear_only_when_confirmed(store, admin, tmp_path):
    import_workflows(store, admin, DATA / "workflows_valid.csv")
    sheet = tmp_path / "emptied.csv"
    sheet.write_text(EMPTIED)
    preview = read_workflows(store, sheet)
    assert [(c.workflow_id, c.field) for c in preview.clearings] == [
        ("sup-triage", "reviewer"),
        ("sup-triage", "success_metric"),
        ("sup-triage", "failure_detection"),
    ]
    assert clearing_lines(preview)[0].startswith("3 answers would be cleared by empty cells")
    kept = import_workflows(store, admin, sheet)
    assert kept.committed and kept.saved.unchanged == ["sup-triage"]
    assert get_workflow(store, "sup-triage").success_metric == "Minutes per ticket"

    confirmed = read_workflows(store, sheet, clear_empty=True)
    assert clearing_lines(confirmed)[0] == "3 answers will be cleared:"
    cleared = import_workflows(store, admin, sheet, clear_empty=True)
    after = get_workflow(store, "sup-triage")
    assert (after.success_metric, after.failure_detection, after.reviewer) == ("", "", "")
    assert cleared.saved.changed == {"sup-triage": ["reviewer", "success_metric", "failure_detection"]}
    assert cleared.saved.status_moves() == {"sup-triage": ("experiment", "paused")}
    assert "status of sup-triage: experiment → paused" in change_lines(cleared)


def test_cli_lists_the_clearings_and_clears_with_clear_empty(capsys, tmp_path):
    db = str(tmp_path / "cli.duckdb")
    cli_text(capsys, "workflows", "import", str(DATA / "workflows_valid.csv"), "--db", db)
    sheet = tmp_path / "emptied.csv"
    sheet.write_text(EMPTIED)
    code, out, _ = cli_text(capsys, "workflows", "import", str(sheet), "--db", db, "--dry-run")
    assert code == 0
    assert "3 answers would be cleared by empty cells" in out and "pass --clear-empty" in out
    assert "sup-triage: success_metric (stored 'Minutes per ticket')" in out
    assert "the other 14 fields have no column and keep their stored values" in out
    code, out, _ = cli_text(capsys, "workflows", "import", str(sheet), "--db", db, "--clear-empty", "--json")
    payload = json.loads(out)
    assert payload["updated"] == 1 and payload["status_moves"] == {"sup-triage": ["experiment", "paused"]}
    assert payload["changes"] == {"sup-triage": ["reviewer", "success_metric", "failure_detection"]}
