"""The timing rows' figures a view carries from one build to the next over appended batches
(aiops.views.rows_state) are the very figures a full read of the rows gives, after every kind of
write; a write that did more than append reads every row again."""

from __future__ import annotations

import ast
from datetime import date, datetime
from pathlib import Path

import pytest

from aiops.ingest.batches import undo_batch
from aiops.ingest.timings import confirm_upload, discard_upload, import_timings, open_timing_import
from aiops.store import Store, Tx
from aiops.views import rows_state
from aiops.views.build import data_bounds
from aiops.views.company import save_company
from aiops.views.rows_state import RowsState
from tests.conftest import ADMIN, ROOT, ROWS_ENDS, rows_state_now

pytestmark = pytest.mark.estimate_cache  # a carried state is kept: not inside ``computed_afresh``

WORKFLOW = "fin-invoice-coding"


def _csv(folder: Path, day: date, phase: str = "after") -> Path:
    path = folder / f"{day.isoformat()}-{phase}.csv"
    rows = [f"{WORKFLOW},{phase},{day.isoformat()}T1{hour}:00:00,{20 + hour},1,0" for hour in range(7)]
    path.write_text("workflow_id,phase,measured_at,duration_minutes,loops,rework_minutes\n" + "\n".join(rows))
    return path


def _upload(store: Store, folder: Path, day: date, phase: str = "after") -> int:
    report = import_timings(store, ADMIN, _csv(folder, day, phase))
    assert report.accepted == 7
    return report.batch_id


def _carried(store: Store, ends: list[datetime | None] = ROWS_ENDS) -> RowsState:
    """The state now, which carried the last one over appended batches and equals a full read."""
    state, full, scans = rows_state_now(store, ends)
    assert (scans, state) == (0, full)
    return state


def test_uploads_after_and_inside_the_periods_are_carried_to_a_full_reads_figures(demo: Store, tmp_path):
    first, _, scans = rows_state_now(demo)
    assert scans == 1  # nothing to carry from: every row read (the sums, the latest timings: one scan)
    last = first.latest[WORKFLOW].last
    assert last is not None and last.date() > date(2026, 8, 5)
    _upload(demo, tmp_path, date(2026, 8, 5))  # inside 2026 Q3, before the workflow's last timing
    inside = _carried(demo)
    assert inside.latest == first.latest and inside.before[ROWS_ENDS[0]] == first.before[ROWS_ENDS[0]]
    assert inside.before[ROWS_ENDS[1]] != first.before[ROWS_ENDS[1]]
    _upload(demo, tmp_path, date(2026, 11, 12))  # after every end but all time's
    later = _carried(demo)
    assert (
        later.before[ROWS_ENDS[1]] == inside.before[ROWS_ENDS[1]]
        and later.before[None] != inside.before[None]
    )
    _upload(demo, tmp_path, date(2026, 12, 1), phase="before")  # moves the baseline's last timing
    baseline = _carried(demo).latest[WORKFLOW].baseline
    assert baseline is not None and baseline.date() == date(2026, 12, 1)
    _upload(demo, tmp_path, date(2020, 1, 6), phase="before")  # before every timing: moves the first
    with demo.snapshot() as db:
        in_sql = data_bounds(db)  # a reader's: the table's min and max
    assert data_bounds(demo) == in_sql and in_sql[0] == datetime(2020, 1, 6, 10)  # the store's: carried
    assert _carried(demo).bounds() == in_sql


def test_another_periods_ends_are_read_then_carried_with_the_first_ones(demo: Store, tmp_path):
    rows_state_now(demo)
    _upload(demo, tmp_path, date(2026, 11, 12))
    other = [datetime(2026, 4, 1)]
    state, full, scans = rows_state_now(demo, other)  # ends the state does not hold: every row read
    assert scans == 1 and state == full and set(state.before) == {*other, *ROWS_ENDS}
    _upload(demo, tmp_path, date(2026, 3, 2))
    _carried(demo, other)
    assert _carried(demo) == _carried(demo, other)  # the same moment: both periods' ends held


def test_a_preview_changes_no_figure_and_its_confirm_is_carried(demo: Store, tmp_path):
    before, _, _ = rows_state_now(demo)
    for confirm in (False, True):
        with open_timing_import(demo, _csv(tmp_path, date(2026, 8, 5 + confirm)), preview=True) as upload:
            upload.stage(ADMIN)
            report = upload.report
        pending, full, _ = rows_state_now(demo)  # no audit row yet: every row read; none pending
        assert pending == full and (pending.before, pending.latest) == (before.before, before.latest)
        if confirm:
            confirm_upload(demo, ADMIN, report)
            assert _carried(demo).before != before.before
        else:
            discard_upload(demo, ADMIN, report)
            discarded, full, _ = rows_state_now(demo)
            assert discarded == full and discarded.before == before.before


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
    assert scans == 1
    assert after == full and after.before != with_batch.before


def test_an_edit_under_any_other_audit_action_reads_every_row_again(demo: Store):
    before, _, _ = rows_state_now(demo)

    def edit(tx: Tx) -> None:
        tx.execute(
            "UPDATE timing_samples SET rework_minutes = rework_minutes + 5 WHERE workflow_id = ?", [WORKFLOW]
        )
        tx.audit("timings.fixed", "workflow", WORKFLOW, {})  # no action the state knows

    demo.write(ADMIN, edit)
    after, full, scans = rows_state_now(demo)
    assert scans == 1 and after == full and after.before != before.before


def test_a_build_at_the_same_audit_row_takes_the_figures_as_they_are(demo: Store, tmp_path):
    _upload(demo, tmp_path, date(2026, 11, 12))
    first, _, _ = rows_state_now(demo)
    again, full, scans = rows_state_now(demo, ROWS_ENDS[:1])
    assert (scans, again) == (0, first) and again == full


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
    assert scans == 1 and after == full


# Audit actions whose writes change timing rows other than by appending a batch: a view reads every
# row after them (any action in neither list does too; this list only says it was read and meant).
MOVES_TIMING_ROWS = {"upload.undone", "database.restored", "workflow.merged", "department.merged"}


def _audited_actions() -> set[str]:
    """Every audit action the product's code writes (the domain and the dashboard): the first
    argument of ``audit``/``audit_many``, the action of ``inventory._update_fields``, and the
    ``*.renamed`` of migration 012."""
    actions: set[str] = {"source.renamed", "preset.renamed"}  # f"{entity}.renamed"
    code = [
        ROOT / "dashboard.py",
        *(p for d in ("aiops", "ui", "app_pages") for p in (ROOT / d).rglob("*.py")),
    ]
    for path in code:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            at = {"audit": 0, "audit_many": 0, "_update_fields": 3}.get(name)
            if at is not None and len(node.args) > at and isinstance(node.args[at], ast.Constant):
                actions.add(node.args[at].value)
    return actions


def test_every_audit_action_is_read_as_what_it_does_to_timing_rows_and_facts():
    """A new kind of write is classified before a view trusts the log about it: kept timing rows
    (appended, untouched, or moved: read again), and the facts it keeps (``aiops.views.facts``)."""
    actions = _audited_actions()
    assert {"upload.committed", "workflow.signed_off", "checkpoint.removed"} <= actions  # the scan sees them
    assert actions == rows_state._NO_TIMING_ROW | {rows_state._APPENDED} | MOVES_TIMING_ROWS
    assert actions >= rows_state._KEEPS_FACTS
