"""My department (issue 24): a lead lands on their department; each workflow shows its status and
what blocks it (a stop condition, missing answers, stale data), and a blocker's button opens the
form that resolves it."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aiops.clock import utcnow
from aiops.store import Store
from tests.app.conftest import AUTH, DASHBOARD, open_page, shown
from tests.conftest import ROLES


def _dana_leading(
    departments: str, demo_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AppTest:
    """Dana Lee signed in, lead of ``departments`` (a TOML list) in the roles file."""
    roles = tmp_path / "roles.toml"
    roles.write_text(ROLES.replace('departments = ["Support"]', f"departments = {departments}"))
    monkeypatch.setenv("AIOPS_DB", str(demo_path))
    monkeypatch.setenv("AIOPS_ROLES_FILE", str(roles))
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "email": "dana.lee@northwind.example", "email_verified": True}
    return at.run()


@pytest.fixture
def dana(demo_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """Dana Lee, lead of Support and (here) of People, whose export is five weeks late, signed in."""
    return _dana_leading('["Support", "People"]', demo_path, tmp_path, monkeypatch)


def _row(at: AppTest, workflow_id: str) -> list[str]:
    """The markdown of the workflow's card: its heading and its blockers."""
    texts = [shown(m.value) for m in at.markdown]
    start = next(i for i, t in enumerate(texts) if f"id {workflow_id}" in t)
    end = next((i for i in range(start + 1, len(texts)) if " · id " in texts[i]), len(texts))
    return texts[start:end]


def test_a_lead_lands_on_their_department_with_blocked_stale_and_clean_workflows(dana, demo_path):
    assert not dana.exception, [e.value for e in dana.exception]
    assert dana.title[0].value == "My department"  # the lead's landing page
    blocked = _row(dana, "sup-chat-autoreply")
    assert any("Customer data without review" in t for t in blocked)
    with Store(demo_path) as store:  # People's late export: its last timing
        last = store.query_value(
            "SELECT max(measured_at) FROM timing_samples WHERE workflow_id = 'people-policy-answers'"
        ).date()
    weeks = (utcnow().date() - last).days // 7
    stale = _row(dana, "people-policy-answers")
    assert any(f"Last data {last:%Y-%m-%d}, {weeks} weeks ago" in t for t in stale), stale
    assert _row(dana, "sup-ticket-triage") == [
        "**Support ticket triage** · Support · id sup-ticket-triage",
        ":green-badge[proven]",
    ]  # no blocker below its status
    assert "Nothing blocks it." in [c.value for c in dana.caption]
    assert "Sales" not in " ".join(shown(m.value) for m in dana.markdown)  # only the lead's department
    uploads = dana.dataframe[0].value  # the one table: my uploads
    assert len(uploads) and all(
        any(w.startswith(("sup-", "people-")) for w in listed) for listed in uploads.workflow_ids
    )


def test_a_lead_whose_roles_file_spells_the_departments_otherwise_lands_on_them(
    demo_path, tmp_path, monkeypatch
):
    """Departments compare by ``identity_key`` (issue 23), not ``casefold()``: full width and spacing too."""
    at = _dana_leading('["ＳＵＰＰＯＲＴ", " people "]', demo_path, tmp_path, monkeypatch)
    assert not at.exception, [e.value for e in at.exception]
    assert _row(at, "sup-chat-autoreply") and _row(at, "people-policy-answers")
    assert "Sales" not in " ".join(shown(m.value) for m in at.markdown)


def test_a_blockers_button_opens_the_edit_form_filled_in(dana):
    dana.button(key="fix_sup-chat-autoreply_0").click().run()
    assert not dana.exception, [e.value for e in dana.exception]
    assert dana.title[0].value == "Register workflow"
    assert dana.text_input(key="reg_name").value == "Chat answers sent without review"
    assert any("Editing **Chat answers sent without review**" in shown(i.value) for i in dana.info)
    assert not dana.button(key="register").disabled


def test_a_stale_blocker_opens_an_upload_for_that_workflow(dana):
    button = next(b for b in dana.button if b.key and b.key.startswith("fix_people-policy-answers"))
    button.click().run()
    assert dana.title[0].value == "Upload timings"
    assert dana.query_params["workflow"] == "people-policy-answers"


def test_the_page_opens_for_a_local_admin(app):
    at = open_page(app, "my_department")
    assert at.selectbox(key="my_department").value


def test_a_sign_off_blocker_opens_the_sign_off_form_in_sight(app):
    at = open_page(app, "workflow_detail", id="eng-config-deploys", form="sign_off")
    in_tabs = [w.label for tab in at.tabs for w in tab.text_input]
    assert "Approver's name" not in in_tabs  # above the tabs, not in a closed one
    assert any(w.label == "Approver's name" for w in at.text_input)
