"""Mistakes caught before a timing upload runs its checks: the wrong kind of file, one column
serving two roles, a workflow column that holds no workflow id. Each is a one-line
``MappingError`` naming the columns, never a database error."""

from __future__ import annotations

from aiops.errors import MappingError
from aiops.ingest.mapping import header_key
from aiops.ingest.sniff import SourceFile
from aiops.sql import quote_ident
from aiops.store import Cursor

# The headers that make a file a workflows sheet (the register/inventory contract), not timings.
WORKFLOW_SHEET_KEYS = ("workflow_id", "name", "department")
WORKFLOW_SHEET_HINTS = ("owner", "reviewer", "review_requirement", "manual_process", "data_touched")
# The timestamp a loop is measured at may be its start, end or event timestamp: no conflict.
MAY_SHARE = {frozenset({"measured_at", "start"}), frozenset({"measured_at", "end"})}
ROLE_LABEL = {
    "workflow": "workflow",
    "duration": "duration",
    "start": "start",
    "end": "end",
    "case": "case id",
    "timestamp": "event timestamp",
    "phase": "phase",
    "loops": "loops",
    "rework": "rework minutes",
    "measured_at": "measured at",
}


def is_workflows_sheet(header: list[str]) -> bool:
    keys = {header_key(h) for h in header}
    timing_keys = {"duration_minutes", "measured_at", "phase"}
    return (
        all(k in keys for k in WORKFLOW_SHEET_KEYS)
        and any(k in keys for k in WORKFLOW_SHEET_HINTS)
        and not keys & timing_keys
    )


def refuse_workflows_sheet(source: SourceFile) -> None:
    """A workflows spreadsheet dropped on the timings upload is pointed to its own import."""
    if is_workflows_sheet(source.header):
        raise MappingError(
            f"{source.name} is a workflows sheet (workflow_id, name, department, owner…), not timings",
            "import it on the Register page (Import a workflows CSV) or with `aiops workflows import FILE`",
        )


def check_roles(columns: dict[str, str]) -> None:
    """One role per column: a column mapped to two roles (start = end...) is refused by name."""
    by_column: dict[str, list[str]] = {}
    for role, column in columns.items():
        by_column.setdefault(column, []).append(role)
    for column, roles in by_column.items():
        if len(roles) > 1 and frozenset(roles) not in MAY_SHARE:
            if set(roles) == {"start", "end"}:
                raise MappingError(
                    f"start and end are the same column '{column}': every loop would last 0 minutes",
                    "pick the column of when each loop ended (resolved, closed, merged…)",
                )
            named = " and ".join(ROLE_LABEL[r] for r in roles)
            raise MappingError(
                f"column '{column}' is mapped as both {named}: one column serves one role",
                "pick another column for one of them",
            )


def check_workflow_column(cursor: Cursor, table: str, column: str, typed_column: str) -> None:
    """A workflow column that matches no registered workflow id is a wrong column, not 100%
    rejected rows. ``typed_column`` is the staging column's name."""
    known, total, shown = cursor.execute(
        f"WITH v AS (SELECT DISTINCT CAST({quote_ident(typed_column)} AS VARCHAR) AS raw FROM {table} "
        f"WHERE {quote_ident(typed_column)} IS NOT NULL), "
        "k AS (SELECT raw, EXISTS (SELECT 1 FROM workflows w "
        "WHERE identity_key(w.workflow_id) = identity_key(v.raw)) AS known FROM v) "
        "SELECT count(*) FILTER (WHERE known), count(*), list(raw ORDER BY raw)[1:3] FROM k"
    ).fetchall()[0]
    if total and not known:
        values = ", ".join(repr(raw[:40]) for raw in shown)
        raise MappingError(
            f"the workflow column '{column}' holds no known workflow id (it holds {values}…)",
            "pick the column with workflow ids, or choose one workflow for the whole file",
        )
