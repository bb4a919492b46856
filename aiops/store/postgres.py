"""PostgreSQL as the production store: DuckDB stays the query engine and attaches the server with
DuckDB's ``postgres`` extension, loaded offline from the ``duckdb-extension-postgres`` wheel.

Facts this module relies on (measured with DuckDB 1.5.5 and PostgreSQL 15, see the tests):
- the extension opens each DuckDB transaction's PostgreSQL transaction as REPEATABLE READ, and
  ``postgres_execute``/``postgres_query`` inside a DuckDB transaction run on that transaction's
  own connection;
- so a lock taken with a SELECT (``pg_advisory_xact_lock``) comes *after* the snapshot was taken
  and a waiting writer would then read stale rows; ``LOCK TABLE`` takes no snapshot, so it is the
  write lock: the first statement of every write transaction;
- ``INSERT ... RETURNING`` is not supported on attached PostgreSQL tables (ids come from
  ``Tx.next_id``), and DDL goes to the server in its own dialect through ``postgres_execute``.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import shutil
import tempfile
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from aiops.errors import StoreError
from aiops.store.functions import register_functions
from aiops.store.trace import Cursor

log = logging.getLogger(__name__)

ALIAS = "aiops_pg"  # each store attaches the server as aiops_pg_<n> in the shared engine
SCHEMES = ("postgresql://", "postgres://")
# Self-conflicting, yet plain SELECTs (ACCESS SHARE) never wait for it: readers are never blocked.
WRITE_LOCK = "LOCK TABLE schema_version IN SHARE ROW EXCLUSIVE MODE"
MIN_LOCK_WAIT_S = 30.0  # an import of a million rows holds the lock for seconds, not minutes

_URL_PASSWORD = re.compile(r"(postgres(?:ql)?://[^:/@\s]*:)([^@\s]*)(@)", re.IGNORECASE)
_KEY_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def is_postgres(location: str | os.PathLike[str]) -> bool:
    """A URL's scheme ignores case (``POSTGRESQL://`` too): never a local file named after it."""
    return str(location).lower().startswith(SCHEMES)


def canonical(location: str) -> str:
    """``location`` with its scheme in lower case (libpq reads only ``postgresql://``/``postgres://``)."""
    scheme, sep, rest = location.partition("://")
    return f"{scheme.lower()}{sep}{rest}" if is_postgres(location) else location


def redact(text: str) -> str:
    """``text`` with any password in a connection URL or ``password=`` pair replaced by ``***``."""
    return _KEY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***\3", text))


def extension_directory() -> Path:
    """A DuckDB extension directory holding the wheel's PostgreSQL extension under the name and
    platform folder DuckDB looks for (``v1.5.5/linux_amd64/postgres_scanner.duckdb_extension``)."""
    version = f"v{duckdb.__version__}"
    try:
        packaged = resources.files("duckdb_extension_postgres") / "extensions" / version
        source = Path(str(packaged / "postgres.duckdb_extension"))
    except ModuleNotFoundError:
        source = None
    if source is None or not source.is_file():
        raise StoreError(
            f"DuckDB's PostgreSQL extension for DuckDB {duckdb.__version__} is not installed",
            f"pip install 'duckdb-extension-postgres=={duckdb.__version__}' (PyPI ships it for 1.5.5)",
        )
    con = duckdb.connect()
    try:
        platform = con.execute("SELECT platform FROM pragma_platform()").fetchall()[0][0]
    finally:
        con.close()
    root = Path(tempfile.gettempdir()) / f"saved-loops-duckdb-extensions-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    owner = root.lstat()
    if root.is_symlink() or owner.st_uid != os.getuid() or owner.st_mode & 0o022:
        # In a shared temporary folder: code is loaded from here, so it must be this user's alone.
        raise StoreError(
            f"{root} is not this user's own folder (another owner, a link, or writable by others)",
            "remove it; Saved Loops creates it again, readable only by this user",
        )
    target = root / version / platform / "postgres_scanner.duckdb_extension"
    if not target.is_file() or target.stat().st_size != source.stat().st_size:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        shutil.copyfile(source, partial)
        os.replace(partial, target)  # several processes may start at once: never a half-copied file
    return root


_engine: duckdb.DuckDBPyConnection | None = None
_engine_lock = threading.Lock()
_aliases = itertools.count(1)


def _shared_engine() -> duckdb.DuckDBPyConnection:
    """The process's in-memory DuckDB with the extension loaded: loading it (a 40 MB file, its
    signature checked) costs about half a second, so it happens once per process, not per store."""
    global _engine
    with _engine_lock:
        if _engine is None:
            # The engine holds no data of its own (the server does), so a failure inside the
            # extension must not invalidate it: a connection lost mid-COPY is raised as an internal
            # error, and on an invalidated engine the write's ROLLBACK is refused, leaving a
            # transaction whose cursor aborts the process when it closes (see ENGINEERING_NOTES).
            directory = str(extension_directory())
            con = duckdb.connect(
                config={"extension_directory": directory, "disable_database_invalidation": True}
            )
            try:
                con.execute("LOAD postgres_scanner")
            except duckdb.Error as e:
                con.close()
                raise StoreError(
                    f"DuckDB's PostgreSQL extension does not load on this machine: {_first_line(e)}",
                    f"install duckdb-extension-postgres=={duckdb.__version__} built for this platform",
                ) from e
            register_functions(con)  # identities and derived ids in SQL exactly as in Python
            _engine = con
        return _engine


def connect(location: str, memory_limit: str) -> tuple[Cursor, str]:
    """A connection to the process's in-memory DuckDB (staging, temporary tables) with the server
    attached under a new alias and made the default catalog: unqualified table names are the
    server's tables. Returns the connection and the alias (``detach`` it when done)."""
    engine = _shared_engine()
    alias = f"{ALIAS}_{next(_aliases)}"
    con = engine.cursor()
    try:
        con.execute(f"SET memory_limit = {_literal(memory_limit)}")
        try:
            con.execute(f"ATTACH {_literal(location)} AS {alias} (TYPE postgres)")
        except duckdb.Error as e:
            message, hint = explain(e)
            raise StoreError(f"cannot connect to {redact(location)}: {message}", hint) from None
            # (not chained: the driver's text holds the connection string)
        con.execute(f"USE {alias}")
    except BaseException:
        con.close()
        raise
    return Cursor(con), alias


def detach(con: Cursor, alias: str) -> None:
    """Close ``con`` (and the cursors made from it) and the alias's server connections."""
    con.close()
    cursor = _shared_engine().cursor()
    try:
        cursor.execute(f"DETACH DATABASE IF EXISTS {alias}")
    except duckdb.Error:
        pass  # still in use by a cursor on another thread: it goes with the process
    finally:
        cursor.close()


def execute(cursor: Cursor, sql: str) -> None:
    """Run ``sql`` on the cursor's server as written (inside a transaction: on its connection)."""
    cursor.execute(f"CALL postgres_execute(current_database(), {_literal(sql)})")


def query(cursor: Cursor, sql: str) -> list[tuple[Any, ...]]:
    return cursor.execute(f"SELECT * FROM postgres_query(current_database(), {_literal(sql)})").fetchall()


def lock_for_write(cursor: Cursor, wait_s: float) -> None:
    """The cross-process write lock: the first statement of the write transaction, before any read
    takes the transaction's snapshot, so the writer sees every write committed before it."""
    wait_ms = int(max(wait_s, MIN_LOCK_WAIT_S) * 1000)
    execute(cursor, f"SET LOCAL lock_timeout = {wait_ms}; {WRITE_LOCK}")


def clear_cache(cursor: Cursor) -> None:
    """Forget the attached catalog's cached table list (after DDL ran on the server)."""
    cursor.execute("CALL pg_clear_cache()")


_DUCKDB_TO_PG = (
    (re.compile(r"DEFAULT\s+\[\s*\]", re.IGNORECASE), "DEFAULT '{}'"),
    (re.compile(r"\bDOUBLE\b(?!\s+PRECISION)", re.IGNORECASE), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b", re.IGNORECASE), "BYTEA"),
)


def ddl(statement: str) -> str:
    """A migration statement (written for DuckDB) in PostgreSQL's dialect. The migrations use the
    common subset; only empty list defaults, DOUBLE and BLOB are spelled differently."""
    for pattern, replacement in _DUCKDB_TO_PG:
        statement = pattern.sub(replacement, statement)
    return statement


_LOST = r"server closed the connection|terminating connection|connection.*(lost|closed)|ssl syscall"
CONNECTION_LOST = "the database connection was lost; nothing was saved"


def connection_lost(error: Exception) -> bool:
    """Whether ``error`` says the server went away (restarted, or the backend was terminated)."""
    return re.search(_LOST, str(error), re.IGNORECASE) is not None


_CHECK_URL = "check the host, port, user and database in the URL, and the password (PGPASSWORD or ~/.pgpass)"
_FAILURES = (
    (
        r"password authentication failed|no password supplied|authentication failed",
        "the server refused the user name or password",
        _CHECK_URL,
    ),
    (
        r"database \S+ does not exist",
        "the database named in the URL does not exist on the server",
        "create it first (createdb NAME) or correct the name in the URL",
    ),
    (
        r"too many connections|remaining connection slots",
        "the server has no free connections",
        "raise the server's max_connections, or run fewer dashboard processes",
    ),
    (
        r"connection refused|could not connect|could not translate host|timeout expired"
        r"|no route to host|network is unreachable|is the server running",
        "the PostgreSQL server cannot be reached",
        "check the host and port in the URL and that the server is running",
    ),
    (
        r"lock timeout|could not serialize|deadlock detected",
        "the database was busy with other writes for too long",
        "try again; nothing was saved",
    ),
    (
        _LOST,
        "the connection to the PostgreSQL server was lost",
        "try again; a write that was under way was rolled back",
    ),
    (
        r"permission denied|must be owner",
        "the PostgreSQL user may not use this database's tables",
        "grant the user rights on the database (its owner can: GRANT ALL ON ALL TABLES ...)",
    ),
    (
        r"read-only transaction|recovery is in progress",
        "the PostgreSQL server is read-only (a standby?)",
        "point the URL at the primary server",
    ),
)
_FAILURE_PATTERNS = tuple((re.compile(p, re.IGNORECASE), m, h) for p, m, h in _FAILURES)


def explain(error: Exception) -> tuple[str, str]:
    """What a server or extension failure means, in plain words, with what to do: (message, hint).
    The driver's own text never reaches a user; it is logged, without any password."""
    text = str(error)
    log.warning("PostgreSQL store: %s", redact(text.strip()))
    for pattern, message, hint in _FAILURE_PATTERNS:
        if pattern.search(text):
            return message, hint
    return (
        "the PostgreSQL server refused the request",
        "try again; if it keeps failing, the dashboard's or the CLI's log holds the server's reason",
    )


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
