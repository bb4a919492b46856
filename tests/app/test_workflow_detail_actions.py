"""Workflow detail for every role and its write buttons (issue 14, findings 7 and 8)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aiops.errors import Conflict
from aiops.store import Store
from tests.app.conftest import DASHBOARD, open_page
from ui.context import run_action, run_write


@pytest.fixture
def viewer_app(demo_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    roles = tmp_path / "roles.toml"
    roles.write_text('default_role = "viewer"\n')
    monkeypatch.setenv("AIOPS_DB", str(demo_path))
    monkeypatch.setenv("AIOPS_ROLES_FILE", str(roles))
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "test-only-secret",
        "client_id": "saved-loops",
        "client_secret": "test-only",
        "server_metadata_url": "http://localhost:9/.well-known/openid-configuration",
    }
    at.user = {"is_logged_in": True, "email": "viewer@northwind.example", "email_verified": True}
    return at


def test_a_viewer_opens_every_workflow_and_every_tab_renders(viewer_app, demo_path):
    """Finding 7: a workflow without timings crashed for viewers (link to a page they lack)."""
    with Store(demo_path) as store:
        ids = [r[0] for r in store.query("SELECT workflow_id FROM workflows ORDER BY 1")]
        without = {
            r[0]
            for r in store.query(
                "SELECT workflow_id FROM workflows WHERE workflow_id NOT IN "
                "(SELECT DISTINCT workflow_id FROM timing_samples)"
            )
        }
    assert without, "the demo should hold a workflow without timings"
    at = open_page(viewer_app.run(), "workflow_detail")
    for workflow_id in ids:
        at.selectbox(key="workflow_pick").set_value(workflow_id).run()
        assert not at.exception, (workflow_id, [e.value for e in at.exception])
        subheaders = [s.value for s in at.subheader]
        assert "Checkpoints in place" in subheaders, workflow_id  # the tab after Timings rendered
        assert at.form, workflow_id  # ...and the sign-off/incident forms after it
        if workflow_id in without:
            assert any("No timings yet" in i.value for i in at.info)


def test_recording_an_incident_reruns_the_page(app):
    """Finding 8: a successful action returning None read as a failure, so the page never reran
    and kept offering to remove a checkpoint the incident had just blocked."""
    at = open_page(app.run(), "workflow_detail", id="sup-ticket-triage")
    assert any("Eligible to remove one checkpoint" in s.value for s in at.success)
    at.text_area[0].input("Misrouted a refund to the wrong queue")
    at.button(key="FormSubmitter:incident-Record incident").click().run()
    assert not at.exception
    assert not any("Eligible to remove one checkpoint" in s.value for s in at.success)
    assert any("No checkpoint may be removed now" in i.value for i in at.info)
    # What the write did is said by the run after the rerun, once.
    assert [t.value for t in at.toast] == ["Incident recorded."]
    assert not at.run().toast


def test_run_write_tells_a_failure_from_a_successful_none():
    def fail() -> None:
        raise Conflict("no")

    assert run_write(lambda: None) is True
    assert run_write(fail) is False
    assert run_action(lambda: 3) == 3 and run_action(fail) is None


def test_undo_on_the_workflow_page_says_what_goes_and_asks_first(app, demo_path):
    from aiops.store import Store
    from tests.app.conftest import open_page, shown

    with Store(demo_path) as store:
        (batch_id,) = store.query_one(
            "SELECT min(batch_id) FROM timing_samples WHERE workflow_id = 'sup-ticket-triage'"
        )
        (samples,) = store.query_one("SELECT count(*) FROM timing_samples WHERE batch_id = ?", [batch_id])
    at = open_page(app, "workflow_detail", id="sup-ticket-triage")
    at.button(key=f"undo_{batch_id}").click().run()
    said = shown(next(w.value for w in at.warning if "Undoing batch" in w.value))
    assert f"removes {samples:,} timing samples" in said
    assert "Support ticket triage (sup-ticket-triage)" in said
    at.checkbox(key=f"undo_{batch_id}_sure").check().run()  # the confirmation stays open across reruns
    at.button(key=f"undo_{batch_id}_go").click().run()
    assert not at.exception
    assert [t.value for t in at.toast] == [f"Batch {batch_id} undone."]
    assert not at.warning or not any("Undoing batch" in w.value for w in at.warning)  # closed
    with Store(demo_path) as store:
        assert store.query_one("SELECT count(*) FROM timing_samples WHERE batch_id = ?", [batch_id]) == (0,)
