"""The statement tracer: one hook that sees every SQL statement the stores run, with its time.

Every statement of a store goes through a ``Cursor`` (reads, writes, migrations, and the imports'
own cursors alike), so a ``tracer`` sees them all, in the order they ran, from any thread:

    log = []
    with tracer(log.append):
        view_for(store)
    slowest = max(log, key=lambda s: s.seconds)

Like sqlite-utils' ``tracer``, it is for finding where the time goes (benches, diagnostics); with
no tracer active a statement costs one tuple check more.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import duckdb

T = TypeVar("T")


@dataclass(frozen=True)
class Statement:
    """One statement as run: its SQL, its bound parameters, and its seconds (execution, and for a
    read through ``Reader`` the fetch of its rows or frame too)."""

    sql: str
    params: Any
    seconds: float


Tracer = Callable[[Statement], None]

_tracers: tuple[Tracer, ...] = ()
_lock = threading.Lock()


@contextmanager
def tracer(callback: Tracer) -> Iterator[None]:
    """Call ``callback`` with every statement any store runs while the block runs."""
    global _tracers
    with _lock:
        _tracers = (*_tracers, callback)
    try:
        yield
    finally:
        with _lock:
            kept = list(_tracers)
            kept.remove(callback)
            _tracers = tuple(kept)


class Cursor:
    """A DuckDB cursor of a store (``Store.new_cursor``): its statements are traced."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self._cursor = cursor

    def run(self, sql: str, params: Any, fetch: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Execute ``sql`` and ``fetch`` its result; tracers see both as one statement."""
        active = _tracers
        if not active:
            return fetch(self._cursor.execute(sql, params))
        start = time.perf_counter()
        try:
            return fetch(self._cursor.execute(sql, params))
        finally:
            statement = Statement(sql, params, time.perf_counter() - start)
            for callback in active:
                callback(statement)

    def execute(self, sql: str, params: Any = None) -> duckdb.DuckDBPyConnection:
        return self.run(sql, params, _result)

    def register(self, name: str, frame: object) -> None:
        self._cursor.register(name, frame)

    def unregister(self, name: str) -> None:
        self._cursor.unregister(name)

    def cursor(self) -> Cursor:
        """Another cursor on the same database (its own transaction and temporary tables)."""
        return Cursor(self._cursor.cursor())

    def close(self) -> None:
        self._cursor.close()


def _result(result: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    return result
