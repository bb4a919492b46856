"""The register form edits a workflow without wiping what it does not show, and records the AI
monthly cost (issue 13's money reaches the form)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aiops.auth import Actor
from aiops.inventory import save_workflow
from aiops.store import Store
from aiops.workflow_reads import get_workflow
from tests.app.conftest import make_app, open_page, shown
from ui.text import md_escape

ADMIN = Actor(name="admin@test", role="admin")
WORKFLOW = "fin-invoice-coding"  # the demo's comparison design: compared with fin-po-matching


@pytest.fixture
def costed(demo_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The demo with the comparison workflow also signed off and costed."""
    with Store(demo_path) as store:
        stored = get_workflow(store, WORKFLOW)
        extra = {"ai_monthly_cost": 640.0, "signed_off_by": "Omar Haddad"}
        save_workflow(store, ADMIN, stored.model_copy(update=extra))
    return make_app(demo_path, monkeypatch)


def _stored(at: AppTest, demo_path: Path):
    assert not at.exception, [e.value for e in at.exception]
    with Store(demo_path) as store:
        return get_workflow(store, WORKFLOW)


def _register(at: AppTest) -> None:
    at.button(key="register").click().run()


def test_register_over_an_id_keeps_fields_the_form_does_not_show(costed, demo_path, monkeypatch):
    at = open_page(costed, "register")
    at.text_input(key="reg_id").set_value("FIN-Invoice-Coding").run()  # ids ignore case
    at.button(key="reg_fill").click().run()  # its edit form: the only way to update it
    at.text_input(key="reg_name").set_value("Invoice GL coding, reworded")
    at.number_input(key="reg_ai_cost").set_value(None).run()
    _register(at)
    after = _stored(at, demo_path)
    assert after.name == "Invoice GL coding, reworded"
    # The notice is shown on the page the write opened (as markdown: the name escaped).
    assert [t.value for t in at.toast] == [f"Registered {md_escape('Invoice GL coding, reworded')}."]
    assert after.comparison_workflow_id == "fin-po-matching"
    assert after.signed_off_by == "Omar Haddad"
    # The cost is a field of the form: left empty, it says "not recorded" (the user's choice).
    assert after.ai_monthly_cost is None


def test_a_case_variant_id_is_refused_with_the_workflow_it_names(costed, demo_path):
    at = open_page(costed, "register")
    at.text_input(key="reg_name").set_value("Triage twin B")
    at.selectbox(key="reg_department").set_value("Finance")
    at.text_input(key="reg_id").set_value(" FIN-Invoice-Coding ").run()
    refusal = shown(at.error[0].value)
    assert "is taken by **Invoice GL coding** (Finance, id fin-invoice-coding)" in refusal
    assert at.button(key="register").disabled
    assert at.button(key="reg_fill").label == "Edit Invoice GL coding"
    assert _stored(at, demo_path).name == "Invoice GL coding"


def test_registering_an_edit_opens_the_stored_workflow(costed, demo_path):
    at = open_page(costed, "register")
    at.text_input(key="reg_id").set_value("FIN-INVOICE-CODING").run()
    at.button(key="reg_fill").click().run()
    assert any("Editing **Invoice GL coding**" in shown(i.value) for i in at.info)
    at.text_input(key="reg_name").set_value("Invoice GL coding v2")
    at.text_input(key="reg_id").set_value("FIN-INVOICE-CODING").run()  # still its id, in capitals
    _register(at)
    assert not at.exception
    assert at.query_params["id"] == "fin-invoice-coding"
    assert at.header[0].value == "Invoice GL coding v2"


def test_fill_in_stored_values_then_change_the_ai_cost(costed, demo_path):
    at = open_page(costed, "register")
    at.text_input(key="reg_id").set_value(WORKFLOW).run()
    at.button(key="reg_fill").click().run()
    assert at.text_input(key="reg_name").value == "Invoice GL coding"
    assert at.selectbox(key="reg_department").value == "Finance"
    assert at.number_input(key="reg_ai_cost").value == 640.0
    assert "AI monthly cost (USD" in at.number_input(key="reg_ai_cost").label
    at.number_input(key="reg_ai_cost").set_value(725.5).run()
    _register(at)
    after = _stored(at, demo_path)
    assert after.ai_monthly_cost == 725.5
    assert after.comparison_workflow_id == "fin-po-matching"
    assert after.signed_off_by == "Omar Haddad"
    assert after.checkpoints == ["AP lead approves each coded invoice", "Monthly reconciliation"]
