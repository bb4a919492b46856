"""Reads of the workflow inventory. Writes live in ``aiops.inventory``; both ``governance`` and
``inventory`` read through this module, so neither has to import the other both ways."""

from __future__ import annotations

from collections.abc import Iterable

from aiops.errors import NotFound
from aiops.store import Reader
from aiops.workflow import FIELDS, Workflow

COLUMNS = ", ".join(f'"{f}"' for f in FIELDS)
_LOAD = (
    f"SELECT {COLUMNS} FROM workflows WHERE $ids IS NULL OR workflow_id IN (SELECT unnest($ids)) "
    "ORDER BY department, name"
)
_DEPARTMENTS = "SELECT DISTINCT department FROM workflows ORDER BY 1"


def load_workflows(db: Reader, workflow_ids: Iterable[str] | None = None) -> list[Workflow]:
    ids = None if workflow_ids is None else list(workflow_ids)
    rows = db.query(_LOAD, {"ids": ids})
    return [Workflow.model_validate(dict(zip(FIELDS, row, strict=True))) for row in rows]


def get_workflow(db: Reader, workflow_id: str) -> Workflow:
    found = load_workflows(db, [workflow_id])
    if not found:
        raise NotFound(f"no workflow with id '{workflow_id}'", "see `aiops workflows list`")
    return found[0]


def departments(db: Reader) -> list[str]:
    return [r[0] for r in db.query(_DEPARTMENTS)]
