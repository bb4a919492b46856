"""A smoke pass over every page in a real browser, with screenshots, and a real upload."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import screenshot, settle
from tests.conftest import realdata

PAGES = {
    "overview": "",
    "departments": "departments",
    "workflows": "workflows?risk=high",
    "workflow": "workflow?id=sup-ticket-triage",
    "upload": "upload",
    "register": "register",
    "policy": "policy",
    "audit": "audit",
}


@pytest.mark.browser
@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders_without_exception(server, page, name):
    page.goto(f"{server}/{PAGES[name]}")
    settle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator("h1").first.inner_text().strip()
    if name == "overview":
        page.wait_for_selector('[data-testid="stVegaLiteChart"]', timeout=30_000)
        assert page.locator('[data-testid="stMetricValue"]').count() >= 4
    path = screenshot(page, name)
    assert path.stat().st_size > 10_000


@pytest.mark.browser
def test_upload_through_the_real_dropzone(server, page):
    page.goto(f"{server}/upload")
    settle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        str(realdata("timings", "jira_apache_avro-issues.csv"))
    )
    page.get_by_text("Recognised as Jira issues").wait_for(timeout=30_000)
    settle(page)
    # No workflow is preselected: the lead says which one this file measures.
    page.locator('[data-testid="stSelectbox"]').filter(
        has=page.locator("label", has_text=re.compile("^Workflow"))
    ).first.click()
    page.keyboard.type("PR review")
    page.get_by_role("option", name=re.compile("PR review prep")).first.click()
    settle(page)
    # The date field is a row of spin buttons; typing fills them, leaving the field commits it.
    page.locator('[data-testid="stDateInput"] [role="spinbutton"][data-type="year"]').click()
    page.keyboard.type("20160101")
    page.keyboard.press("Enter")
    page.locator('[data-testid="stMain"] h1').click()
    settle(page)  # the date's run done: a click during it can land on a button being redrawn
    page.get_by_role("button", name="Preview").click()
    page.get_by_text("Records in the file").wait_for(timeout=60_000)
    settle(page)
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    assert values[:3] == ["2,166", "1,515", "651"]
    screenshot(page, "upload_preview")
    page.get_by_role("button", name="Confirm upload of 1,515 records").click()
    page.get_by_text("Committed batch").wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
