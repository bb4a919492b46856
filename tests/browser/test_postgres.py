"""Two dashboard processes on one PostgreSQL, with a CLI import running at the same time.

An upload in one dashboard appears in the other on its next run; a 100,000-row CLI import commits
while eight uploads are confirmed at once across both dashboards; nothing is lost.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiops.store import Store
from tests import pg_cluster
from tests.browser.conftest import LAUNCH_ARGS, _free_port, _wait_healthy, settle, start_dashboard
from tests.conftest import ROOT

WORKFLOW = "eng-pr-review-prep"  # a demo workflow
DETAIL = "workflow"  # the workflow detail page's URL path
HEADER = "workflow_id,phase,measured_at,duration_minutes,loops,rework_minutes\n"


def _timings(path: Path, rows: int, salt: int) -> Path:
    lines = [
        f"{WORKFLOW},{'before' if i % 2 else 'after'},2026-0{1 + i % 2}-{1 + i % 28:02d} 10:{i % 60:02d},"
        f"{10 + (i * 7 + salt) % 50}.{salt % 10},1,0\n"
        for i in range(rows)
    ]
    path.write_text(HEADER + "".join(lines))
    return path


@pytest.fixture(scope="module")
def shared_db(pg_server: str, demo_pg_template: str) -> Iterator[str]:
    url = pg_cluster.create_database(pg_server, template=demo_pg_template)
    yield url
    pg_cluster.drop_database(pg_server, url)


@pytest.fixture(scope="module")
def dashboards(shared_db: str) -> Iterator[list[str]]:
    """Two `streamlit run` processes on the same PostgreSQL database."""
    processes, urls = [], []
    try:
        for _ in range(2):
            port = _free_port()
            process = start_dashboard(shared_db, port)
            processes.append(process)
            urls.append(f"http://127.0.0.1:{port}")
        for url, process in zip(urls, processes, strict=True):
            _wait_healthy(url, process, timeout=120)
        yield urls
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def _preview_all(browser, uploads: list[tuple[str, Path]]) -> list:
    """Open one browser context per upload and bring each to its preview, the pages side by side
    (each step is started on every page before waiting for any: the servers work at once)."""
    opened = []
    for server, _ in uploads:
        context = browser.new_context(viewport={"width": 1400, "height": 2200})
        page = context.new_page()
        page.set_default_timeout(120_000)  # eight pages and a 100,000-row import share two cores
        page.goto(f"{server}/upload", wait_until="commit")
        opened.append((context, page))
    for (_, page), (_, csv) in zip(opened, uploads, strict=True):
        settle(page)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv))
    for _, page in opened:
        page.get_by_text("canonical timings columns").wait_for(timeout=120_000)
        page.get_by_role("button", name="Preview").click(no_wait_after=True)
    for _, page in opened:
        page.get_by_text("Records in the file").wait_for(timeout=120_000)
        settle(page)
    return opened


@pytest.mark.browser
def test_two_dashboards_and_a_cli_import_share_one_postgres(dashboards, shared_db, chromium, tmp_path):
    from playwright.sync_api import sync_playwright

    big = _timings(tmp_path / "cli_100k.csv", 100_000, salt=99)
    small = [_timings(tmp_path / f"dash{n % 2}_{n}.csv", 20, salt=n) for n in range(8)]
    with Store(shared_db) as store:
        samples_before = store.query_one("SELECT count(*) FROM timing_samples")[0]
    cli = subprocess.Popen(
        [sys.executable, "-m", "aiops.cli", "timings", "import", str(big), "--db", shared_db],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        try:
            # eight uploads, four through each dashboard, previewed, then all confirmed at once
            opened = _preview_all(browser, [(dashboards[n % 2], csv) for n, csv in enumerate(small)])
            for _, page in opened:
                page.get_by_role("button", name="Confirm upload of 20 records").click(no_wait_after=True)
            for _, page in opened:
                page.get_by_text("Committed batch").wait_for(timeout=180_000)
                assert page.locator('[data-testid="stException"]').count() == 0
            out, err = cli.communicate(timeout=300)
            assert cli.returncode == 0, err
            # each dashboard shows what went in through the other one (and through the CLI)
            for server, other in ((dashboards[0], "dash1_1.csv"), (dashboards[1], "dash0_0.csv")):
                context = browser.new_context(viewport={"width": 1400, "height": 2200})
                page = context.new_page()
                page.goto(f"{server}/{DETAIL}?id={WORKFLOW}")
                settle(page)
                for name in (other, "cli_100k.csv"):  # drawn as the page's last run finishes
                    page.get_by_text(name).first.wait_for(state="attached", timeout=60_000)
                context.close()
            for context, _ in opened:
                context.close()
        finally:
            browser.close()
    with Store(shared_db) as store:
        names = {r[0] for r in store.query("SELECT file_name FROM upload_batches WHERE undone_at IS NULL")}
        assert {csv.name for csv in small} | {big.name} <= names
        added = store.query_one("SELECT count(*) FROM timing_samples")[0] - samples_before
        assert added == 100_000 + 8 * 20  # nothing lost, nothing doubled
        audited = store.query_one("SELECT count(*) FROM audit_log WHERE action = 'upload.committed'")[0]
        assert audited >= 9
