"""Records pulled from a tool replace their earlier samples; undo puts the replaced ones back.

A pulled record carries its id in the tool, namespaced by its source (``PulledRecords.namespace``):
pulled again (an issue reopened and resolved later, an overlapping window), it replaces the sample
its id already has in that workflow, in the batch's own transaction. A record pulled again
unchanged is neither replaced nor written twice. One sample per (workflow, record id) is this
module's rule (no index holds it: see migration 009): a pull's ids are distinct, and its commit
deletes the earlier samples of its ids before it inserts, under the one write lock. A replaced
sample moves to ``replaced_samples`` with the batch that replaced it: undoing that batch moves it
back (unless its own batch was undone).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiops.store import Tx

SAMPLE_COLUMNS = (
    "batch_id, workflow_id, phase, measured_at, duration_minutes, loops, rework_minutes,"
    " time_kind, ai_assisted, segment, source_id, source_record_id"
)


@dataclass(frozen=True)
class PulledRecords:
    """An import of records pulled from a source: its id, the prefix of its record ids, and what
    to write with the batch in the same transaction (the source's cursor):
    ``after_commit(tx, batch_id, samples_written, samples_replaced)``."""

    source_id: int
    namespace: str
    after_commit: Callable[[Tx, int, int, int], None]


class NothingNew(Exception):  # noqa: N818 - an outcome, not a failure
    """Raised inside a pull's commit when every accepted record is stored already, unchanged: the
    transaction rolls back and the pull writes no batch. ``args[0]``: the records accepted."""


# A stored sample ``s`` of the accepted record ``a`` (its namespaced id, in its workflow), and the
# same sample unchanged. The accepted view is read as it is, never copied: a copy of 100,000 rows
# was a sixth of a pull's import.
_ITS_SAMPLE = "s.workflow_id = a.workflow_id AND s.source_record_id = $ns || a.record_id"
_UNCHANGED = (
    "s.phase = a.phase AND s.measured_at = a.measured_at AND s.loops = a.loops"
    " AND s.duration_minutes = a.duration_minutes AND s.rework_minutes = a.rework_minutes"
    " AND s.time_kind = $kind"
)


def changed_count(tx: Tx, accepted: str, pulled: PulledRecords, time_kind: str) -> int:
    """How many ``accepted`` records are new or changed (not stored already as they are). Run on
    the import's cursor in the batch's transaction, so that it compares with what the batch
    replaces."""
    return int(
        tx.query_value(
            f"SELECT count(*) FROM {accepted} a"
            f" WHERE NOT EXISTS (SELECT 1 FROM timing_samples s WHERE {_ITS_SAMPLE} AND {_UNCHANGED})",
            {"ns": pulled.namespace, "kind": time_kind},
        )
    )


def replace_earlier(tx: Tx, accepted: str, pulled: PulledRecords, time_kind: str, batch_id: int) -> int:
    """Move aside the stored samples of the ``accepted`` records that changed (kept for undo);
    return how many. A comparison with a missing value counts as a change."""
    earlier = (
        f" FROM timing_samples s WHERE s.source_record_id IS NOT NULL AND EXISTS (SELECT 1 FROM {accepted} a"
        f" WHERE {_ITS_SAMPLE} AND NOT coalesce({_UNCHANGED}, FALSE))"
    )
    values = {"ns": pulled.namespace, "kind": time_kind}
    moved = int(tx.query_value("SELECT count(*)" + earlier, values))
    if moved:
        tx.execute(
            f"INSERT INTO replaced_samples (replaced_by, {SAMPLE_COLUMNS})"
            f" SELECT $batch, {', '.join('s.' + c.strip() for c in SAMPLE_COLUMNS.split(','))}" + earlier,
            values | {"batch": batch_id},
        )
        tx.execute("DELETE" + earlier, values)
    return moved


def insert_changed(tx: Tx, accepted: str, pulled: PulledRecords, time_kind: str, batch_id: int) -> None:
    """Store the new and changed ``accepted`` records as samples of ``batch_id``, after
    ``replace_earlier``: a record that still has a stored sample then has it unchanged."""
    tx.execute(
        f"INSERT INTO timing_samples ({SAMPLE_COLUMNS}) SELECT $batch, a.workflow_id, a.phase, a.measured_at,"
        " a.duration_minutes, a.loops, a.rework_minutes, $kind, a.ai_assisted, a.segment, $source::BIGINT,"
        f" $ns || a.record_id FROM {accepted} a"
        f" WHERE NOT EXISTS (SELECT 1 FROM timing_samples s WHERE {_ITS_SAMPLE})",
        {"batch": batch_id, "kind": time_kind, "source": pulled.source_id, "ns": pulled.namespace},
    )


def restore_replaced(tx: Tx, batch_id: int) -> int:
    """Undoing ``batch_id`` (its own samples already deleted): the samples it replaced go back,
    those whose own batch is still live; one whose record a later batch holds now is kept for
    that batch's undo instead. A pull's source rewinds to the cursor that pull started from, so
    the next pull fetches those records again. Returns how many samples came back."""
    holder = (
        "SELECT s.batch_id FROM timing_samples s WHERE s.workflow_id = r.workflow_id"
        " AND s.source_record_id = r.source_record_id"
    )
    tx.execute(
        f"UPDATE replaced_samples r SET replaced_by = ({holder})"
        f" WHERE r.replaced_by = ? AND EXISTS ({holder})",
        [batch_id],
    )
    live = (
        " FROM replaced_samples r WHERE r.replaced_by = ? AND r.batch_id IN"
        " (SELECT batch_id FROM upload_batches WHERE undone_at IS NULL)"
    )
    restored = int(tx.query_value("SELECT count(*)" + live, [batch_id]))
    if restored:
        tx.execute(
            f"INSERT INTO timing_samples ({SAMPLE_COLUMNS}) SELECT {SAMPLE_COLUMNS}" + live, [batch_id]
        )
    tx.execute("DELETE FROM replaced_samples WHERE replaced_by = ?", [batch_id])
    tx.execute(
        "UPDATE sources SET pull_cursor = (SELECT cursor_before FROM source_pulls WHERE batch_id = $b)"
        " WHERE source_id = (SELECT source_id FROM source_pulls WHERE batch_id = $b)",
        {"b": batch_id},
    )
    return restored
