"""Issue 12 in a real browser: the workflows sheet on the timings page, start = end, and a go-live
after the data each show one clear message and a disabled Confirm (screenshots in build/)."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import screenshot, settle
from tests.conftest import DATA, realdata

CONFIRM = re.compile(r"^Confirm upload")


def upload(page, server: str, path) -> None:
    page.goto(f"{server}/upload")
    settle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))


def choose(page, label: str, option: re.Pattern[str], typed: str) -> None:
    """Open the select box labelled ``label``, type to filter its (virtualised) list, pick."""
    box = page.locator('[data-testid="stSelectbox"]').filter(
        has=page.locator("label", has_text=re.compile(f"^{re.escape(label)}"))
    )
    box.first.click()
    page.keyboard.type(typed)
    page.get_by_role("option", name=option).first.click()
    settle(page)


def go_live(page, yyyymmdd: str) -> None:
    page.locator('[data-testid="stDateInput"] [role="spinbutton"][data-type="year"]').click()
    page.keyboard.type(yyyymmdd)
    page.keyboard.press("Enter")
    page.locator('[data-testid="stMain"] h1').click()
    settle(page)


def jira_with_workflow(page, server: str) -> None:
    upload(page, server, realdata("timings", "jira_apache_avro-issues.csv"))
    page.get_by_text("Recognised as Jira issues").wait_for(timeout=30_000)
    settle(page)
    choose(page, "Workflow", re.compile("PR review prep"), "PR review")


def errors(page) -> list[str]:
    return [t for t in page.locator('[data-testid="stAlertContentError"]').all_inner_texts() if t.strip()]


def confirm_disabled(page) -> bool:
    button = page.get_by_role("button", name=CONFIRM)
    button.first.wait_for(timeout=30_000)  # the page may still be drawing below the message
    assert button.count() == 1
    return button.is_disabled()


@pytest.mark.browser
def test_workflows_sheet_on_the_timings_page_points_to_the_workflows_import(server, page):
    upload(page, server, DATA / "workflows_valid.csv")
    page.get_by_text("is a workflows sheet").wait_for(timeout=30_000)
    settle(page)
    assert len(errors(page)) == 1
    assert "Register" in errors(page)[0]
    assert confirm_disabled(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "upload_workflows_sheet")


@pytest.mark.browser
def test_start_equal_to_end_is_one_clear_message_and_confirm_stays_disabled(server, page):
    jira_with_workflow(page, server)
    go_live(page, "20160101")
    choose(page, "End column", re.compile(r"^created — "), "created")
    page.get_by_text("start and end are the same column").wait_for(timeout=30_000)
    # The run that drew the message may not have removed the last run's elements yet (under load,
    # the Preview button stayed a moment): no Preview is offered once it has.
    page.get_by_role("button", name="Preview").wait_for(state="detached", timeout=30_000)
    settle(page)
    assert len(errors(page)) == 1
    assert confirm_disabled(page)
    screenshot(page, "upload_start_equals_end")


@pytest.mark.browser
def test_go_live_after_the_data_is_one_clear_message_and_confirm_stays_disabled(server, page):
    jira_with_workflow(page, server)
    go_live(page, "20200101")  # after the last loop (2018), within the picker's bounds
    page.get_by_role("button", name="Preview").click()
    page.get_by_text("Records in the file").wait_for(timeout=60_000)
    settle(page)
    found = errors(page)
    assert len(found) == 1 and "after every loop in the file" in found[0], found
    assert "2009-04-10 to 2018-04-24" in found[0]
    assert confirm_disabled(page)
    screenshot(page, "upload_go_live_after_data")
