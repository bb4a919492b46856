"""Row checks in SQL: the first failing check of a row names its column and reason.

Both importers compute their fields in one SQL projection over the file's records, add a
``reject_column``/``reject_reason`` pair from their checks, and report rejects here, with the
parse rejects of the reader, as one list sorted by line.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pandas as pd

from aiops.ingest.reader import EVIDENCE_KEPT, RECORD_SHOWN, Staged, record_texts
from aiops.sql import bound, quote_ident


@dataclass(frozen=True)
class Check:
    """``failed`` is a SQL condition over the parsed row; ``column`` is the file's header."""

    failed: str
    column: str
    reason: str
    show: str | None = None  # SQL of the offending value, quoted after the reason


def first_failure(checks: list[Check]) -> str:
    """SQL for the number of the first check that fails (from 1), NULL when every check passes."""
    if not checks:
        return "NULL::INTEGER"
    return "CASE " + " ".join(f"WHEN {c.failed} THEN {k}" for k, c in enumerate(checks, start=1)) + " END"


def reject_columns(checks: list[Check]) -> str:
    """SQL for ``reject_check, reject_column, reject_reason``: NULL when every check passes.
    The checks are evaluated once (the number of the first that fails); the column and reason
    are looked up from it, bound: pass ``reject_values(checks)`` with the statement."""
    if not checks:
        return "NULL::INTEGER AS reject_check, NULL::VARCHAR AS reject_column, NULL::VARCHAR AS reject_reason"
    reason = "($reject_reasons::VARCHAR[])[reject_check]"
    if any(c.show for c in checks):
        quote = "''''"  # SQL for a single quote
        shows = ", ".join(f"': ' || {quote} || {c.show} || {quote}" if c.show else "NULL" for c in checks)
        reason = f"{reason} || coalesce([{shows}][reject_check], '')"
    return (
        f"{first_failure(checks)} AS reject_check, "
        "($reject_columns::VARCHAR[])[reject_check] AS reject_column, "
        f"{reason} AS reject_reason"
    )


def reject_values(checks: list[Check]) -> dict[str, object]:
    """The values ``reject_columns`` names (columns are the file's own headers: user text, bound)."""
    return {"reject_columns": [c.column for c in checks], "reject_reasons": [c.reason for c in checks]}


def all_rejects(
    staged: Staged,
    checked: str,
    limit: int | None = None,
    value_columns: tuple[str, ...] = (),
    id_column: str | None = None,
    checks: list[Check] | None = None,
) -> pd.DataFrame:
    """Parse rejects and check failures of table ``checked`` (which keeps ``rid``), by line.
    With ``value_columns`` (staging columns that checks name), a check failure carries the
    offending ``value``; with ``id_column``, every rejected record that parsed carries its ``id``.
    With ``checks``, the checks ran while reading (``checked`` is the staged table): its rows are
    the records in order, each with the number of its failed check (``reject_check``), the
    offending ``reject_value`` and, with ``id_column``, the ``reject_id``."""
    one_pass = checks is not None
    verdict = "reject_check" if one_pass else "reject_reason"
    count = f"SELECT count(*) FROM {checked} WHERE {verdict} IS NOT NULL"
    failures = staged.cursor.execute(count).fetchall()[0][0]
    details = bool(value_columns or id_column)
    parse = staged.parse_rejects[["line", "column", "reason"]]
    if details:
        parse = parse.assign(**_parse_reject_details(staged, id_column))
    frames = [parse]
    if failures:
        lines = staged.line_table()
        verdicts, extra, join = "c.reject_column AS column, c.reject_reason AS reason", "", ""
        if one_pass:
            verdicts = _looked_up()
        if details and one_pass:
            extra = f", c.reject_value AS value, {'c.reject_id' if id_column else 'NULL::VARCHAR'} AS id"
        elif details:
            whens = " ".join(
                f"WHEN ($value_columns::VARCHAR[])[{k}] THEN CAST(s.{quote_ident(c)} AS VARCHAR)"
                for k, c in enumerate(value_columns, start=1)
            )
            value = f"CASE c.reject_column {whens} END" if whens else "NULL::VARCHAR"
            row_id = f"CAST(s.{quote_ident(id_column)} AS VARCHAR)" if id_column else "NULL::VARCHAR"
            extra = f", {value} AS value, {row_id} AS id"
            join = f" JOIN {staged.table} s ON s.rowid = c.rid"
        rid = "c.rowid" if one_pass else "c.rid"
        query = (
            f"SELECT l.line, {verdicts}{extra} "
            f"FROM {checked} c JOIN {lines} l ON l.rowid = {rid}{join} "
            f"WHERE c.{verdict} IS NOT NULL"
        )
        values = {"value_columns": list(value_columns)} | reject_values(checks or [])
        values["reject_shows"] = [bool(c.show) for c in checks or []]
        frames.append(staged.cursor.execute(query, bound(query, values)).df())
    rejects = (
        pd.concat([f for f in frames if len(f)], ignore_index=True)
        if any(len(f) for f in frames)
        else frames[0]
    )
    rejects = rejects.sort_values("line", kind="stable").reset_index(drop=True)
    rejects["line"] = rejects["line"].astype("int64")
    rejects = rejects.head(limit) if limit else rejects
    # The record's own text, whatever the reason: the evidence a lead checks the reason against.
    shown = rejects.line.head(EVIDENCE_KEPT).tolist()
    records = record_texts(staged, shown) + [None] * (len(rejects) - len(shown))
    rejects = rejects.assign(record=pd.Series(records, dtype=object))
    if "value" in rejects:
        rejects["value"] = _as_written(staged, rejects)
    return rejects


def evidence_note(rejected: int) -> list[str]:
    """What the report says when some rejected records are listed without their own text."""
    if rejected <= EVIDENCE_KEPT:
        return []
    return [
        f"The first {EVIDENCE_KEPT:,} rejected records carry their own text; the other "
        f"{rejected - EVIDENCE_KEPT:,} are listed with line, column and reason."
    ]


def _as_written(staged: Staged, rejects: pd.DataFrame) -> pd.Series:
    """Each reject's value as the file writes it: values are read as text, so only a value read
    as missing (a marker such as `None` or `-`) is looked up in the record's own text (an empty
    cell stays "no value"), where that text is kept whole."""
    columns, dialect = staged.source.columns, staged.source.dialect
    values = rejects["value"].astype(object)
    missing = values.isna() & rejects["record"].notna() & rejects["column"].isin(columns)
    for i in missing[missing].index:
        record, column = rejects.at[i, "record"], rejects.at[i, "column"]
        fields = _fields(record, dialect.delimiter, dialect.quote)
        if fields is not None and len(fields) == len(columns) and len(record) < RECORD_SHOWN:
            values.at[i] = fields[columns.index(column)] or values.at[i]
    return values


def _looked_up() -> str:
    """The column and reason of a record's failed check, from its number (bound lists); a check
    that shows its value quotes the record's ``reject_value``."""
    quote = "''''"  # SQL for a single quote
    value = f"{quote} || c.reject_value || {quote}"
    shown = f"CASE WHEN ($reject_shows::BOOLEAN[])[c.reject_check] THEN {value} END"
    return (
        "($reject_columns::VARCHAR[])[c.reject_check] AS column, "
        f"($reject_reasons::VARCHAR[])[c.reject_check] || coalesce(': ' || {shown}, '') AS reason"
    )


def _parse_reject_details(staged: Staged, id_column: str | None) -> dict[str, list[str | None]]:
    """The offending value and the row's id of records DuckDB rejected while reading, taken from
    the record's own text (read by Python's csv module with the file's dialect)."""
    columns = staged.source.columns
    values: list[str | None] = []
    ids: list[str | None] = []
    frame = staged.parse_rejects
    texts = list(frame["csv_line"].head(EVIDENCE_KEPT)) if "csv_line" in frame else []
    texts += [None] * (len(frame) - len(texts))
    for column, text in zip(frame["column"], texts, strict=True):
        fields = _fields(text, staged.source.dialect.delimiter, staged.source.dialect.quote)
        value = row_id = None
        if fields is not None and len(fields) == len(columns) and column in columns:
            value = fields[columns.index(column)]
        # A record with the wrong number of fields (a bare line break inside a cell) is read from
        # its start: the fields before the break are where the header says.
        if fields is not None and id_column in columns and columns.index(id_column) < len(fields):
            row_id = fields[columns.index(id_column)]
        values.append(value)
        ids.append(row_id)
    return {"value": values, "id": ids}


def _fields(text: object, delimiter: str, quote: str) -> list[str] | None:
    if not isinstance(text, str):
        return None
    text = text.strip("\r\n")  # DuckDB keeps the previous record's terminator of a CRLF file
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter, quotechar=quote))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None
