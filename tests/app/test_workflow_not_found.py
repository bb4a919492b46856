"""Workflow detail by link (issue 24): an unknown id says "not found" with a search box, never
another workflow's page; an id in another case opens its workflow."""

from __future__ import annotations

from tests.app.conftest import open_page, shown


def test_an_unknown_id_says_not_found_and_offers_a_search(app):
    at = open_page(app, "workflow_detail", id="no-such-flow")
    assert "Workflow not found: no workflow has the id 'no-such-flow'" in shown(at.error[0].value)
    assert not at.header  # no workflow's page is shown instead
    at.text_input(key="workflow_search").set_value("invoice gl").run()
    at.button(key="found_fin-invoice-coding").click().run()
    assert not at.exception
    assert at.header[0].value == "Invoice GL coding"


def test_an_id_in_another_case_opens_its_workflow(app):
    at = open_page(app, "workflow_detail", id="FIN-Invoice-Coding")
    assert not at.error
    assert at.header[0].value == "Invoice GL coding"
