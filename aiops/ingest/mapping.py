"""Find a file's columns by name: case-insensitive, tolerant of spacing and of suffixes."""

from __future__ import annotations

import re

from aiops.errors import MappingError
from aiops.ingest.sniff import SourceFile


def header_key(name: str) -> str:
    """`Created At (UTC)`, `created_at` and `CREATED AT` share the key `created_at_utc`."""
    return re.sub(r"[^0-9a-z]+", "_", name.casefold()).strip("_")


def find_column(source: SourceFile, wanted: str, *, prefix: bool = False) -> str | None:
    """The unique column for header ``wanted``; with ``prefix``, a header that starts with it
    (Intercom writes `Conversation started at (America/New_York)`)."""
    key = header_key(wanted)
    for header, column in zip(source.header, source.columns, strict=True):
        if header_key(header) == key:
            return column
    if prefix:
        for header, column in zip(source.header, source.columns, strict=True):
            if header_key(header).startswith(key + "_"):
                return column
    return None


def require_column(source: SourceFile, wanted: str, role: str) -> str:
    column = find_column(source, wanted)
    if column is None:
        shown = ", ".join(repr(h) for h in source.header[:25])
        more = f" and {len(source.header) - 25} more" if len(source.header) > 25 else ""
        raise MappingError(
            f"no column '{wanted}' (mapped as {role}) in {source.name}",
            f"the file's columns are {shown}{more}",
        )
    return column


def parse_assignments(pairs: list[str] | None) -> dict[str, str]:
    """`--map field=COLUMN` pairs as a dict; the column may contain `=`."""
    mapping = {}
    for pair in pairs or []:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise MappingError(f"--map {pair!r} is not field=COLUMN", "e.g. --map name='Use Case Name'")
        mapping[field.strip().lower()] = column.strip()
    return mapping
