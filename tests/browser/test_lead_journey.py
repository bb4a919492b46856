"""Issue 24 in a real browser: a partial workflows sheet keeps the answers it does not name, undo
says what it removes and asks first, and My department leads from a blocker to its form
(screenshots in build/screenshots)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, settle, wait_for_text

PARTIAL = "workflow_id,name,department,owner\nSUP-TICKET-TRIAGE,Support ticket triage,Support,Sam Okafor\n"


def choose(page, label: str, option: re.Pattern[str], typed: str) -> None:
    box = page.locator('[data-testid="stSelectbox"]').filter(
        has=page.locator("label", has_text=re.compile(f"^{re.escape(label)}"))
    )
    box.first.click()
    page.keyboard.type(typed)
    page.get_by_role("option", name=option).first.click()
    settle(page)


@pytest.mark.browser
def test_a_partial_sheet_keeps_the_answers_it_does_not_name(server, page, tmp_path):
    sheet = tmp_path / "owners.csv"
    sheet.write_text(PARTIAL)
    page.goto(f"{server}/register")
    settle(page)
    page.get_by_role("tab", name="Import a spreadsheet").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(sheet))
    page.get_by_text("keep their stored values").first.wait_for(timeout=30_000)
    settle(page)
    page.get_by_role("button", name="Import 1 workflows").click()
    page.get_by_text("0 created, 1 updated, 0 unchanged").wait_for(timeout=30_000)
    settle(page)
    assert "updated sup-ticket-triage: owner" in page.locator('[data-testid="stCode"]').inner_text()
    screenshot(page, "register_partial_sheet")
    # The server holds the database: read the stored workflow back through its edit form.
    page.goto(f"{server}/register?edit=sup-ticket-triage")
    settle(page)
    page.get_by_text("Editing").first.wait_for(timeout=30_000)
    screenshot(page, "register_edit_link")
    expect(page.get_by_label("Owner (one human)")).to_have_value("Sam Okafor", timeout=30_000)
    assert page.get_by_label("Success metric").input_value() == "Agent minutes per ticket triaged"  # kept
    assert (
        page.get_by_label("How would a failure be noticed?").input_value().startswith("Weekly sample audit")
    )


@pytest.mark.browser
def test_undo_shows_what_it_removes_and_asks_before_removing(server, page):
    page.goto(f"{server}/upload")
    settle(page)
    box = page.locator('[data-testid="stSelectbox"]').filter(
        has=page.locator("label", has_text="Undo a whole upload")
    )
    assert "batch" not in box.inner_text()  # nothing preselected
    box.click()
    page.keyboard.type("sales")  # not Support's or People's: the My department test reads theirs
    page.get_by_role("option", name=re.compile("sales_timings.csv")).first.click()
    settle(page)
    warning = page.get_by_text(re.compile(r"^Undoing batch \d+ .* removes [\d,]+ timing samples"))
    warning.wait_for(timeout=30_000)
    go = page.get_by_role("button", name=re.compile(r"^Undo batch \d+$"))
    assert go.is_disabled()
    screenshot(page, "upload_undo_confirmation")
    page.get_by_text(re.compile(r"^Yes, remove these [\d,]+ timing samples")).click()
    expect(go).to_be_enabled(timeout=30_000)
    go.click()
    wait_for_text(page, re.compile(r"Batch \d+ undone"), timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0


@pytest.mark.browser
def test_my_department_leads_from_a_blocker_to_its_form(server, page):
    page.goto(f"{server}/my-department")
    settle(page)
    choose(page, "Department", re.compile("^Support$"), "Support")
    page.get_by_text("Customer data without review").wait_for(timeout=30_000)
    assert page.get_by_text("Nothing blocks it.").count() >= 1
    screenshot(page, "my_department")
    choose(page, "Department", re.compile("^People$"), "People")  # its export is five weeks late
    page.get_by_text(re.compile(r"Last data \d{4}-\d{2}-\d{2}, \d+ weeks ago")).first.wait_for(timeout=30_000)
    choose(page, "Department", re.compile("^Support$"), "Support")
    page.get_by_text("Customer data without review").wait_for(timeout=30_000)
    # Support's one edit blocker: Chat answers sent without review (no reviewer for customer data).
    page.get_by_role("button", name="Edit the workflow").click()
    page.get_by_text("Editing").first.wait_for(timeout=30_000)
    settle(page)
    assert page.locator("h1").first.inner_text().strip() == "Register workflow"
    expect(page.get_by_label("Name *")).to_have_value("Chat answers sent without review", timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "my_department_to_edit_form")
