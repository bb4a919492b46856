"""Tool exports through the upload page: recognised by their headers, previewed with exact counts.

The files are the hand-written exports in tests/data/exports/ (see tests/unit/test_presets.py for
what each row is and how its minutes were worked out by hand).
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from aiops.store import Store
from tests.app.conftest import open_page, shown
from tests.conftest import DATA

EXPORTS = DATA / "exports"
SUPPORT_WF = "sup-ticket-triage"
ENG_WF = "eng-pr-review-prep"
GO_LIVE = date(2024, 3, 11)


def _by_label(widgets, label: str):
    return next(w for w in widgets if w.label.startswith(label))


def _upload(app, name: str, mime: str = "text/csv"):
    at = open_page(app.run(), "upload")
    at.file_uploader[0].upload(name, (EXPORTS / name).read_bytes(), mime).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _recognition(at) -> str:
    """The page's recognition message, without the markdown escapes the page adds."""
    return next(i.value for i in at.info if "columns." in i.value).replace("\\", "")


def _preview(at, workflow: str, go_live: date = GO_LIVE) -> dict[str, str]:
    _by_label(at.selectbox, "Workflow").set_value(workflow)
    _by_label(at.date_input, "Go-live date").set_value(go_live).run()
    assert not at.exception, [e.value for e in at.exception]
    at.button(key="preview").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return {m.label: m.value for m in at.metric}


def _phases(at) -> dict[str, int]:
    summary = at.dataframe[0].value
    return dict(zip(summary.phase, summary.samples.astype(int), strict=True))


def _rejects(at) -> list[tuple[int, str, str]]:
    """The preview's rejected records (line, column, reason); the page lists them third."""
    return [tuple(r) for r in at.dataframe[2].value[["line", "column", "reason"]].itertuples(index=False)]


def test_intercom_export_is_recognised_with_its_header_time_zone_and_previews_exact_counts(app):
    at = _upload(app, "intercom.csv")
    assert "Recognised as Intercom conversations report (intercom)" in _recognition(at)
    assert "'Conversation started at (America/New_York)'" in _recognition(at)
    counts = _preview(at, SUPPORT_WF)
    # The zone Intercom writes into the header pre-fills the form's time zone.
    assert _by_label(at.text_input, "Time zone of timestamps").value == "America/New_York"
    assert counts == {"Records in the file": "8", "Accepted": "6", "Rejected": "2"}
    # 215003 started 2024-03-10 22:30 New York time (02:30 UTC on the 11th): before a go-live on
    # the 11th, because go-live day begins at midnight in the file's zone, not in UTC.
    assert _phases(at) == {"before": 3, "after": 3}
    captions = shown(" ".join(c.value for c in at.caption))  # notes are escaped text
    assert "read as iso timestamps in America/New_York" in captions
    closed = "Conversation last closed at (America/New_York)"
    assert _rejects(at) == [  # the open and the snoozed conversation
        (5, closed, "missing value (no end: not finished?)"),
        (8, closed, "missing value (no end: not finished?)"),
    ]


def test_jira_cloud_export_with_repeated_sprint_headers_previews_exact_counts(app):
    at = _upload(app, "jira.csv")
    assert "Recognised as Jira Cloud issues (Export CSV) (jira)" in _recognition(at)
    counts = _preview(at, SUPPORT_WF)
    assert counts == {"Records in the file": "9", "Accepted": "7", "Rejected": "2"}
    assert _phases(at) == {"before": 2, "after": 5}
    assert _rejects(at) == [  # SUP-103 (in progress) and SUP-105 (to do) are unresolved
        (4, "Resolved", "missing value (no end: not finished?)"),
        (6, "Resolved", "missing value (no end: not finished?)"),
    ]


def test_github_prs_json_is_flattened_recognised_and_previews_exact_counts(app):
    at = _upload(app, "github-prs.json", "application/json")
    recognition = _recognition(at)
    assert (
        "Recognised as GitHub pull requests (gh pr list --json, or the REST API) (github-prs)" in recognition
    )
    assert "'number', 'createdAt', 'mergedAt'" in recognition
    counts = _preview(at, ENG_WF)
    # Merged: 812, 813, 817, 818, 819. Not merged: 814 (closed unmerged), 815 and 816 (open).
    assert counts == {"Records in the file": "8", "Accepted": "5", "Rejected": "3"}
    assert _phases(at) == {"before": 2, "after": 3}
    # Columns and reasons only: JSON line numbers have their own unit test (test_presets.py).
    assert [(column, reason) for _, column, reason in _rejects(at)] == [
        ("mergedAt", "missing value (no end: not finished?)"),
    ] * 3


def test_gitlab_merge_request_export_is_recognised_and_warns_it_cannot_measure_time_to_merge(app):
    at = _upload(app, "gitlab-mrs.csv")
    assert "Recognised as GitLab merge requests (Export as CSV) (gitlab-mrs)" in _recognition(at)
    warnings = [w.value for w in at.warning]
    assert any("cannot measure time to merge" in w for w in warnings), warnings
    assert not at.metric  # nothing was previewed


def test_salesforce_day_first_export_with_a_footer_previews_exact_counts(app):
    at = _upload(app, "salesforce-cases.csv")
    assert "Recognised as Salesforce cases report (salesforce-cases)" in _recognition(at)
    counts = _preview(at, SUPPORT_WF)
    assert counts == {"Records in the file": "10", "Accepted": "7", "Rejected": "3"}
    captions = shown(" ".join(c.value for c in at.caption))  # notes are escaped text
    assert "'Date/Time Opened' read as dmy timestamps" in captions
    assert _rejects(at)[-1] == (12, "Subject", "wrong field count (too few fields)")  # the footer


# Picking another of a preset's loops must re-fill the form with that loop's columns; otherwise the
# preview measures the first loop while the page names (and labels) the one picked.
LOOP_SWITCHES = {
    # file: (loop index, widget label -> value, counts, rejects: (line, column); JSON: column)
    "github-prs.json": (
        1,  # time-to-first-review: the earliest reviews[].submittedAt
        {"Loop time": "span", "Start column": "createdAt", "End column": "reviews.submittedAt"},
        {"Records in the file": "8", "Accepted": "6", "Rejected": "2"},
        ["reviews.submittedAt"] * 2,  # 815 (open, no review), 817 (merged by an admin, no review)
    ),
    "freshdesk.csv": (
        1,  # first-response: h:mm:ss text, business hours
        {"Loop time": "duration", "Duration column": "First response time (in hrs)", "Unit": "hms"},
        {"Records in the file": "9", "Accepted": "6", "Rejected": "3"},
        [
            (5, "First response time (in hrs)"),
            (8, "First response time (in hrs)"),
            (9, "First response time (in hrs)"),
        ],  # 7004, 7007, 7008: empty durations
    ),
}


@pytest.mark.parametrize("name", sorted(LOOP_SWITCHES))
def test_picking_another_loop_fills_the_form_with_that_loops_columns(app, name):
    index, widgets, counts, rejects = LOOP_SWITCHES[name]
    at = _upload(app, name, "application/json" if name.endswith(".json") else "text/csv")
    _by_label(at.selectbox, "Which loop to measure").select_index(index).run()
    assert not at.exception, [e.value for e in at.exception]
    form = {w.label: w.value for w in [*at.radio, *at.selectbox] if isinstance(w.value, str)}
    assert {label: form.get(label) for label in widgets} == widgets, form
    assert _preview(at, SUPPORT_WF) == counts
    found = [(line, column) for line, column, _ in _rejects(at)]
    if name.endswith(".json"):
        found = [column for _, column in found]
    assert found == rejects


def _batches(db) -> int:
    with Store(db) as store:
        return store.query_one("SELECT count(*) FROM upload_batches")[0]


def test_confirm_can_save_the_mapping_as_a_preset(app, demo_path):
    at = _upload(app, "servicenow.csv")
    assert _preview(at, "ops-access-provisioning") == {
        "Records in the file": "8",
        "Accepted": "5",
        "Rejected": "3",
    }
    at.text_input(key="preset_name").set_value("service desk incidents").run()
    at.button(key="confirm").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Committed batch" in s.value for s in at.success)
    with Store(demo_path) as store:
        (mapping,) = store.query_one(
            "SELECT mapping FROM mapping_presets WHERE name = 'service desk incidents'"
        )
    assert json.loads(mapping) == {
        "start_column": "opened_at",
        "end_column": "resolved_at",
        "unit": "minutes",
        "time_kind": "elapsed",  # what the loops measured (the built-in preset's), shown in the form
    }


def test_confirm_with_a_builtin_preset_name_writes_nothing_when_it_says_nothing_was_written(app, demo_path):
    at = _upload(app, "jira.csv")
    _preview(at, SUPPORT_WF)
    before = _batches(demo_path)
    at.text_input(key="preset_name").set_value("jira").run()
    at.button(key="confirm").click().run()
    assert not at.exception
    assert any("'jira' is a built-in preset" in shown(e.value) for e in at.error)
    # Nothing was written: no progress bar is left standing (a full bar looks like success).
    assert [p.proto.value for p in at.get("progress")] == []
    # The page says nothing was written, so no batch may have been committed.
    assert _batches(demo_path) == before, "batch committed although the page says nothing was written"
