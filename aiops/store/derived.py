"""Derived data kept in the store (table ``derived_cache``): bytes under a key made of what they
were computed from and the code that computed them, so that a new process starts warm.

Only on a DuckDB file, like the estimates' table: on PostgreSQL a read never writes to the server.
No audit row (the revision does not move); the ``KEPT`` most recently computed entries of each kind
are kept.
"""

from __future__ import annotations

from datetime import datetime

from aiops.store.store import Reader

KEPT = 64  # of each kind (a key's prefix up to its first ":"): the periods in use, the charts drawn
WAIT_S = 5.0  # for a write holding the lock: keeping is off every read's path (``Store.later``)
_LOAD = "SELECT payload FROM derived_cache WHERE derived_key = $key"
# The key's own earlier entry, and its kind's entries beyond the KEPT - 1 most recent: one kind
# (the charts of many workflow pages) never pushes out another (the periods a restart reads).
_DELETE = (
    "DELETE FROM derived_cache WHERE derived_key = $key OR (starts_with(derived_key, $kind) AND "
    "derived_key NOT IN (SELECT derived_key FROM derived_cache WHERE starts_with(derived_key, $kind) "
    f"ORDER BY computed_at DESC LIMIT {KEPT - 1}))"
)
_INSERT = "INSERT INTO derived_cache VALUES ($key, CAST($now AS TIMESTAMP), $payload)"


def load(db: Reader, key: str) -> bytes | None:
    """The bytes kept under ``key``, or None (also where nothing derived is kept)."""
    if not db.keeps_derived:
        return None
    row = db.query_one(_LOAD, {"key": key})
    return None if row is None else bytes(row[0])


def keep(db: Reader, key: str, payload: bytes, now: datetime) -> bool:
    """Keep ``payload`` under ``key`` (``kind:digest``), off a read's path (False when this store
    keeps nothing derived, or a write held the lock ``WAIT_S``)."""
    kind = key.partition(":")[0] + ":"
    inserted = {"key": key, "now": now, "payload": payload}
    return db.keep_derived([(_DELETE, {"key": key, "kind": kind}), (_INSERT, inserted)], WAIT_S)
