"""Sign-in and roles: what each role sees in the navigation and may do (checked in the domain)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aiops.auth import Actor
from aiops.errors import PermissionDenied
from aiops.ingest.timings import TimingMapping, import_timings
from aiops.inventory import save_workflow, sign_off
from aiops.store import Store
from aiops.workflow_reads import get_workflow
from tests.app.conftest import AUTH, DASHBOARD, shown
from tests.conftest import ROLES as NORTHWIND_ROLES

ROLES = (
    NORTHWIND_ROLES
    + """[[grants]]
group = "sales-leads"
role = "lead"
departments = ["Sales"]
"""
)


@pytest.fixture
def signed_in(demo_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    roles = tmp_path / "roles.toml"
    roles.write_text(ROLES)
    monkeypatch.setenv("AIOPS_DB", str(demo_path))
    monkeypatch.setenv("AIOPS_ROLES_FILE", str(roles))

    def app(email: str | None, groups: tuple[str, ...] = (), **claims: object) -> AppTest:
        at = AppTest.from_file(DASHBOARD, default_timeout=60)
        at.secrets["auth"] = AUTH
        at.user = {
            "is_logged_in": email is not None,
            "email": email or "",
            "email_verified": True,
            "groups": list(groups),
        } | claims
        return at.run()

    return app


def can_open(at: AppTest, page: str) -> bool:
    try:
        at.switch_page(f"app_pages/{page}.py").run()
    except ValueError:  # not in this role's navigation
        return False
    return not at.exception


def test_nobody_signed_in_sees_only_the_sign_in_page(signed_in):
    at = signed_in(None)
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.metric and not at.dataframe


def test_viewer_reads_every_measure_page_but_has_no_upload_or_register(signed_in):
    at = signed_in("someone@northwind.example")
    assert "Signed in as someone@northwind.example (viewer)" in [shown(c.value) for c in at.sidebar.caption]
    for page in ("overview", "departments", "workflows", "workflow_detail", "policy", "audit"):
        assert can_open(at, page), page
    assert not can_open(at, "upload")
    assert not can_open(at, "register")


def test_lead_sees_upload_only_for_their_department(signed_in):
    at = signed_in("dana.lee@northwind.example")
    assert can_open(at, "upload")
    content = b"started,ended\n2026-11-10 10:00:00,2026-11-10 10:07:30\n"
    at.file_uploader[0].upload("timings.csv", content, "text/csv").run()
    workflows = next(s for s in at.selectbox if s.label == "Workflow").options
    assert workflows and all(option.startswith("Support · ") for option in workflows)


def test_group_grant_makes_a_lead(signed_in):
    at = signed_in("ana@northwind.example", groups=("sales-leads",))
    assert "Signed in as ana@northwind.example (lead · Sales)" in [shown(c.value) for c in at.sidebar.caption]


def test_admin_sees_every_page(signed_in):
    at = signed_in("cto@northwind.example")
    for page in ("upload", "register", "policy", "audit"):
        assert can_open(at, page), page


def test_local_mode_shows_its_banner(app):
    at = app.run()
    assert any("Local mode" in w.value for w in at.sidebar.warning)


# -- the domain refuses, whatever the page shows ----------------------------------------------


def test_viewer_cannot_write_in_the_domain(demo):
    viewer = Actor(name="v@x", role="viewer")
    workflow = get_workflow(demo, "sup-ticket-triage")
    with pytest.raises(PermissionDenied):
        save_workflow(demo, viewer, workflow.model_copy(update={"owner": "Someone Else"}))
    with pytest.raises(PermissionDenied):
        sign_off(demo, viewer, "eng-config-deploys", "Viewer")
    assert get_workflow(demo, "sup-ticket-triage").owner == workflow.owner


def test_lead_cannot_upload_for_another_department_and_nothing_is_written(demo, tmp_path):
    lead = Actor(name="dana@x", role="lead", departments=("Support",))
    file = tmp_path / "sales.csv"
    file.write_text(
        "workflow_id,phase,measured_at,duration_minutes\nsales-follow-ups,after,2026-11-10 10:00:00,12\n"
    )
    before = demo.query_one("SELECT count(*) FROM timing_samples")
    with pytest.raises(PermissionDenied, match="may not upload timings for Sales"):
        import_timings(demo, lead, file)
    assert demo.query_one("SELECT count(*) FROM timing_samples") == before


def test_lead_can_upload_for_their_department(demo, tmp_path):
    lead = Actor(name="dana@x", role="lead", departments=("Support",))
    file = tmp_path / "support.csv"
    file.write_text("started,ended\n2026-11-10 10:00:00,2026-11-10 10:07:30\n")
    mapping = TimingMapping(
        workflow="sup-ticket-triage",
        start_column="started",
        end_column="ended",
        go_live=date(2026, 6, 1),
        phase_only="after",  # a week of loops after go-live: the file is one phase
    )
    report = import_timings(demo, lead, file, mapping)
    assert report.batch_id is not None
    actor = demo.query_one("SELECT actor FROM upload_batches WHERE batch_id = ?", [report.batch_id])
    assert actor == ("dana@x",)


def test_lead_cannot_register_a_workflow_in_another_department(demo):
    lead = Actor(name="dana@x", role="lead", departments=("Support",))
    workflow = get_workflow(demo, "sales-follow-ups").model_copy(update={"name": "Renamed"})
    with pytest.raises(PermissionDenied):
        save_workflow(demo, lead, workflow)


def test_store_write_path_is_the_only_way_in(demo):
    # Audit rows are never updated or deleted by the application: no code path issues such SQL.
    from tests.conftest import ROOT

    offending = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "aiops").rglob("*.py")
        if any(
            statement in path.read_text().upper()
            for statement in ("UPDATE AUDIT_LOG", "DELETE FROM AUDIT_LOG")
        )
    ]
    assert offending == []
    assert isinstance(demo, Store)


def test_sign_in_without_a_verified_email_is_refused_with_a_message(signed_in):
    """Issue 14, finding 2: an unverified ADMIN@ address is not the admin; a name is no identity."""
    for at in (
        signed_in("CTO@NORTHWIND.EXAMPLE", email_verified=False),
        signed_in("", name="cto@northwind.example"),
    ):
        assert not at.exception
        assert any("Sign-in refused" in shown(e.value) for e in at.error)
        assert [b.label for b in at.button] == ["Sign out"] and not at.metric and not at.dataframe


def test_verified_email_is_the_identity_whatever_its_case(signed_in):
    at = signed_in("CTO@Northwind.Example", name="Someone Else")
    assert "Signed in as cto@northwind.example (admin)" in [shown(c.value) for c in at.sidebar.caption]
