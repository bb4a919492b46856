"""The bottom layer for SQL text: quoting of identifiers and of the few values that DuckDB takes
only as text inside a statement (file paths and options of ``read_csv``/``COPY``, dialect
characters). Every other value is bound as a parameter (``?`` or ``$name``), never inlined."""

from __future__ import annotations

import re
from collections.abc import Mapping


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# Quoted names and string literals: a header spelled "$workflow" is a name, not a parameter.
_QUOTED = re.compile(r'"(?:[^"]|"")*"|\'(?:[^\']|\'\')*\'')


def bound(sql: str, values: Mapping[str, object]) -> dict[str, object]:
    """The named parameters (``$name``) that ``sql`` uses, from ``values``: SQL composed from
    fragments uses some of them, and DuckDB refuses a parameter the statement does not name."""
    code = _QUOTED.sub("", sql)
    return {name: value for name, value in values.items() if re.search(rf"\${name}\b", code)}
