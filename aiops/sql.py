"""The bottom layer for SQL text: quoting of identifiers and of the few values that DuckDB takes
only as text inside a statement (file paths and options of ``read_csv``/``COPY``, dialect
characters). Every other value is bound as a parameter (``?`` or ``$name``), never inlined."""

from __future__ import annotations


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
