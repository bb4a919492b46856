"""Register → Import a spreadsheet (issue 24): a partial sheet changes only its columns, empty
cells clear answers only once the box listing them is ticked, and the result says what changed."""

from __future__ import annotations

from aiops.store import Store
from aiops.workflow_reads import get_workflow
from tests.app.conftest import open_page, shown

SHEET = (
    "workflow_id,name,department,owner,success_metric\n"
    "SUP-Ticket-Triage,Support ticket triage,Support,Sam Okafor,\n"
)


def _import(at, demo_path):
    at.file_uploader(key="bulk_file").upload("partial.csv", SHEET.encode(), "text/csv").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_partial_sheet_keeps_every_answer_it_does_not_name(app, demo_path):
    at = _import(open_page(app, "register"), demo_path)
    assert any("the other 15 fields have no column and keep their stored" in shown(i.value) for i in at.info)
    assert any("1 answer will be cleared if you tick the box below" in w.value for w in at.warning)
    at.button(key="bulk_confirm").click().run()
    assert not at.exception
    assert any("0 created, 1 updated, 0 unchanged" in shown(s.value) for s in at.success)
    assert "updated sup-ticket-triage: owner" in at.code[0].value
    with Store(demo_path) as store:
        after = get_workflow(store, "sup-ticket-triage")
    assert after.owner == "Sam Okafor"
    assert after.success_metric == "Agent minutes per ticket triaged"  # the empty cell did not clear it
    assert after.failure_detection.startswith("Weekly sample audit")  # no column: kept


def test_ticking_the_box_clears_the_listed_answer_and_says_the_status_moved(app, demo_path):
    at = _import(open_page(app, "register"), demo_path)
    at.checkbox(key="bulk_clear").check().run()
    at.button(key="bulk_confirm").click().run()
    assert not at.exception
    result = at.code[0].value
    assert "1 answer cleared by empty cells:" in result
    assert "updated sup-ticket-triage: owner, success_metric" in result
    assert "status of sup-ticket-triage:" in result and "→ paused" in result
    with Store(demo_path) as store:
        assert get_workflow(store, "sup-ticket-triage").success_metric == ""
