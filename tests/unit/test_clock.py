"""One clock: "now" is UTC wherever the machine is, and is taken in one place (``aiops.clock``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from aiops.clock import utcnow
from aiops.inventory import save_workflows
from aiops.metrics import workflow_metrics
from aiops.store import Store
from aiops.workflow import Workflow
from tests.conftest import ADMIN, ROOT


@pytest.fixture
def far_east_machine(monkeypatch: pytest.MonkeyPatch):
    """The process's local time 14 hours ahead of UTC (Kiribati's zone)."""
    monkeypatch.setenv("TZ", "Etc/GMT-14")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_run_rate_window_ends_at_utc_now_whatever_the_machine_zone(tmp_path, far_east_machine):
    """A loop measured 7 hours inside the run-rate window (in UTC) counts as recent: with local
    time taken for now, the window would start 14 hours later and leave it out."""
    with Store(tmp_path / "clock.duckdb") as store:
        store.write(
            ADMIN, lambda tx: save_workflows(tx, [Workflow(workflow_id="wf", name="W", department="D")], "t")
        )
        weeks = store.policy.evidence.run_rate_weeks
        inside = utcnow() - timedelta(weeks=weeks) + timedelta(hours=7)
        store.write(
            ADMIN,
            lambda tx: tx.execute(
                "INSERT INTO timing_samples (batch_id, workflow_id, phase, measured_at, duration_minutes,"
                " loops, rework_minutes) VALUES (1, 'wf', 'before', ?, 10, 1, 0),"
                " (1, 'wf', 'after', ?, 5, 3, 0), (1, 'wf', 'before', ?, 10, 1, 0)",
                # The last row, a minute ago, keeps the data current: the window is now's, not the
                # workflow's own last complete weeks (a late export's).
                [inside - timedelta(weeks=1), inside, utcnow() - timedelta(minutes=1)],
            ),
        )
        recent = workflow_metrics(store, store.policy.evidence).set_index("workflow_id").recent_loops_after
    assert recent["wf"] == 3


# Epoch seconds (time.time) carry no zone; a datetime or date of "now" is taken by aiops.clock.
NOW_ELSEWHERE = re.compile(r"datetime\.now\(|datetime\.utcnow\(|date\.today\(|Timestamp\.now\(")


def test_now_is_taken_only_by_the_clock_module():
    sources = [
        *ROOT.glob("aiops/**/*.py"),
        *ROOT.glob("ui/*.py"),
        *ROOT.glob("app_pages/*.py"),
        ROOT / "dashboard.py",
    ]
    elsewhere = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sources
        if path != ROOT / "aiops" / "clock.py"
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1)
        if NOW_ELSEWHERE.search(line)
    ]
    assert len(sources) > 30
    assert elsewhere == []


ZONE = "SELECT current_setting('TimeZone')"


def test_every_cursor_of_a_store_reads_in_utc_whatever_the_machine_zone(tmp_path):
    """In a process in Kiribati's zone, 14 hours ahead (DuckDB's default zone is the machine's), the
    store's own reads, a snapshot, a new cursor and a write all read and write in UTC."""
    code = f"""
import duckdb
from aiops.auth import Actor
from aiops.store import Store
ZONE = {ZONE!r}
zones = [duckdb.connect().execute(ZONE).fetchall()[0][0]]
with Store({str(tmp_path / "zone.duckdb")!r}) as store:
    zones.append(store.query_value(ZONE))
    with store.snapshot() as db:
        zones.append(db.query_value(ZONE))
    zones.append(store.new_cursor().execute(ZONE).fetchall()[0][0])
    zones.append(store.write(Actor(name="a", role="admin"), lambda tx: tx.query_value(ZONE)))
print(zones)
"""
    env = {**os.environ, "TZ": "Pacific/Kiritimati"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['Pacific/Kiritimati', 'UTC', 'UTC', 'UTC', 'UTC']"
