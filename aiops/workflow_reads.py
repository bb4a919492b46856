"""Reads of the workflow inventory. Writes live in ``aiops.inventory``; both ``governance`` and
``inventory`` read through this module, so neither has to import the other both ways."""

from __future__ import annotations

from collections.abc import Iterable

from aiops.errors import NotFound
from aiops.identity import identity_key
from aiops.store import Reader
from aiops.workflow import FIELDS, Workflow

COLUMNS = ", ".join(f'"{f}"' for f in FIELDS)
_LOAD = (
    f"SELECT {COLUMNS} FROM workflows WHERE $ids IS NULL OR workflow_id IN (SELECT unnest($ids)) "
    "OR ($dependants AND comparison_workflow_id IN (SELECT unnest($ids))) ORDER BY department, name"
)
_DEPARTMENTS = "SELECT DISTINCT department FROM workflows ORDER BY 1"


def load_workflows(
    db: Reader, workflow_ids: Iterable[str] | None = None, dependants: bool = False
) -> list[Workflow]:
    """The workflows ``workflow_ids`` names (all when None), with ``dependants`` also those that
    use one of them as their comparison."""
    ids = None if workflow_ids is None else list(workflow_ids)
    rows = db.query(_LOAD, {"ids": ids, "dependants": dependants})
    # Stored rows keep the lengths they were written with (bounds apply to new input, see ``Workflow``).
    stored = {"stored": True}
    return [Workflow.model_validate(dict(zip(FIELDS, row, strict=True)), context=stored) for row in rows]


def get_workflow(db: Reader, workflow_id: str) -> Workflow:
    """The workflow ``workflow_id`` names, whatever its case and spacing (``identity_key``)."""
    stored = known_workflow_id(db, workflow_id)
    found = load_workflows(db, [stored]) if stored is not None else []
    if not found:
        raise NotFound(f"no workflow with id '{workflow_id}'", "see `aiops workflows list`")
    return found[0]


def departments(db: Reader) -> list[str]:
    return [r[0] for r in db.query(_DEPARTMENTS)]


def known_department(db: Reader, name: str) -> str | None:
    """The stored spelling of a department that ``name`` names ignoring case and spacing."""
    key = identity_key(name)
    return next((d for d in departments(db) if identity_key(d) == key), None)


def known_workflow_id(db: Reader, workflow_id: str) -> str | None:
    """The stored spelling of the workflow id that ``workflow_id`` names ignoring case and spacing."""
    row = db.query_one(
        "SELECT workflow_id FROM workflows WHERE identity_key(workflow_id) = identity_key(?) "
        "ORDER BY created_at LIMIT 1",
        [workflow_id],
    )
    return row[0] if row else None
