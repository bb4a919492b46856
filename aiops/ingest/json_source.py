"""JSON uploads (e.g. `gh pr list --json number,createdAt,mergedAt,closedAt,reviews`): an array of
objects becomes a CSV with one column per field, so it imports like any export.

Nested objects become dotted columns (`author.login`). A list of objects becomes one column per
field holding its smallest value, so `reviews.submittedAt` is the time of the first review.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from aiops.errors import IngestError
from aiops.ingest.reader import quote_ident, sql_literal


def _flat(expression: str, name: str, kind: duckdb.typing.DuckDBPyType) -> list[tuple[str, str]]:
    """(SQL, column name) pairs for one JSON field, flattened."""
    if kind.id == "struct":
        return [
            pair
            for child, child_kind in kind.children
            for pair in _flat(f"{expression}.{quote_ident(child)}", f"{name}.{child}", child_kind)
        ]
    if kind.id == "list" and kind.child.id == "struct":
        return [
            pair
            for child, child_kind in kind.child.children
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


def json_to_csv(path: Path, target: Path) -> Path:
    """Write the JSON upload at ``path`` as a flat CSV at ``target``."""
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
        raise IngestError(
            f"the file is not JSON we can read: {str(e).splitlines()[0]}",
            "upload an array of objects, e.g. the output of `gh pr list --json ...`",
        ) from e
    finally:
        con.close()
    return target
