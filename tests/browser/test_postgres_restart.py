"""A server survives its database: PostgreSQL restarts while a dashboard writes an upload (the
preview streams its rows to the server as a pending batch); the page says nothing was saved, the
dashboard stays up, and the same Preview, clicked again, then Confirm commit the batch once.

The cluster is this module's own (a restart would cut every other test's connections)."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiops.auth import Actor
from aiops.store import Store
from aiops.store.transfer import copy_rows
from tests import pg_cluster
from tests.browser.conftest import _free_port, _wait_healthy, settle, start_dashboard
from tests.browser.test_postgres import WORKFLOW, _timings
from tests.conftest import _no_postgres

ROWS = 200_000
COPYING = (
    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
    ' AND query LIKE \'COPY "public"."timing_samples"%FROM STDIN%\''
)


@pytest.fixture(scope="module")
def own_cluster(demo_template: Path) -> Iterator[tuple[str, str]]:
    """(the demo's database URL, the cluster's folder) on a cluster this module may restart."""
    folder = tempfile.mkdtemp(prefix="aiops-test-pg-restart-")
    try:
        server = pg_cluster.start(folder)
    except pg_cluster.Unavailable as e:
        shutil.rmtree(folder, ignore_errors=True)
        _no_postgres(str(e))
    try:
        url = pg_cluster.create_database(server)
        with Store(demo_template) as source, Store(url) as target:
            copy_rows(source, target, Actor(name="admin@test", role="admin"))
        yield url, folder
    finally:
        pg_cluster.stop(folder)


def _restart_while_rows_stream(url: str, folder: str, done: list[str]) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if pg_cluster.psql(url, COPYING).strip() not in ("", "0"):
            pg_cluster.restart(folder)
            done.append("restarted")
            return
        time.sleep(0.01)


@pytest.mark.browser
def test_a_postgres_restart_during_confirm_is_survived_and_the_retry_commits(own_cluster, browser, tmp_path):
    url, folder = own_cluster
    csv = _timings(tmp_path / "restart.csv", ROWS, salt=7)
    with Store(url) as store:
        before = store.query_value("SELECT count(*) FROM timing_samples")
    port = _free_port()
    dashboard = start_dashboard(url, port)
    server = f"http://127.0.0.1:{port}"
    context = browser.new_context(viewport={"width": 1400, "height": 2200})
    try:
        _wait_healthy(server, dashboard, timeout=120)
        page = context.new_page()
        page.set_default_timeout(180_000)
        page.goto(f"{server}/upload")
        settle(page)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv))
        page.get_by_text("canonical timings columns").wait_for()
        settle(page)
        done: list[str] = []
        restarter = threading.Thread(target=_restart_while_rows_stream, args=(url, folder, done))
        restarter.start()
        preview = page.get_by_role("button", name="Preview")
        preview.click(no_wait_after=True)
        restarter.join(timeout=320)
        assert done == ["restarted"], "the rows never streamed to the server"
        page.get_by_text("the database connection was lost; nothing was saved").wait_for()
        assert dashboard.poll() is None, "the dashboard process died with its database connection"
        assert page.locator('[data-testid="stException"]').count() == 0
        with Store(url) as store:
            assert store.query_value("SELECT count(*) FROM timing_samples") == before
        settle(page)
        preview.click(no_wait_after=True)  # the next request reconnects
        page.get_by_text("Records in the file").wait_for()
        settle(page)
        page.get_by_role("button", name=f"Confirm upload of {ROWS:,} records").click()
        page.get_by_text("Committed batch").wait_for()
        assert page.locator('[data-testid="stException"]').count() == 0
        with Store(url) as store:
            assert store.query_value("SELECT count(*) FROM timing_samples") == before + ROWS
            assert (
                store.query_value("SELECT count(*) FROM upload_batches WHERE file_name = 'restart.csv'") == 1
            )
            assert WORKFLOW in store.query_value(
                "SELECT workflow_ids FROM upload_batches WHERE file_name = 'restart.csv'"
            )
    finally:
        context.close()
        dashboard.terminate()
        dashboard.wait(timeout=30)
