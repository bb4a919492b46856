"""Migration 005's data step: workflow ids and department names that differ only in case or
spacing ("twins", written before ids and departments became one identity whatever their case) are
merged where that loses nothing, each merge audited; otherwise the migration is refused, unchanged.

- Departments: every spelling becomes the first written (the department of its oldest workflow).
- Workflows: a twin that holds nothing (no timing samples, no live upload batch, no checkpoint
  event) is folded into the twin that holds data, or into the first written when none does: its
  row (kept whole in the audit entry) and its classification go; comparisons and undone batches
  that named it name the kept twin. Two twins that both hold data are not merged: which samples are
  the real ones (issue 12 saw one Jira import stored in both) is a person's decision.

The step uses plain DML through the transaction (``query``, ``execute``, ``audit``), so it runs the
same on a DuckDB file and on PostgreSQL attached by DuckDB.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiops.errors import StoreError
from aiops.identity import identity_key

Params = Sequence[Any] | Mapping[str, Any] | None


class StepTx(Protocol):
    def query(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]: ...

    def execute(self, sql: str, params: Params = None) -> None: ...

    def audit(
        self, action: str, entity: str, entity_id: str | None, detail: dict[str, Any] | None = None
    ) -> None: ...


@dataclass
class _Workflow:
    workflow_id: str
    samples: int
    batches: list[int]
    events: int

    @property
    def holds_data(self) -> bool:
        return bool(self.samples or self.batches or self.events)

    def describe(self) -> str:
        held = [f"{self.samples:,} timing samples"] if self.samples else []
        if self.batches:
            held.append(
                "upload batch" + ("es " if len(self.batches) > 1 else " ") + ", ".join(map(str, self.batches))
            )
        if self.events:
            held.append(f"{self.events} checkpoint event" + ("s" if self.events > 1 else ""))
        return f"'{self.workflow_id}' ({'; '.join(held) or 'no data'})"


_WORKFLOWS = """
SELECT w.workflow_id,
       (SELECT count(*) FROM timing_samples s WHERE s.workflow_id = w.workflow_id) AS samples,
       (SELECT count(*) FROM checkpoint_events e WHERE e.workflow_id = w.workflow_id) AS events
FROM workflows w ORDER BY w.created_at, w.workflow_id
"""
_LIVE_BATCHES = "SELECT batch_id, workflow_ids FROM upload_batches WHERE undone_at IS NULL ORDER BY batch_id"
_UNDONE_BATCHES = "SELECT batch_id, workflow_ids FROM upload_batches WHERE undone_at IS NOT NULL"


def merge_identity_twins(tx: StepTx) -> None:
    """Merge the twins that can be merged, or raise ``StoreError`` (nothing changed) listing the
    ones that cannot and what to do."""
    groups = _workflow_twins(tx)
    conflicts = [g for g in groups if sum(w.holds_data for w in g) > 1]
    if conflicts:
        listed = "; ".join(" and ".join(w.describe() for w in g) for g in conflicts)
        raise StoreError(
            f"migration 005 stopped, nothing was changed: {len(conflicts)} workflow id"
            f"{' differs' if len(conflicts) == 1 else 's differ'} only in case or spacing from "
            f"another and both hold data, so they cannot be merged safely: {listed}",
            "keep one of each pair: with the Saved Loops release you used before, undo the upload "
            "batches that stored samples under the wrong id (`aiops timings undo BATCH`) and remove "
            "that id's checkpoint events, or restore a backup made before them; then open the "
            "database again and the empty twin is merged",
        )
    _merge_departments(tx)  # first: a folded twin may hold the department's first spelling
    for group in groups:
        keep = next((w for w in group if w.holds_data), group[0])
        for twin in group:
            if twin is not keep:
                _fold(tx, twin.workflow_id, keep.workflow_id)


def _workflow_twins(tx: StepTx) -> list[list[_Workflow]]:
    batches: dict[str, list[int]] = defaultdict(list)
    for batch_id, workflow_ids in tx.query(_LIVE_BATCHES):
        for workflow_id in dict.fromkeys(workflow_ids):
            batches[workflow_id].append(batch_id)
    by_key: dict[str, list[_Workflow]] = defaultdict(list)
    for workflow_id, samples, events in tx.query(_WORKFLOWS):  # oldest first
        by_key[identity_key(workflow_id)].append(
            _Workflow(workflow_id, samples, batches.get(workflow_id, []), events)
        )
    return [group for group in by_key.values() if len(group) > 1]


_NAMING = "SELECT workflow_id FROM workflows WHERE comparison_workflow_id = ? ORDER BY workflow_id"


def _fold(tx: StepTx, twin: str, keep: str) -> None:
    (row,) = tx.query("SELECT to_json(w)::VARCHAR FROM workflows w WHERE workflow_id = ?", [twin])
    # Workflows whose comparison named the twin now name the kept one (the kept one itself: none).
    naming = [r[0] for r in tx.query(_NAMING, [twin])]
    tx.execute(
        "UPDATE workflows SET comparison_workflow_id = CASE WHEN workflow_id = ? THEN NULL ELSE ? END "
        "WHERE comparison_workflow_id = ?",
        [keep, keep, twin],
    )
    renamed = []
    for batch_id, workflow_ids in tx.query(_UNDONE_BATCHES):
        if twin in workflow_ids:
            named = list(dict.fromkeys(keep if w == twin else w for w in workflow_ids))
            tx.execute("UPDATE upload_batches SET workflow_ids = ? WHERE batch_id = ?", [named, batch_id])
            renamed.append(batch_id)
    tx.execute("DELETE FROM classifications WHERE workflow_id = ?", [twin])
    tx.execute("DELETE FROM workflows WHERE workflow_id = ?", [twin])
    tx.audit(
        "workflow.merged",
        "workflow",
        keep,
        {
            "source": "migration 005",
            "merged": twin,
            "undone_batches_renamed": renamed,
            "comparisons_repointed": [w for w in naming if w != keep],
            "comparison_cleared": keep in naming,
            "removed": json.loads(row[0]),
        },
    )


def _merge_departments(tx: StepTx) -> None:
    spellings: dict[str, list[str]] = defaultdict(list)
    for (department,) in tx.query("SELECT department FROM workflows ORDER BY created_at, workflow_id"):
        found = spellings[identity_key(department)]
        if department not in found:
            found.append(department)
    for first, *others in (s for s in spellings.values() if len(s) > 1):
        (count,) = tx.query(
            "SELECT count(*) FROM workflows WHERE department IN (SELECT unnest(?))", [others]
        )[0]
        tx.execute(
            "UPDATE workflows SET department = ? WHERE department IN (SELECT unnest(?))", [first, others]
        )
        tx.audit(
            "department.merged",
            "department",
            first,
            {"source": "migration 005", "merged": others, "workflows": count},
        )
