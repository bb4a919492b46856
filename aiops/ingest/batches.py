"""Upload batches: the list, and undo (a batch's samples leave as a whole, audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from aiops import governance
from aiops.auth import Actor
from aiops.errors import Conflict, NotFound
from aiops.ingest.replacing import restore_replaced
from aiops.store import Store, Tx

# -- batches --------------------------------------------------------------------------------------


def list_batches(db: Store) -> pd.DataFrame:
    return db.query_df(
        "SELECT batch_id, uploaded_at, actor, file_name, workflow_ids, rows_total, accepted, rejected, "
        "coalesce((mapping->>'business_hours')::BOOLEAN, false) AS business_hours, undone_at, undone_by, "
        "file_sha256 FROM upload_batches ORDER BY batch_id DESC"
    )


@dataclass(frozen=True)
class BatchContents:
    """What undoing a batch removes: its samples and loops, their period, per workflow."""

    batch_id: int
    file_name: str
    samples: int
    loops: int
    first: datetime | None
    last: datetime | None
    workflows: pd.DataFrame  # workflow_id, name, department, before, after (samples per phase)

    def sentence(self) -> str:
        period = f"measured {self.first:%Y-%m-%d} to {self.last:%Y-%m-%d}" if self.first and self.last else ""
        names = ", ".join(f"{w.name} ({w.workflow_id})" for w in self.workflows.itertuples(index=False))
        return (
            f"Undoing batch {self.batch_id} ({self.file_name}) removes {self.samples:,} timing samples "
            f"({self.loops:,} loops){', ' + period if period else ''} from {names or 'no workflow'}; "
            "their savings, evidence and status are recomputed without them."
        )


def batch_contents(db: Store, batch_id: int) -> BatchContents:
    head = db.query_one("SELECT file_name FROM upload_batches WHERE batch_id = ?", [batch_id])
    if head is None:
        raise NotFound(f"no batch {batch_id}", "see `aiops timings batches`")
    samples, loops, first, last = db.query_one(
        "SELECT count(*), coalesce(sum(loops), 0), min(measured_at), max(measured_at) "
        "FROM timing_samples WHERE batch_id = ?",
        [batch_id],
    ) or (0, 0, None, None)
    workflows = db.query_df(
        "SELECT t.workflow_id, any_value(w.name) AS name, any_value(w.department) AS department,"
        " count(*) FILTER (WHERE t.phase = 'before') AS before,"
        " count(*) FILTER (WHERE t.phase = 'after') AS after"
        " FROM timing_samples t JOIN workflows w USING (workflow_id) WHERE t.batch_id = ?"
        " GROUP BY t.workflow_id ORDER BY t.workflow_id",
        [batch_id],
    )
    return BatchContents(batch_id, head[0], int(samples), int(loops), first, last, workflows)


def undo_batch(store: Store, actor: Actor, batch_id: int) -> int:
    """Remove a batch's samples as a whole (audited); returns how many samples went."""

    def run(tx: Tx) -> int:
        row = tx.query_one(
            "SELECT workflow_ids, undone_at FROM upload_batches WHERE batch_id = ?", [batch_id]
        )
        if row is None:
            raise NotFound(f"no batch {batch_id}", "see `aiops timings batches`")
        workflow_ids, undone_at = row
        if undone_at is not None:
            raise Conflict(f"batch {batch_id} was already undone at {undone_at:%Y-%m-%d %H:%M}")
        for (department,) in tx.query(
            "SELECT DISTINCT department FROM workflows WHERE workflow_id IN (SELECT unnest(?))",
            [workflow_ids],
        ):
            tx.actor.require_write(department, "undo uploads")
        removed = tx.query("SELECT count(*) FROM timing_samples WHERE batch_id = ?", [batch_id])[0][0]
        tx.execute("DELETE FROM timing_samples WHERE batch_id = ?", [batch_id])
        restored = restore_replaced(tx, batch_id)
        tx.execute(
            "UPDATE upload_batches SET undone_at = ?, undone_by = ? WHERE batch_id = ?",
            [tx.now, tx.actor.name, batch_id],
        )
        tx.audit(
            "upload.undone",
            "batch",
            str(batch_id),
            {"samples_removed": removed, "samples_restored": restored, "workflow_ids": list(workflow_ids)},
        )
        governance.reclassify(tx, list(workflow_ids))
        return removed

    return store.write(actor, run)
