"""The store: schema migrations, reads through cursors, and the one write path.

Two kinds, one SQL dialect (DuckDB's): a DuckDB file, which one process owns (the embedded
default), or a PostgreSQL server (``postgresql://...``) that DuckDB attaches, which any number of
processes share (see ``aiops.store.postgres``). Reads take a cursor per thread; every write goes
through ``Store.write``: one lock (in-process, and on PostgreSQL a server lock across processes),
one explicit transaction, audit rows appended in the same transaction.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd

from aiops.auth import Actor
from aiops.clock import utcnow
from aiops.errors import StoreError
from aiops.policy import Policy, load_policy
from aiops.store import postgres as pg
from aiops.store.functions import register_functions
from aiops.store.name_keys import rekey_names
from aiops.store.trace import Cursor
from aiops.store.twins import merge_identity_twins

log = logging.getLogger(__name__)

T = TypeVar("T")
MIGRATION_NAME = re.compile(r"^(\d{3})_(\w+)\.sql$")


@functools.cache  # read once a process: a store opened per request or test would read them each time
def migrations() -> tuple[tuple[int, str, str], ...]:
    """(version, name, sql) for every migration shipped with the package, in order."""
    found = []
    for entry in resources.files("aiops.store.migrations").iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match[1]), match[2], entry.read_text("utf-8")))
    return tuple(sorted(found))


def latest_schema_version() -> int:
    return migrations()[-1][0]


# Positional (`?`) or named (`$name`) parameters; values are always bound, never inlined.
Params = Sequence[Any] | Mapping[str, Any] | None


class Reader:
    """Read helpers shared by the store and a transaction (which sees its own writes)."""

    def _cursor(self) -> Cursor:
        raise NotImplementedError

    def query(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        with self._translate():
            return self._cursor().run(sql, params or [], _rows)

    def query_one(self, sql: str, params: Params = None) -> tuple[Any, ...] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def query_value(self, sql: str, params: Params = None) -> Any:
        """The first value of the one row a query always returns (an aggregate, say)."""
        row = self.query_one(sql, params)
        if row is None:
            raise StoreError("the query returned no row")
        return row[0]

    def query_df(self, sql: str, params: Params = None) -> pd.DataFrame:
        with self._translate():
            return self._cursor().run(sql, params or [], _frame)

    @property
    def keeps_derived(self) -> bool:
        """Whether data derived from the rest (the estimate cache) is kept in this database (a
        DuckDB file: a store, its transactions and snapshots; not PostgreSQL, not a bare cursor)."""
        return False

    def keep_derived(self, statements: Sequence[tuple[str, Params]], wait_s: float = 0.0) -> bool:
        """Write such data, if this reader keeps it (False when it did not)."""
        return False

    def later(self, job: Callable[[], object]) -> None:
        """Run ``job`` (work that keeps derived data) after this read: here, now; on a store's own
        thread where there is one (``Store.later``)."""
        job()

    failure = "database error"
    lost = "the database connection was lost"
    postgres = False

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except duckdb.Error as e:
            raise _store_error(e, self.postgres, self.failure, self.lost) from (None if self.postgres else e)


class CursorReader(Reader):
    """Reads through one cursor (a read transaction, or a cursor holding local copies); data
    derived from what it read is kept through ``store``, if given."""

    def __init__(self, cursor: Cursor, postgres: bool, store: Store | None = None) -> None:
        self.cursor = cursor
        self.postgres = postgres
        self._store = store

    def _cursor(self) -> Cursor:
        return self.cursor

    @property
    def keeps_derived(self) -> bool:
        return self._store is not None and self._store.keeps_derived

    def keep_derived(self, statements: Sequence[tuple[str, Params]], wait_s: float = 0.0) -> bool:
        return self._store is not None and self._store.keep_derived(statements, wait_s)

    def later(self, job: Callable[[], object]) -> None:
        if self._store is None:
            job()
        else:
            self._store.later(job)


class Tx(Reader):
    """One write transaction: run statements, append audit rows; committed by ``Store.write``."""

    failure = "write failed, nothing was saved"
    lost = pg.CONNECTION_LOST

    def __init__(
        self,
        cursor: Cursor,
        actor: Actor,
        now: datetime,
        policy: Policy,
        postgres: bool = False,
    ) -> None:
        self.cursor = cursor
        self.actor = actor
        self.now = now
        self.policy = policy
        self.postgres = postgres

    def next_id(self, sequence: str) -> int:
        """The next value of ``sequence`` (PostgreSQL tables take no ``INSERT ... RETURNING``)."""
        if not re.fullmatch(r"\w+", sequence):
            raise ValueError(f"not a sequence name: {sequence!r}")
        with self._translate():
            if self.postgres:
                return int(pg.query(self.cursor, f"SELECT nextval('{sequence}')")[0][0])
            return int(self.cursor.execute(f"SELECT nextval('{sequence}')").fetchall()[0][0])

    def _cursor(self) -> Cursor:
        return self.cursor

    def execute(self, sql: str, params: Params = None) -> None:
        with self._translate():
            self.cursor.execute(sql, params or [])

    @property
    def keeps_derived(self) -> bool:
        return not self.postgres

    def keep_derived(self, statements: Sequence[tuple[str, Params]], wait_s: float = 0.0) -> bool:
        """Data derived from the rest (the estimate cache), written in this transaction without an
        audit row (it holds the lock already); not on PostgreSQL, where derived data stays in each
        process."""
        if not self.keeps_derived:
            return False
        for sql, params in statements:
            self.execute(sql, params)
        return True

    def audit(
        self, action: str, entity: str, entity_id: str | None, detail: dict[str, Any] | None = None
    ) -> None:
        self.audit_many(action, entity, [(entity_id, detail)])

    def audit_many(
        self, action: str, entity: str, entries: Sequence[tuple[str | None, dict[str, Any] | None]]
    ) -> None:
        """Append one audit row per (entity_id, detail), in one statement (lists unnested side by
        side: DuckDB zips them; no frame to register)."""
        if not entries:
            return
        self.execute(
            "INSERT INTO audit_log (recorded_at, actor, action, entity, entity_id, detail) "
            "SELECT $now, $actor, $action, $entity, unnest($ids::VARCHAR[]),"
            " unnest($details::VARCHAR[])::JSON",
            {
                "now": self.now,
                "actor": self.actor.name,
                "action": action,
                "entity": entity,
                "ids": [entity_id for entity_id, _ in entries],
                "details": [json.dumps(d or {}, default=str, ensure_ascii=False) for _, d in entries],
            },
        )


class Store(Reader):
    """A DuckDB file (or ``:memory:``) or a PostgreSQL URL, migrated to the latest schema on open.

    ``path`` is what to show: a file path, or the URL without its password.

    ``policy`` is the rules writes classify with; make a new one active with
    ``governance.apply_policy`` so the change is recorded and audited.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        policy: Policy | None = None,
        lock_timeout_s: float = 5.0,
        max_upload_bytes: int | None = None,
        memory_limit: str = "1GB",
    ) -> None:
        location = pg.canonical(str(path))
        self.postgres = pg.is_postgres(location)
        self.path = pg.redact(location) if self.postgres else location
        self.location = location  # may hold a password: never shown, logged or audited
        self.policy = policy or load_policy()
        self.max_upload_bytes = max_upload_bytes  # imports refuse larger files
        self.lock_timeout_s = lock_timeout_s
        self._pg_alias = ""
        if self.postgres:
            self._con, self._pg_alias = pg.connect(location, memory_limit)
        else:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            # Beyond memory_limit DuckDB spills to <db>.tmp instead of growing: big imports stay bounded.
            self._con = Cursor(_connect(self.path, lock_timeout_s, {"memory_limit": memory_limit}))
        self._con.execute("SET enable_progress_bar = false")
        # Every cursor reads timestamps without an offset as UTC, whatever the machine's zone: set
        # once for the database (cursors made later inherit it), not once per cursor (per read).
        self._con.execute("SET GLOBAL TimeZone = 'UTC'")
        self._write_lock = _write_lock(self.path, self.postgres)
        self._local = threading.local()
        self._jobs = ThreadPoolExecutor(1, thread_name_prefix="derived")  # its thread starts on a job
        self._pending: set[Future[None]] = set()
        try:
            self._migrate()
        except BaseException:
            self.close()
            raise

    # -- reads ------------------------------------------------------------------------------------
    def _cursor(self) -> Cursor:
        # A cursor per thread: threads sharing one connection get "connection is busy".
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._local.cursor = self.new_cursor()
        return cursor

    def new_cursor(self) -> Cursor:
        """A private connection to the same database (for imports that create temporary tables),
        in UTC like every cursor (see ``__init__``)."""
        cursor = self._con.cursor()
        if self.postgres:
            cursor.execute(f"USE {self._pg_alias}")  # a cursor does not inherit its connection's USE
        cursor.execute("SET enable_progress_bar = false")  # never draw on a CLI's stderr (a local setting)
        return cursor

    # -- the one write path -------------------------------------------------------------------------
    def write(self, actor: Actor, fn: Callable[[Tx], T], cursor: Cursor | None = None) -> T:
        """Run ``fn`` in one transaction under the write lock; roll back on any error.

        ``cursor`` lets an import commit from the cursor that holds its staging tables.
        """
        own_cursor = cursor is None
        with self._write_lock:
            cursor = cursor or self.new_cursor()
            try:
                cursor.execute("BEGIN TRANSACTION")
                if self.postgres:
                    pg.lock_for_write(cursor, self.lock_timeout_s)
                result = fn(Tx(cursor, actor, utcnow(), self.policy, self.postgres))
                cursor.execute("COMMIT")
                return result
            except BaseException as e:
                rollback_quietly(cursor)  # always: a cursor closed inside a transaction whose connection
                # was lost aborts the process (the extension's ROLLBACK throws in a destructor)
                if isinstance(e, duckdb.Error):
                    error = _store_error(e, self.postgres, Tx.failure, Tx.lost)
                    raise error from (None if self.postgres else e)
                raise
            finally:
                if own_cursor:
                    cursor.close()

    @property
    def keeps_derived(self) -> bool:
        return not self.postgres

    def keep_derived(self, statements: Sequence[tuple[str, Params]], wait_s: float = 0.0) -> bool:
        """Data derived from the rest (the estimate cache) in one transaction, without an audit row
        (the revision does not move). Skipped (False) when a write holds the lock longer than
        ``wait_s`` (0 on a read's path: a read never waits), and on PostgreSQL, where a read never
        writes to the server; a failure only means the entries are computed again next time."""
        waits = wait_s > 0
        if not self.keeps_derived or not self._write_lock.acquire(waits, wait_s if waits else -1):
            return False
        try:
            cursor = self.new_cursor()
        except duckdb.Error:
            self._write_lock.release()
            return False
        try:
            cursor.execute("BEGIN TRANSACTION")
            for sql, params in statements:
                cursor.execute(sql, params or [])
            cursor.execute("COMMIT")
            return True
        except duckdb.Error:
            rollback_quietly(cursor)
            return False
        finally:
            cursor.close()
            self._write_lock.release()

    @contextmanager
    def snapshot(self) -> Iterator[CursorReader]:
        """A reader whose every query sees the database as of one moment (one read transaction on
        a private cursor): a write that commits meanwhile is seen by none of them, not by some."""
        cursor = self.new_cursor()
        try:
            cursor.execute("BEGIN TRANSACTION")
            yield CursorReader(cursor, self.postgres, self)
            cursor.execute("COMMIT")
        except BaseException:
            rollback_quietly(cursor)
            raise
        finally:
            cursor.close()

    @contextmanager
    def exclusive(self) -> Iterator[Cursor]:
        """Hold the write lock with a checkpointed database file (for a consistent backup)."""
        if self.postgres:
            raise StoreError("a PostgreSQL store is backed up from a snapshot, not a file copy")
        with self._write_lock:
            self._con.execute("CHECKPOINT")
            yield self._con

    def later(self, job: Callable[[], object]) -> None:
        """Run ``job`` on this store's one background thread: data derived from a read is kept off
        the read's path. ``settle`` and ``close`` wait for it. A job's failure is logged, never
        raised: derived data is only derived again."""
        future = self._jobs.submit(_logged, job)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    def settle(self) -> None:
        """Wait for the jobs handed to ``later`` so far."""
        wait(self._pending.copy())

    def close(self) -> None:
        self._jobs.shutdown(wait=True)
        if self.postgres:
            pg.detach(self._con, self._pg_alias)
        else:
            self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -----------------------------------------------------------------------------------
    def schema_version(self) -> int:
        if self.postgres:
            row = self.query_one("SELECT max(version) FROM schema_version")
            return (row[0] if row else 0) or 0
        self._con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        row = self._con.execute("SELECT max(version) FROM schema_version").fetchall()[0]
        return row[0] or 0

    def _migrate(self, target: int | None = None) -> None:
        if self.postgres:
            self._migrate_postgres(target)
            return
        current = self.schema_version()
        latest = latest_schema_version()
        self._refuse_newer(current)
        # Every migration not applied yet, even one numbered below the newest applied: migrations
        # are written in parallel, so 004 may ship after a database already has 006.
        applied = {row[0] for row in self._con.execute("SELECT version FROM schema_version").fetchall()}
        for version, name, sql in migrations():
            if version not in applied and version <= (target or latest):
                self._apply(version, name, sql)

    def _migrate_postgres(self, target: int | None) -> None:
        """The same migrations in PostgreSQL's dialect, in one server transaction under the write
        lock: several processes starting at once migrate once. A current schema is seen without
        the lock: opening a store (a new dashboard, a CLI read) never waits for a write."""
        cursor = self.new_cursor()
        try:
            if self._schema_is_current(cursor, target):
                return
            try:
                pg.execute(cursor, PG_VERSION_TABLE)
            except duckdb.Error:  # two processes creating it at once: one wins, the other retries
                pg.execute(cursor, PG_VERSION_TABLE)
            cursor.execute("BEGIN TRANSACTION")
            pg.lock_for_write(cursor, self.lock_timeout_s)
            current = pg.query(cursor, "SELECT coalesce(max(version), 0) FROM schema_version")[0][0]
            latest = latest_schema_version()
            self._refuse_newer(current)
            applied = {r[0] for r in pg.query(cursor, "SELECT version FROM schema_version")}
            for version, name, sql in migrations():  # by set, as on DuckDB: 004 may ship after 006
                if version not in applied and version <= (target or latest):
                    step = DATA_STEPS.get(version)
                    if step is not None:  # in the same transaction: PostgreSQL's indexes see the deletes
                        actor = Actor(name=f"migration {version:03d}", role="admin")
                        step(Tx(cursor, actor, utcnow(), self.policy, postgres=True))
                    for statement in _statements(sql):
                        pg.execute(cursor, pg.ddl(statement))
                    pg.execute(
                        cursor,
                        f"INSERT INTO schema_version VALUES ({version}, '{name}', now() AT TIME ZONE 'UTC')",
                    )
            cursor.execute("COMMIT")
        except duckdb.Error as e:
            rollback_quietly(cursor)
            message, hint = pg.explain(e)
            raise StoreError(f"migrating {self.path} failed: {message}", hint) from None
        except BaseException:
            rollback_quietly(cursor)
            raise
        finally:
            cursor.close()
        pg.clear_cache(self._con)

    def _refuse_newer(self, current: int) -> None:
        latest = latest_schema_version()
        if current > latest:
            raise StoreError(
                f"{self.path} has schema version {current}, newer than this aiops knows ({latest})",
                "upgrade Saved Loops (pip install -U saved-loops) or open another database",
            )

    def _schema_is_current(self, cursor: Cursor, target: int | None) -> bool:
        """Every migration up to ``target`` applied (read without a lock; a plain SELECT never
        waits for the write lock). False when there is something to migrate, or no table yet."""
        exists = pg.query(cursor, "SELECT to_regclass('schema_version') IS NOT NULL")[0][0]
        if not exists:
            return False
        applied = {r[0] for r in pg.query(cursor, "SELECT version FROM schema_version")}
        self._refuse_newer(max(applied, default=0))
        return all(v in applied for v, _, _ in migrations() if v <= (target or latest_schema_version()))

    def _apply(self, version: int, name: str, sql: str) -> None:
        step = DATA_STEPS.get(version)
        if step is not None:
            # Its own transaction first: DuckDB 1.5.5's CREATE UNIQUE INDEX still sees rows deleted
            # earlier in the same transaction. A data step is idempotent: if the SQL then fails, the
            # next open runs it again (finding nothing left to do) before retrying the SQL.
            actor = Actor(name=f"migration {version:03d}", role="admin")
            self._in_transaction(version, name, lambda cursor: step(Tx(cursor, actor, utcnow(), self.policy)))

        def schema(cursor: Cursor) -> None:
            for statement in _statements(sql):
                cursor.execute(statement)
            cursor.execute("INSERT INTO schema_version VALUES (?, ?, ?)", [version, name, utcnow()])

        self._in_transaction(version, name, schema)
        # Written to the file at once: DuckDB (1.5) cannot replay a log holding these ALTER TABLEs on
        # tables with sequence defaults, so a process killed before its first checkpoint (a new or
        # just-upgraded store, whose log is far below the automatic checkpoint) left a file that
        # would not open again.
        self._con.execute("CHECKPOINT")

    def _in_transaction(self, version: int, name: str, body: Callable[[Cursor], None]) -> None:
        cursor = self.new_cursor()
        try:
            cursor.execute("BEGIN TRANSACTION")
            body(cursor)
            cursor.execute("COMMIT")
        except duckdb.Error as e:
            rollback_quietly(cursor)
            raise StoreError(f"migration {version:03d}_{name} failed: {e}") from e
        except BaseException:  # a data step refused (an AiopsError with a hint): nothing stays
            rollback_quietly(cursor)
            raise
        finally:
            cursor.close()


# Data steps that a migration's SQL cannot express portably (a refusal with a list, audit rows):
# each runs before its migration's SQL, through a ``Tx`` acting as the migration (audited as it).
DATA_STEPS: dict[int, Callable[[Tx], None]] = {5: merge_identity_twins, 12: rekey_names}


_FILE_LOCKS: dict[str, threading.Lock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


def _write_lock(path: str, postgres: bool) -> threading.Lock:
    """The lock a store's writes take: one per DuckDB file in this process, shared by every handle
    on it (they share one database), so that writes commit in the order of their audit ids (the
    view's rows state reads the writes after the last one it saw: ``aiops.views.rows_state``). A
    server (its advisory lock orders writes) or an in-memory store: the handle's own. Not
    reentrant: a write must not open or write through another handle on its own file."""
    if postgres or path == ":memory:":
        return threading.Lock()
    with _FILE_LOCKS_GUARD:
        return _FILE_LOCKS.setdefault(str(Path(path).resolve()), threading.Lock())


RECONNECT = "try again when the database is back: the next request reconnects"

PG_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version "
    "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
)


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (migrations hold no semicolons inside literals)."""
    without_comments = "\n".join(line.split("--")[0] for line in sql.splitlines())
    return [s.strip() for s in without_comments.split(";") if s.strip()]


def _logged(job: Callable[[], object]) -> None:
    try:
        job()
    except Exception as e:  # one line, no traceback, no database text: a command's stderr stays clean
        failure = type(e).__name__
        log.warning("keeping data derived from a read failed (%s; it is derived again next time)", failure)


def _rows(result: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return result.fetchall()


def _frame(result: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return result.df()


def _store_error(error: duckdb.Error, postgres: bool, failure: str, lost: str) -> StoreError:
    """``error`` in a user's words. On PostgreSQL the server's own words stay in the log (they may
    name the URL); a lost connection is its own message: the pool reconnects on the next request."""
    if not postgres:
        return StoreError(f"{failure}: {_first_line(error)}")
    message, hint = pg.explain(error)
    if pg.connection_lost(error):
        return StoreError(lost, RECONNECT)
    return StoreError(f"{failure}: {message}", hint)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def rollback_quietly(cursor: Cursor) -> None:
    with contextlib.suppress(duckdb.Error):  # the transaction was never opened or is already gone
        cursor.execute("ROLLBACK")


def _connect(
    path: str, lock_timeout_s: float, config: dict[str, str | bool | int | float | list[str]]
) -> duckdb.DuckDBPyConnection:
    """Open the file, waiting a bounded time while another process holds its lock."""
    deadline = time.monotonic() + lock_timeout_s
    while True:
        try:
            con = duckdb.connect(path, config=config)
            register_functions(con)  # identities and derived ids in SQL exactly as in Python
            return con
        except duckdb.IOException as e:
            if "lock" not in str(e).lower():
                raise StoreError(f"cannot open database {path}: {e}") from e
            if time.monotonic() >= deadline:
                raise StoreError(
                    f"database {path} is in use by another process (is the dashboard running?)",
                    "stop it, or upload through the dashboard; nothing was written",
                ) from e
            time.sleep(0.2)
        except duckdb.Error as e:
            raise StoreError(f"cannot open database {path}: {e}", "is it a DuckDB file?") from e


__all__ = ["Reader", "Store", "StoreError", "Tx", "latest_schema_version", "utcnow"]
