"""A CLI import while the dashboard holds the database: a clear refusal, never a lock traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.browser.conftest import settle
from tests.conftest import ROOT, realdata


@pytest.mark.browser
def test_cli_import_against_a_running_dashboard_fails_clearly_and_writes_nothing(server, server_db, page):
    page.goto(server)
    settle(page)  # a session ran: the dashboard process now holds the database file
    env = {**os.environ, "AIOPS_LOCK_TIMEOUT_S": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "aiops.cli",
            "timings",
            "import",
            str(realdata("timings", "jira_apache_avro-issues.csv")),
            "--preset",
            "jira-issues-api",
            "--workflow",
            "eng-pr-review-prep",
            "--go-live",
            "2016-01-01",
            "--db",
            str(server_db),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "in use by another process" in lines[0] and "nothing was written" in lines[0]
    # The dashboard still shows only the demo's own uploads.
    page.goto(f"{server}/upload")
    settle(page)
    assert page.get_by_text("jira_apache_avro-issues.csv").count() == 0
