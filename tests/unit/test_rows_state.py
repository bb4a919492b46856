"""The timing rows' figures a view carries from one build to the next over appended batches
(aiops.views.rows_state) are the very figures a full read of the rows gives, after every kind of
write; a write that did more than append reads every row again."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from aiops.ingest.batches import undo_batch
from aiops.ingest.timings import import_timings
from aiops.store import Store, Tx
from aiops.views.company import save_company
from tests.conftest import ADMIN, rows_state_now

pytestmark = pytest.mark.estimate_cache  # a carried state is kept: not inside ``computed_afresh``

WORKFLOW = "fin-invoice-coding"


def _upload(store: Store, folder: Path, day: date, phase: str = "after") -> int:
    path = folder / f"{day.isoformat()}-{phase}.csv"
    rows = [f"{WORKFLOW},{phase},{day.isoformat()}T1{hour}:00:00,{20 + hour},1,0" for hour in range(7)]
    path.write_text("workflow_id,phase,measured_at,duration_minutes,loops,rework_minutes\n" + "\n".join(rows))
    report = import_timings(store, ADMIN, path)
    assert report.accepted == len(rows)
    return report.batch_id


def test_uploads_after_and_inside_the_periods_are_carried_to_a_full_reads_figures(demo: Store, tmp_path):
    first, _, scans = rows_state_now(demo)
    assert scans == 2  # nothing to carry from: every row read (the sums, the latest timings)
    _upload(demo, tmp_path, date(2026, 11, 12))  # after every end: only all time's sums move
    _upload(demo, tmp_path, date(2026, 8, 5))  # inside 2026 Q3
    _upload(demo, tmp_path, date(2026, 12, 1), phase="before")  # moves a baseline's last timing
    carried, full, scans = rows_state_now(demo)
    assert scans == 0
    assert carried == full
    assert carried.before != first.before and carried.latest != first.latest
    assert carried.latest[WORKFLOW][1] is not None and carried.latest[WORKFLOW][1].date() == date(2026, 12, 1)


def test_writes_that_change_no_timing_row_are_carried_over(demo: Store, tmp_path: Path):
    first, _, _ = rows_state_now(demo)
    save_company(demo, ADMIN, "hourly_cost = 123.0\n")
    carried, full, scans = rows_state_now(demo)
    assert (scans, carried.before, carried.latest) == (0, first.before, first.latest)
    assert carried == full and carried.head != first.head


def test_an_undo_reads_every_row_again(demo: Store, tmp_path: Path):
    batch_id = _upload(demo, tmp_path, date(2026, 8, 5))
    with_batch, _, _ = rows_state_now(demo)
    undo_batch(demo, ADMIN, batch_id)
    after, full, scans = rows_state_now(demo)
    assert scans == 2
    assert after == full and after.before != with_batch.before


def test_an_edit_with_no_audit_row_is_read_by_a_build_at_the_same_revision(demo: Store):
    before, _, _ = rows_state_now(demo)

    def edit(tx: Tx) -> None:
        tx.execute(
            "UPDATE timing_samples SET rework_minutes = rework_minutes + 5 WHERE workflow_id = ?", [WORKFLOW]
        )

    demo.write(ADMIN, edit)
    after, full, scans = rows_state_now(demo)
    assert scans == 2 and after.head == before.head
    assert after == full and after.before != before.before


def test_a_log_rewound_by_a_restore_reads_every_row_again(demo: Store, tmp_path: Path):
    rows_state_now(demo)
    _upload(demo, tmp_path, date(2026, 11, 12))
    rows_state_now(demo)
    head = demo.query_value("SELECT max(audit_id) FROM audit_log")

    def rewind(tx: Tx) -> None:  # as a restore of an earlier backup leaves it: the last row gone
        tx.execute("DELETE FROM audit_log WHERE audit_id = ?", [head])
        tx.audit("company.settings_saved", "company", "test", {})

    demo.write(ADMIN, rewind)
    after, full, scans = rows_state_now(demo)
    assert scans == 2 and after == full
