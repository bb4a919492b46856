"""Pending batches: an upload's rows written at preview, which no read sees until Confirm.

Every read of timing rows goes through the ``committed_samples`` view (migration 008): it leaves out
every batch listed in ``pending_batches``; Confirm deletes the batch's row there, in the
transaction that records the upload. (A read that costs more through the view names
``committed_rows``: the table itself while, in its transaction, no batch is pending.) A preview
that is never confirmed (cancelled, its session closed, its process killed) is removed at the next
start (``sweep``, run by ``open_store``): on a DuckDB file (one process at a time) every other
process's; on a shared PostgreSQL server, one whose process on this machine is gone, or one older
than ``MAX_AGE`` (another machine's).
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from aiops.auth import Actor
from aiops.store.store import Reader, Store, Tx

VIEW = "committed_samples"
MAX_AGE = timedelta(days=1)  # a preview left unconfirmed this long is abandoned, wherever it was made


# Tells this process from an earlier one given the same id (a restarted container's process 1).
_RUN = uuid.uuid4().hex[:12]


def owner() -> str:
    """This process, as a pending batch records it: host, process id, and this run."""
    return f"{socket.gethostname()}:{os.getpid()}:{_RUN}"


def committed_rows(db: Reader) -> str:
    """The relation that holds the committed timing rows, for a read in ``db``'s transaction: on a
    DuckDB file the table itself while no preview holds a pending batch (the usual case), else the
    view. (A view's copies on PostgreSQL hold committed rows only, under the view's name.) The view's
    anti-join costs a read of the rows little once, but a query that reads them twice (the
    estimates' cells) has DuckDB copy every filtered row first (its common-subplan optimizer
    materializes the join): 0.25 s of 0.7 s at 3M rows."""
    if db.postgres or db.query_value("SELECT count(*) FROM pending_batches"):
        return VIEW
    return "timing_samples"


def hold(tx: Tx, batch_id: int) -> None:
    """List ``batch_id`` as pending (before its rows are written, in the same transaction)."""
    tx.execute(
        "INSERT INTO pending_batches (batch_id, owner, actor, created_at) VALUES (?, ?, ?, ?)",
        [batch_id, owner(), tx.actor.name, tx.now],
    )


def release(tx: Tx, batch_id: int) -> bool:
    """Make ``batch_id``'s rows visible (Confirm); False when it is no longer pending."""
    if tx.query_one("SELECT 1 FROM pending_batches WHERE batch_id = ?", [batch_id]) is None:
        return False
    tx.execute("DELETE FROM pending_batches WHERE batch_id = ?", [batch_id])
    return True


def discard(tx: Tx, batch_ids: list[int]) -> None:
    """Delete pending batches and their rows (a committed batch is never touched)."""
    pending = "(SELECT batch_id FROM pending_batches WHERE batch_id IN (SELECT unnest($ids::BIGINT[])))"
    tx.execute(f"DELETE FROM timing_samples WHERE batch_id IN {pending}", {"ids": batch_ids})
    tx.execute(f"DELETE FROM pending_batches WHERE batch_id IN {pending}", {"ids": batch_ids})


def sweep(store: Store, now: datetime) -> list[int]:
    """Remove the pending batches nobody can confirm any more; returns their ids. Reads the (few)
    pending rows first: a start with none writes nothing."""
    held = store.query("SELECT batch_id, owner, created_at FROM pending_batches")
    stale = [
        batch_id
        for batch_id, held_by, created_at in held
        if held_by != owner() and (not store.postgres or created_at < now - MAX_AGE or _gone(held_by))
    ]
    if stale:
        store.write(Actor(name="aiops (start)", role="admin"), lambda tx: discard(tx, stale))
    return stale


def _gone(held_by: str) -> bool:
    """Whether the process that holds a pending batch has ended (known only for this machine's)."""
    host, pid, run = ["", "", "", *held_by.rsplit(":", 2)][-3:]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return run != _RUN  # an earlier process that had this id
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process: alive
        return False
    return False
