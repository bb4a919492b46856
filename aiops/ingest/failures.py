"""What an upload's reader says when DuckDB fails: the file's fault in the upload's own words, but a
lack of memory or disk said as such (an out-of-memory import was reported as "not CSV", sending
people to fix a file that was fine). No database text reaches a user."""

from __future__ import annotations

import duckdb

from aiops.errors import IngestError


def read_failure(error: duckdb.Error, message: str, hint: str) -> IngestError:
    """``IngestError(message, hint)`` for a file DuckDB could not read, unless ``error`` is the
    machine running out of memory or disk space."""
    if isinstance(error, duckdb.OutOfMemoryException):
        return IngestError(
            "the import ran out of memory (DuckDB's memory limit); the file itself may be fine",
            "split the file, or raise AIOPS_MEMORY_LIMIT; nothing was written",
        )
    if isinstance(error, duckdb.IOException) and "no space left" in str(error).lower():
        return IngestError(
            "the disk ran out of space during the import; the file itself may be fine",
            "free disk space where the database and its temporary files live; nothing was written",
        )
    return IngestError(message, hint)
