"""Issue 12 on the pages: no preselected workflow or department, a near-duplicate department is
answered with "did you mean", pickers show each column's kind and samples."""

from __future__ import annotations

from tests.app.conftest import open_page, shown
from tests.conftest import realdata


def _by_label(widgets, label: str):
    return next(w for w in widgets if w.label.startswith(label))


def test_register_preselects_no_department_and_asks_did_you_mean(app):
    at = open_page(app.run(), "register")
    department = at.selectbox(key="reg_department")
    assert department.value is None
    department.set_value("New department…").run()
    at.text_input(key="reg_new_department").set_value("  support ").run()
    assert not at.exception
    assert any("Did you mean Support?" in shown(w.value) for w in at.warning)


def test_upload_preselects_no_workflow_and_pickers_show_kind_and_samples(app):
    at = open_page(app.run(), "upload")
    content = realdata("timings", "jira_apache_avro-issues.csv").read_bytes()
    at.file_uploader[0].upload("jira_apache_avro-issues.csv", content, "text/csv").run()
    assert not at.exception
    assert _by_label(at.selectbox, "Workflow").value is None
    assert at.button(key="confirm").disabled
    end = _by_label(at.selectbox, "End column")
    shown = end.format_func(end.value)
    assert shown.startswith("resolutiondate — timestamp: ")
    assert shown.count(",") == 2  # three sample values
