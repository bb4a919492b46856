"""JSON uploads (e.g. `gh pr list --json number,createdAt,mergedAt,closedAt,reviews`): an array of
objects becomes a CSV with one column per field, so it imports like any export.

Nested objects become dotted columns (`author.login`). A list of objects becomes one column per
field holding its smallest value, so `reviews.submittedAt` is the time of the first review.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import cast

import duckdb
from duckdb.sqltypes import DuckDBPyType

from aiops.bounded_input import check_json_upload
from aiops.errors import IngestError
from aiops.ingest.failures import read_failure
from aiops.sql import quote_ident, sql_literal


def _children(kind: DuckDBPyType) -> list[tuple[str, DuckDBPyType]]:
    """The (name, type) fields of a STRUCT type."""
    return [(str(name), cast(DuckDBPyType, child)) for name, child in kind.children]


def _flat(expression: str, name: str, kind: DuckDBPyType) -> list[tuple[str, str]]:
    """(SQL, column name) pairs for one JSON field, flattened."""
    if kind.id == "struct":
        return [
            pair
            for child, child_kind in _children(kind)
            for pair in _flat(f"{expression}.{quote_ident(child)}", f"{name}.{child}", child_kind)
        ]
    if kind.id == "list" and kind.child.id == "struct":
        return [
            pair
            for child, child_kind in _children(kind.child)
            if child_kind.id not in ("struct", "list")
            for pair in [
                (
                    f"list_min(list_transform({expression}, lambda x: x.{quote_ident(child)}))",
                    f"{name}.{child}",
                )
            ]
        ]
    if kind.id == "list":
        return [(f"array_to_string({expression}, '; ')", name)]
    return [(expression, name)]


_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[{}\[\]\n]')


def object_start_lines(path: Path) -> list[int]:
    """The physical line of each record's opening brace, in order: the records are the objects of a
    top-level array, or the top-level objects of a newline-delimited file. Only called when a row is
    rejected, so the message can name a line the user can find in the file they uploaded."""
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    first = text.lstrip()[:1]
    record_depth = 1 if first == "[" else 0
    lines, line, depth = [], 1, 0
    for token in _TOKEN.finditer(text):
        char = token.group()
        if char == "\n":
            line += 1
        elif char == "{" or char == "[":
            if char == "{" and depth == record_depth:
                lines.append(line)
            depth += 1
        elif char == "}" or char == "]":
            depth -= 1
    return lines


def json_to_csv(path: Path, target: Path) -> Path:
    """Write the JSON upload at ``path`` as a flat CSV at ``target``."""
    check_json_upload(path)  # before DuckDB's reader, which recurses into every level
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE TABLE upload AS SELECT * FROM read_json({sql_literal(str(path))})")
        relation = con.sql("SELECT * FROM upload")
        columns = [
            pair
            for name, kind in zip(relation.columns, relation.types, strict=True)
            for pair in _flat(quote_ident(name), name, kind)
        ]
        if not columns:
            raise IngestError("the JSON holds no fields", "upload an array of objects")
        select = ", ".join(f"{sql} AS {quote_ident(name)}" for sql, name in columns)
        con.execute(
            f"COPY (SELECT {select} FROM upload) TO {sql_literal(str(target))} (HEADER, DELIMITER ',')"
        )
    except duckdb.Error as e:
        raise read_failure(
            e,
            "the file is not JSON we can read (not an array of objects, or malformed)",
            "upload an array of objects, e.g. the output of `gh pr list --json ...`",
        ) from e
    finally:
        con.close()
    return target
