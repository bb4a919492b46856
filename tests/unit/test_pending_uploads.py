"""Confirm is instant: the preview writes an upload's rows as a pending batch that no read sees;
Confirm flips it; cancel, a lost session or a crash leaves rows that the next start removes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from aiops.clock import utcnow
from aiops.errors import Conflict
from aiops.ingest.batches import list_batches, undo_batch
from aiops.ingest.timings import confirm_upload, discard_upload, open_timing_import
from aiops.inventory import save_workflows
from aiops.settings import Settings
from aiops.store import Statement, Store, pending, tracer
from aiops.store.pending import owner
from aiops.views import build_view
from aiops.workflow import Workflow
from aiops.workspace import open_store
from tests.conftest import ADMIN, ROOT

pytestmark = pytest.mark.both_stores

WORKFLOWS = ("wf-a", "wf-b")


def canonical(folder: Path, name: str, workflow: str, days: int, bad: int = 0) -> Path:
    """``days`` daily before/after rows for ``workflow`` (and ``bad`` rows with a negative duration)."""
    lines = [
        f"{workflow},{'before' if d < days // 2 else 'after'},"
        f"{(pd.Timestamp('2026-01-05 09:00') + pd.Timedelta(days=d)).isoformat(sep=' ')},"
        f"{40 - (d >= days // 2) * 15 + d % 5},1,0"
        for d in range(days)
    ] + [f"{workflow},after,2026-01-05 09:00,-1,1,0"] * bad
    path = folder / name
    path.write_text(
        "workflow_id,phase,measured_at,duration_minutes,loops,rework_minutes\n" + "\n".join(lines)
    )
    return path


@pytest.fixture
def registered(store):
    items = [Workflow(workflow_id=w, name=w, department="Support") for w in WORKFLOWS]
    store.write(ADMIN, lambda tx: save_workflows(tx, items, "test"))
    return store


def stage(store: Store, path: Path):
    """Preview ``path`` as the dashboard does: its report, its rows written as a pending batch."""
    with open_timing_import(store, path, preview=True) as upload:
        upload.stage(ADMIN)
        return upload.report


def counts(store: Store) -> tuple[int, int, int]:
    """(rows stored, rows any read sees, uploads listed)."""
    return (
        store.query_value("SELECT count(*) FROM timing_samples"),
        store.query_value("SELECT count(*) FROM committed_samples"),
        len(list_batches(store)),
    )


def test_a_previewed_upload_is_seen_by_no_read_until_confirm(registered, tmp_path):
    store = registered
    first = canonical(tmp_path, "a.csv", "wf-a", 40)
    confirm_upload(store, ADMIN, stage(store, first))
    before = build_view(store)
    report = stage(store, canonical(tmp_path, "b.csv", "wf-b", 60, bad=3))
    assert report.accepted + report.rejected == report.rows == 63
    assert counts(store) == (100, 40, 1)
    during = build_view(store)
    # every frame of the read model is as it was without the pending rows
    for frame in ("workflows", "weekly", "freshness", "adoption_weekly"):
        pd.testing.assert_frame_equal(getattr(during, frame), getattr(before, frame))
    assert during.data_through == before.data_through
    confirm_upload(store, ADMIN, report)
    assert counts(store) == (100, 100, 2)
    after = build_view(store).workflows.set_index("workflow_id")
    assert after.loc["wf-b", "samples_before"] + after.loc["wf-b", "samples_after"] == 60
    stored = store.query_one("SELECT evidence FROM classifications WHERE workflow_id = 'wf-b'")
    assert stored is not None  # re-estimated in the confirm's transaction


def test_confirm_copies_no_row_and_re_estimates_only_the_uploads_workflows(registered, tmp_path):
    store = registered
    confirm_upload(store, ADMIN, stage(store, canonical(tmp_path, "a.csv", "wf-a", 40)))
    report = stage(store, canonical(tmp_path, "b.csv", "wf-b", 40))
    log: list[Statement] = []
    with tracer(log.append):
        confirm_upload(store, ADMIN, report)
    texts = [" ".join(s.sql.split()) for s in log]
    assert not any("INSERT INTO timing_samples" in t or "read_csv" in t for t in texts)
    scopes = [s.params["scope"] for s in log if isinstance(s.params, dict) and "recent_days" in s.params]
    assert scopes == [["wf-b"]]  # the weekly cells of the upload's workflow only


def test_cancel_removes_the_pending_rows(registered, tmp_path):
    store = registered
    report = stage(store, canonical(tmp_path, "a.csv", "wf-a", 40))
    assert report.batch_id is None and report.pending_batch is not None  # not committed yet
    discard_upload(store, ADMIN, report)
    assert counts(store) == (0, 0, 0)
    assert store.query_value("SELECT count(*) FROM pending_batches") == 0
    with pytest.raises(Conflict, match="not previewed"):
        confirm_upload(store, ADMIN, report)


def test_a_confirm_after_its_preview_was_removed_is_refused_and_writes_nothing(registered, tmp_path):
    store = registered
    report = stage(store, canonical(tmp_path, "a.csv", "wf-a", 40))
    held = report.pending_batch
    store.write(ADMIN, lambda tx: pending.discard(tx, [held]))  # as a restart's sweep would
    with pytest.raises(Conflict, match="no longer held"):
        confirm_upload(store, ADMIN, report)
    assert counts(store) == (0, 0, 0)
    assert store.query_value("SELECT count(*) FROM audit_log WHERE action = 'upload.committed'") == 0


def test_two_previews_of_one_file_commit_once_and_undo_still_works(registered, tmp_path):
    store = registered
    path = canonical(tmp_path, "a.csv", "wf-a", 40)
    first, second = stage(store, path), stage(store, path)  # two sessions previewed the same file
    confirm_upload(store, ADMIN, first)
    with pytest.raises(Conflict, match="already uploaded"):
        confirm_upload(store, ADMIN, second)
    assert second.duplicate_of == first.batch_id
    discard_upload(store, ADMIN, second)
    assert counts(store) == (40, 40, 1)
    assert undo_batch(store, ADMIN, first.batch_id) == 40
    assert counts(store) == (0, 0, 1)
    discard_upload(store, ADMIN, first)  # a confirmed (here undone) batch is never a pending one
    assert store.query_value("SELECT undone_at IS NOT NULL FROM upload_batches") is True


_CRASH = """
import os, sys
from aiops.auth import Actor
from aiops.ingest.timings import open_timing_import
from aiops.store import Store
with Store(sys.argv[1]) as store, open_timing_import(store, sys.argv[2], preview=True) as upload:
    upload.stage(Actor(name="admin@test", role="admin"))
    os._exit(9)  # killed between preview and Confirm
"""


def test_a_preview_whose_process_died_is_removed_at_the_next_start(registered, store_location, tmp_path):
    store = registered
    mine = stage(store, canonical(tmp_path, "mine.csv", "wf-b", 20))  # this live process's preview
    store.close()
    crashed = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(_CRASH),
            store_location,
            str(canonical(tmp_path, "a.csv", "wf-a", 40)),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert crashed.returncode == 9, crashed.stderr
    with Store(store_location) as reopened:
        assert counts(reopened) == (60, 0, 0)  # the crashed preview's rows are there, unseen
    with open_store(Settings(db=store_location)) as started:
        assert counts(started) == (20, 0, 0)  # the next start removed them; this process's stays
        confirm_upload(started, ADMIN, mine)
        assert counts(started) == (20, 20, 1)


def test_another_machines_preview_is_kept_for_a_day(registered):
    """On a shared server another machine's process cannot be checked: its preview is kept until
    it is a day old. On a DuckDB file (one process at a time) it is removed at once."""
    store = registered
    held = [
        (90, "elsewhere:4242:run", utcnow() - timedelta(hours=2)),
        (91, "elsewhere:4242:run", utcnow() - timedelta(days=2)),
    ]

    def insert(tx):
        for batch_id, by, at in held:
            tx.execute("INSERT INTO pending_batches VALUES (?, ?, 'someone', ?)", [batch_id, by, at])
            tx.execute(
                "INSERT INTO timing_samples (batch_id, workflow_id, phase, measured_at, duration_minutes,"
                " loops, rework_minutes) VALUES (?, 'wf-a', 'before', ?, 10, 1, 0)",
                [batch_id, at],
            )

    store.write(ADMIN, insert)
    assert owner() != "elsewhere:4242:run"
    location = store.location
    store.close()
    with open_store(Settings(db=location)) as started:
        left = [r[0] for r in started.query("SELECT batch_id FROM pending_batches")]
        assert left == ([90] if started.postgres else [])
        assert counts(started) == (len(left), 0, 0)


def test_every_read_of_timing_rows_goes_through_committed_samples():
    """Only the writers name the table itself: the import's pending write, undo, the sweep, and a
    pull replacing the samples of records it fetched again (pulled records are never pending)."""
    writers = {
        "aiops/ingest/timings.py",
        "aiops/ingest/replacing.py",
        "aiops/ingest/batches.py",
        "aiops/store/pending.py",
        "aiops/store/twins.py",
    }
    reads = re.compile(r"\b(FROM|JOIN)\s+timing_samples\b", re.IGNORECASE)
    sources = [*ROOT.glob("aiops/**/*.py"), *ROOT.glob("ui/*.py"), *ROOT.glob("app_pages/*.py")]
    readers = {
        str(path.relative_to(ROOT)) for path in sources if reads.search(path.read_text("utf-8"))
    } - writers
    assert readers == set()
