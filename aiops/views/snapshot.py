"""What the read model reads from: on PostgreSQL, one local copy of the timing rows per view.

DuckDB reads an attached PostgreSQL table by copying its rows over the wire, so every query over
``timing_samples`` costs a full transfer (~0.5 s at 1M rows) however small its answer; a view ran
eight of them (cells, adoption and their previous period, weekly means, freshness, data bounds).
``timing_snapshot`` copies the tables the read model reads once (of the timing rows, the columns it
reads), into temporary tables of the same names on a private cursor: every query of the view then
runs unchanged (one SQL dialect) on local tables, joins included. The copies are made in one
transaction, so they are one consistent PostgreSQL snapshot (the extension reads each DuckDB
transaction as one REPEATABLE READ transaction), then committed (DuckDB scans committed tables faster
than a transaction's own rows). On the embedded store the file is already local: the store itself.

The copy is held in memory (about 100 bytes a timing row, close to the size of the server's table).
All the builds of a process share ``MAX_COPY_BYTES``: a build copies when the server's table fits
beside the copies other builds hold at that moment, and otherwise reads the server's tables
directly, slower but without holding them (sessions building views at once never hold more).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from aiops.store import Cursor, CursorReader, Reader, Store

# The tables a view reads, with the columns it reads of the big one (all but batch_id).
TIMING_COLUMNS = (
    "workflow_id",
    "phase",
    "measured_at",
    "duration_minutes",
    "rework_minutes",
    "loops",
    "time_kind",
    "ai_assisted",
    "segment",
)
TABLES = {
    "committed_samples": ", ".join(TIMING_COLUMNS),
    "workflows": "*",
    "classifications": "*",
    "upload_batches": "*",
    "company_settings": "*",
    "policy_versions": "*",
}


MAX_COPY_BYTES = 512 * 1024**2  # about 5M timing rows: half the store's default memory limit (1GB)
_SERVER_BYTES = "SELECT pg_relation_size('timing_samples')"


class _CopyBudget:
    """The bytes of copies the view builds of this process hold, within ``MAX_COPY_BYTES``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held = 0

    @contextmanager
    def reserve(self, size: int) -> Iterator[bool]:
        """Whether ``size`` more bytes fit now; if they do, they are held until the block ends."""
        with self._lock:
            fits = self._held + size <= MAX_COPY_BYTES
            self._held += size if fits else 0
        try:
            yield fits
        finally:
            if fits:
                with self._lock:
                    self._held -= size


_BUDGET = _CopyBudget()


@contextmanager
def timing_snapshot(store: Store) -> Iterator[Reader]:
    """A reader for one view build: on PostgreSQL, local copies of the tables a view reads (see the
    module); on a DuckDB file, one read transaction (every query sees the same moment: an upload
    that commits during the build is seen by none of them). The copies go with the cursor when the
    block ends."""
    if not store.postgres:
        with store.snapshot() as reader:
            yield reader
        return
    with _BUDGET.reserve(store.query_value(on_server(_SERVER_BYTES))) as fits:
        if not fits:
            yield store
            return
        cursor = store.new_cursor()
        try:
            yield _copied(cursor)
        finally:
            cursor.close()


def _copied(cursor: Cursor) -> Reader:
    reader = CursorReader(cursor, postgres=True)
    reader.query("BEGIN TRANSACTION")
    try:
        for table, columns in TABLES.items():
            # The name resolves to the server's table here, and to the temporary copy afterwards
            # (DuckDB looks in the temp catalog first).
            reader.query(f"CREATE TEMP TABLE {table} AS SELECT {columns} FROM {table}")
        reader.query("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            cursor.execute("ROLLBACK")
        raise
    return reader


def on_server(sql: str) -> str:
    """``sql`` (a query both dialects read alike) run by PostgreSQL itself when the store is a
    server, so only its answer crosses the wire: for a small aggregate over every timing row."""
    return f"SELECT * FROM postgres_query(current_database(), '{sql.replace(chr(39), chr(39) * 2)}')"
