"""What the estimates will make of an upload, said at preview: the loops they will set aside once it
is stored (implausibly long ones, and those that could not finish inside the export's window), and
where the loop times change most when that is not the stated go-live. Nothing stored then differs
from the preview without a line here that says why.

The upload's accepted rows are read with the workflows' stored rows, on the import's own cursor (its
temporary tables live there), through the same cells query the estimates use.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd

from aiops.estimates.cells import load_cells
from aiops.estimates.golive import likely_break
from aiops.estimates.weekly import split, weekly_means
from aiops.policy import EvidenceRules
from aiops.store import Reader, pending
from aiops.store.store import rollback_quietly
from aiops.store.trace import Cursor

FAR = datetime(2100, 1, 4)  # no run-rate window is needed here
COLUMNS = "workflow_id, phase, measured_at, duration_minutes, loops, rework_minutes, ai_assisted, segment"


class _ImportReader(Reader):
    """Reads on the import's cursor (which holds its temporary tables)."""

    def __init__(self, cursor: Cursor, postgres: bool) -> None:
        self._import_cursor = cursor
        self.postgres = postgres

    def _cursor(self) -> Cursor:
        return self._import_cursor


def foresee(
    cursor: Cursor, postgres: bool, accepted: str, workflow_ids: list[str], rules: EvidenceRules
) -> tuple[list[str], list[str]]:
    """(notes: loops set aside once stored; warnings: a go-live the data disagrees with)."""
    if not workflow_ids:
        return [], []
    reader = _ImportReader(cursor, postgres)
    recent = (FAR - timedelta(weeks=rules.run_rate_weeks), FAR)
    cursor.execute("BEGIN TRANSACTION")  # whether a batch is pending, and the rows, at one time
    try:
        # The time kind does not change which loops are set aside: the rows are read as hands-on.
        samples = (
            f"(SELECT {COLUMNS}, 'hands_on' AS time_kind FROM {pending.committed_rows(reader)}"
            f" UNION ALL SELECT {COLUMNS}, 'hands_on' AS time_kind FROM {accepted})"
        )
        cells = load_cells(reader, rules, None, None, recent, workflow_ids, samples)
    finally:
        rollback_quietly(cursor)  # it wrote nothing
    if cells.empty:
        return [], []
    return _set_aside(cells), _break_weeks(cells)


def _set_aside(cells: pd.DataFrame) -> list[str]:
    phases = cells.groupby(["workflow_id", "phase"])[["outlier_samples", "censored_samples"]].first()
    notes = []
    for workflow_id, rows in phases.groupby(level="workflow_id"):
        counts = rows.droplevel("workflow_id").reindex(["before", "after"]).dropna()
        outliers, censored = int(counts.outlier_samples.sum()), int(counts.censored_samples.sum())
        if not outliers and not censored:
            continue
        per_phase = ", ".join(
            f"{int(c.outlier_samples + c.censored_samples):,} {phase}" for phase, c in counts.iterrows()
        )
        notes.append(
            f"Once stored, {workflow_id}: the estimate sets aside {outliers + censored:,} loop(s) "
            f"({per_phase}): "
            f"{outliers:,} implausibly long (outliers) and {censored:,} that could not finish inside the "
            "export's window (only loops that had the same time to finish are compared). They stay stored "
            "and counted as done; the workflow page lists them."
        )
    return notes


def _break_weeks(cells: pd.DataFrame) -> list[str]:
    """Not for a censored export: its weekly means by close date are shaped by the window itself."""
    notes = []
    for workflow_id, series in split(weekly_means(cells[~cells.censored.astype(bool)], None, set())):
        day = likely_break(series)
        if day is None:
            continue
        stated = date(1970, 1, 1) + timedelta(days=int(series.day[series.post].min()))
        found = date(1970, 1, 1) + timedelta(days=int(day))
        notes.append(
            f"{workflow_id}: the loop times change most around the week of {found:%Y-%m-%d}, "
            f"{abs((found - stated).days) // 7} weeks from the go-live's week ({stated:%Y-%m-%d}): check the "
            "go-live date (a saving measured from the wrong week is diluted or credits other changes)."
        )
    return notes
