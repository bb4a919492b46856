"""Issue 27 in a real browser: a lead adds a Jira source on the Sources page, pulls it from a replay
server of Jira's search API (the Apache Avro issues), and the workflow's figures appear. The replay
is on loopback, which is not a Jira Cloud address: the pull uses Jira Data Center's search (Cloud's
is tested through a Cloud address in tests/unit/test_sources.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiops.inventory import save_workflow
from aiops.store import Store
from tests.browser.conftest import _free_port, _wait_healthy, screenshot, settle, start_dashboard
from tests.browser.test_upload_mistakes import choose, go_live
from tests.conftest import ADMIN, answered_workflow, realdata
from tests.sources_replay import Replay, jira_dc_route, jira_issues_from_realdata

WORKFLOW = answered_workflow(
    workflow_id="eng-avro-triage", name="Avro issue triage", department="Engineering"
)
AVRO = "jira_apache_avro-issues.csv"


@pytest.fixture(scope="module")
def jira() -> Iterator[Replay]:
    issues = jira_issues_from_realdata(realdata("timings", AVRO))
    replay = Replay(jira_dc_route, data={"issues": issues}).start()
    yield replay
    replay.stop()


@pytest.fixture(scope="module")
def sources_server(server_db: Path) -> Iterator[str]:
    """The demo with one more workflow, no samples yet; the token in the server's environment."""
    with Store(server_db) as store:
        save_workflow(store, ADMIN, WORKFLOW)
    port = _free_port()
    process = start_dashboard(server_db, port, REPLAY_TOKEN="me@example.com:replay-token")
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.mark.browser
def test_a_lead_adds_a_jira_source_pulls_it_and_the_workflows_figures_appear(sources_server, jira, page):
    page.goto(f"{sources_server}/workflow?id=eng-avro-triage")
    settle(page)
    page.get_by_text("n = 0 before / 0 after").wait_for(timeout=30_000)  # no timings yet
    page.goto(f"{sources_server}/sources")
    settle(page)
    choose(page, "Tool", re.compile("Jira issues"), "Jira")
    page.get_by_role("textbox", name="Name", exact=True).fill("avro-jira")
    choose(page, "Workflow it feeds", re.compile("Avro issue triage"), "Avro")
    page.get_by_role("textbox", name="API base URL").fill(jira.url)
    page.get_by_role("textbox", name="Query", exact=True).fill("project = AVRO")
    go_live(page, "20160101")
    page.get_by_role("textbox", name="Token reference").fill("env:REPLAY_TOKEN")
    page.get_by_role("button", name="Add source").click()
    page.get_by_text("Source avro-jira added").wait_for(timeout=30_000)
    settle(page)
    page.get_by_role("button", name="Pull now").click()
    page.get_by_text(re.compile(r"Committed batch \d+ \(22 pages\)")).wait_for(timeout=60_000)
    settle(page)
    page.locator('[data-testid="stMetricValue"]').nth(4).wait_for(timeout=30_000)
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    assert values == ["2,166", "1,515", "651", "1,515", "0"]
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "replay-token" not in page.content()
    screenshot(page, "sources_pulled")

    page.goto(f"{sources_server}/workflow?id=eng-avro-triage")
    settle(page)
    figures = page.get_by_text(re.compile(r"n = [\d,]+ before / [\d,]+ after")).first.inner_text()
    before = int(re.search(r"n = ([\d,]+) before", figures)[1].replace(",", ""))
    assert before > 1000  # the pulled resolved issues of 2011-2015 (the estimate's own window rules apply)
    page.get_by_role("tab", name="Uploads").click()
    page.get_by_text(re.compile(r"pull avro-jira .* 1,515 accepted, 651 rejected")).wait_for(timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "sources_workflow_figures")
