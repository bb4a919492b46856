"""Row checks in SQL: the first failing check of a row names its column and reason.

Both importers compute their fields in one SQL projection over the staging table, add a
``reject_column``/``reject_reason`` pair from their checks, and report rejects here, with the
parse rejects of the reader, as one list sorted by line.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from aiops.ingest.reader import Staged
from aiops.sql import sql_literal


@dataclass(frozen=True)
class Check:
    """``failed`` is a SQL condition over the parsed row; ``column`` is the file's header."""

    failed: str
    column: str
    reason: str
    show: str | None = None  # SQL of the offending value, quoted after the reason


def reject_columns(checks: list[Check]) -> str:
    """SQL for ``reject_check, reject_column, reject_reason``: NULL when every check passes.
    The checks are evaluated once (the number of the first that fails); the column and reason
    are looked up from it."""
    if not checks:
        return "NULL::INTEGER AS reject_check, NULL::VARCHAR AS reject_column, NULL::VARCHAR AS reject_reason"
    first = " ".join(f"WHEN {c.failed} THEN {number}" for number, c in enumerate(checks, start=1))
    columns = ", ".join(sql_literal(c.column) for c in checks)
    reasons = ", ".join(sql_literal(c.reason) for c in checks)
    reason = f"[{reasons}][reject_check]"
    if any(c.show for c in checks):
        quote = "''''"  # SQL for a single quote
        shows = ", ".join(f"': ' || {quote} || {c.show} || {quote}" if c.show else "NULL" for c in checks)
        reason = f"{reason} || coalesce([{shows}][reject_check], '')"
    return (
        f"CASE {first} END AS reject_check, [{columns}][reject_check] AS reject_column, "
        f"{reason} AS reject_reason"
    )


def all_rejects(staged: Staged, checked: str, limit: int | None = None) -> pd.DataFrame:
    """Parse rejects and check failures of table ``checked`` (which keeps ``rid``), by line."""
    failures = staged.cursor.execute(
        f"SELECT count(*) FROM {checked} WHERE reject_reason IS NOT NULL"
    ).fetchall()[0][0]
    frames = [staged.parse_rejects[["line", "column", "reason"]]]
    if failures:
        lines = staged.line_table()
        frames.append(
            staged.cursor.execute(
                f"SELECT l.line, c.reject_column AS column, c.reject_reason AS reason "
                f"FROM {checked} c JOIN {lines} l ON l.rowid = c.rid "
                f"WHERE c.reject_reason IS NOT NULL"
            ).df()
        )
    rejects = (
        pd.concat([f for f in frames if len(f)], ignore_index=True)
        if any(len(f) for f in frames)
        else frames[0]
    )
    rejects = rejects.sort_values("line", kind="stable").reset_index(drop=True)
    rejects["line"] = rejects["line"].astype("int64")
    return rejects.head(limit) if limit else rejects
