"""The store (a DuckDB file, or PostgreSQL attached by DuckDB): schema, migrations, the one write path."""

from aiops.clock import utcnow
from aiops.store.store import CursorReader, Reader, Store, Tx, latest_schema_version
from aiops.store.trace import Cursor, Statement, tracer

__all__ = [
    "Cursor",
    "CursorReader",
    "Reader",
    "Statement",
    "Store",
    "Tx",
    "latest_schema_version",
    "tracer",
    "utcnow",
]
