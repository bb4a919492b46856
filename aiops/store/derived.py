"""Derived data kept in the store (table ``derived_cache``): bytes under a key made of what they
were computed from and the code that computed them, so that a new process starts warm.

Only on a DuckDB file, like the estimates' table: on PostgreSQL a read never writes to the server.
No audit row (the revision does not move); the ``KEPT`` most recently computed entries are kept.
"""

from __future__ import annotations

from datetime import datetime

from aiops.store.store import Reader

KEPT = 64  # the periods in use and their previous ones, and the charts their pages draw
_LOAD = "SELECT payload FROM derived_cache WHERE derived_key = $key"
_DELETE = (
    "DELETE FROM derived_cache WHERE derived_key = $key OR derived_key NOT IN "
    f"(SELECT derived_key FROM derived_cache ORDER BY computed_at DESC LIMIT {KEPT - 1})"
)
_INSERT = "INSERT INTO derived_cache VALUES ($key, CAST($now AS TIMESTAMP), $payload)"


def load(db: Reader, key: str) -> bytes | None:
    """The bytes kept under ``key``, or None (also where nothing derived is kept)."""
    if not db.keeps_derived:
        return None
    row = db.query_one(_LOAD, {"key": key})
    return None if row is None else bytes(row[0])


def keep(db: Reader, key: str, payload: bytes, now: datetime) -> bool:
    """Keep ``payload`` under ``key`` (False when this store keeps nothing derived, or a write held
    the lock)."""
    return db.keep_derived([(_DELETE, {"key": key}), (_INSERT, {"key": key, "now": now, "payload": payload})])
