"""The upload flow through st.file_uploader: recognise, map, preview with rejects, confirm, undo."""

from __future__ import annotations

from datetime import date

import pytest

from aiops.store import Store
from tests.app.conftest import open_page, shown
from tests.conftest import realdata


def _by_label(widgets, label: str):
    return next(w for w in widgets if w.label.startswith(label))


def test_jira_export_goes_from_upload_to_a_committed_batch_and_back(app, demo_path):
    at = open_page(app.run(), "upload")
    content = realdata("timings", "jira_apache_avro-issues.csv").read_bytes()
    at.file_uploader[0].upload("jira_apache_avro-issues.csv", content, "text/csv").run()
    assert not at.exception
    assert any("Jira issues" in i.value for i in at.info)  # recognised, and says why
    _by_label(at.selectbox, "Workflow").set_value("eng-pr-review-prep")
    _by_label(at.date_input, "Go-live date").set_value(date(2016, 1, 1)).run()
    at.button(key="preview").click().run()
    assert not at.exception
    counts = {m.label: m.value for m in at.metric}
    assert counts == {"Records in the file": "2,166", "Accepted": "1,515", "Rejected": "651"}
    rejects = at.dataframe[2].value
    first = rejects.iloc[0].to_dict()
    assert first.pop("record").startswith("In Progress,Major,2018-04-21T15:44:36.749+0000,")  # its text
    assert first == {
        "line": 2,
        "column": "resolutiondate",
        "reason": "missing value (no end: not finished?)",
        "value": "NA",  # as the file writes it
        "key": "AVRO-2171",  # the row's own id column, named as in the file
    }
    at.button(key="confirm").click().run()
    assert not at.exception
    assert any("Committed batch" in s.value for s in at.success)
    with Store(demo_path) as store:
        batch_id, accepted = store.query_one(
            "SELECT batch_id, accepted FROM upload_batches ORDER BY batch_id DESC LIMIT 1"
        )
        assert accepted == 1515
        assert store.query_one("SELECT count(*) FROM timing_samples WHERE batch_id = ?", [batch_id]) == (
            1515,
        )
    # The same file again is refused as a duplicate in the preview, before Confirm.
    at.button(key="preview").click().run()
    assert any("already uploaded" in shown(e.value) for e in at.error)
    assert at.button(key="confirm").disabled
    assert at.selectbox(key="undo_pick").value is None  # nothing preselected
    at.selectbox(key="undo_pick").set_value(batch_id).run()
    said = shown(next(w.value for w in at.warning if "Undoing batch" in w.value))
    assert f"Undoing batch {batch_id} (jira_apache_avro-issues.csv) removes 1,515 timing samples" in said
    assert "measured 2009-" in said and "from PR review prep (eng-pr-review-prep)" in said
    assert at.button(key="undo_batch_go").disabled  # not until the box is ticked
    at.checkbox(key="undo_batch_sure").check().run()
    at.button(key="undo_batch_go").click().run()
    assert not at.exception
    with Store(demo_path) as store:
        assert store.query_one("SELECT count(*) FROM timing_samples WHERE batch_id = ?", [batch_id]) == (0,)
        assert store.query_one(
            "SELECT undone_at IS NOT NULL FROM upload_batches WHERE batch_id = ?", [batch_id]
        ) == (True,)


def test_the_form_sets_what_the_loops_measure_as_the_cli_options_do(app, demo_path):
    # --time-kind elapsed --phase after --ai-assisted-column ai --segment-column priority, by hand.
    rows = "".join(
        f"T{i},2024-05-0{i}T09:00:00Z,2024-05-0{i}T11:00:00Z,{'yes' if i % 2 else 'no'},P{i % 3}\n"
        for i in range(1, 7)
    )
    content = ("ticket,opened,solved,ai,priority\n" + rows).encode()
    at = open_page(app.run(), "upload")
    at.file_uploader[0].upload("tickets.csv", content, "text/csv").run()
    _by_label(at.selectbox, "Workflow").set_value("eng-pr-review-prep")
    _by_label(at.selectbox, "Start column").set_value("opened")
    _by_label(at.selectbox, "End column").set_value("solved")
    _by_label(at.selectbox, "Hands-on working time, or elapsed").set_value("elapsed")
    _by_label(at.selectbox, "The whole file is one phase").set_value("after")
    _by_label(at.selectbox, "Column saying per loop if the AI helped").set_value("ai")
    _by_label(at.selectbox, "Column with a segment per loop").set_value("priority").run()
    assert not at.exception
    at.button(key="preview").click().run()  # no go-live: the file is one phase
    assert {m.label: m.value for m in at.metric}["Accepted"] == "6"
    preview = at.dataframe[0].value  # elapsed: loops in days, as cycle time (issue 24, item 8)
    assert "mean_days" in preview and "mean_minutes" not in preview
    assert preview.mean_days.iloc[0] == pytest.approx(2 / 24)
    at.button(key="confirm").click().run()
    assert not at.exception
    with Store(demo_path) as store:
        batch_id, kind, phase_only = store.query_one(
            "SELECT batch_id, time_kind, phase_only FROM upload_batches ORDER BY batch_id DESC LIMIT 1"
        )
        assert (kind, phase_only) == ("elapsed", "after")
        assert store.query(
            "SELECT phase, time_kind, ai_assisted, segment FROM timing_samples WHERE batch_id = ? "
            "ORDER BY measured_at LIMIT 2",
            [batch_id],
        ) == [("after", "elapsed", True, "P1"), ("after", "elapsed", False, "P2")]


def test_a_deeply_nested_json_upload_is_refused_on_the_page_and_the_page_keeps_working(app, demo_path):
    """Issue 25: a 200 KB JSON nested 100,000 deep took the Streamlit server down for every user."""
    at = open_page(app.run(), "upload")
    deep = "[" + '{"a":' * 100_000 + "1" + "}" * 100_000 + "]"
    at.file_uploader[0].upload("deep.json", deep.encode(), "application/json").run()
    assert not at.exception
    assert any("nested more than 32 levels" in shown(e.value) for e in at.error)
    content = realdata("timings", "jira_apache_avro-issues.csv").read_bytes()
    at.file_uploader[0].upload("jira_apache_avro-issues.csv", content, "text/csv").run()
    assert not at.exception and any("Jira issues" in i.value for i in at.info)


def test_the_preview_writes_a_pending_batch_that_confirm_flips_and_removing_the_file_discards(app, demo_path):
    def stored() -> tuple[int, int]:
        with Store(demo_path) as store:
            return store.query_one(
                "SELECT (SELECT count(*) FROM timing_samples), (SELECT count(*) FROM committed_samples)"
            )

    at = open_page(app.run(), "upload")
    content = realdata("timings", "jira_apache_avro-issues.csv").read_bytes()
    before, _ = stored()
    for attempt in ("cancelled", "confirmed"):
        at.file_uploader[0].upload("jira_apache_avro-issues.csv", content, "text/csv").run()
        _by_label(at.selectbox, "Workflow").set_value("eng-pr-review-prep")
        _by_label(at.date_input, "Go-live date").set_value(date(2016, 1, 1)).run()
        at.button(key="preview").click().run()
        assert not at.exception
        assert stored() == (before + 1515, before)  # written at preview, read by nobody
        if attempt == "cancelled":
            at.file_uploader[0].clear().run()
            assert not at.exception
            assert stored() == (before, before)
    at.button(key="confirm").click().run()
    assert any("Committed batch" in s.value for s in at.success)
    assert stored() == (before + 1515, before + 1515)
