"""Copy every row of one store into another (a DuckDB file and PostgreSQL, either way).

The source is read in one transaction (one snapshot: DuckDB's MVCC, PostgreSQL's repeatable
read); the target is written in one transaction through ``Store.write``, which checks each table's
row count against the source before it commits and moves each id sequence past the copied ids.
``aiops store copy``, the PostgreSQL backup (a snapshot into a DuckDB file: the backup format)
and the PostgreSQL restore are this one function.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from aiops.auth import Actor
from aiops.errors import AiopsError, Conflict, StoreError
from aiops.store import postgres as pg
from aiops.store.store import Store, Tx, migrations, rollback_quietly

_VIEW = re.compile(r"CREATE VIEW (\w+)", re.IGNORECASE)
_SERIAL = re.compile(
    r"CREATE TABLE (\w+)\s*\(\s*(\w+)\s+BIGINT PRIMARY KEY DEFAULT nextval\('(\w+)'\)", re.IGNORECASE
)


def data_tables(store: Store) -> list[str]:
    """The store's tables (not ``schema_version``: both sides are at the same version; not the
    migrations' views, which DuckDB lists as tables of an attached PostgreSQL server)."""
    views = {view for _, _, sql in migrations() for view in _VIEW.findall(sql)}
    return [
        r[0]
        for r in store.query(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = current_schema() "
            "AND NOT temporary AND table_name <> 'schema_version' ORDER BY 1"
        )
        if r[0] not in views
    ]


def id_sequences() -> dict[str, tuple[str, str]]:
    """table -> (id column, sequence) for every table whose id comes from a sequence."""
    found = {}
    for _, _, sql in migrations():
        for table, column, sequence in _SERIAL.findall(sql):
            found[table] = (column, sequence)
    return found


def row_counts(store: Store) -> dict[str, int]:
    return {t: store.query_value(f'SELECT count(*) FROM "{t}"') for t in data_tables(store)}


def copy_rows(
    source: Store,
    target: Store,
    actor: Actor,
    *,
    replace: bool = False,
    audit: tuple[str, dict[str, Any]] | None = None,
) -> dict[str, int]:
    """Copy every table of ``source`` into ``target`` in one transaction; return the row counts.

    The target must be empty unless ``replace`` (then its rows are deleted in the same
    transaction). ``audit`` (action, detail) is appended to the target's log after the check."""
    if source.schema_version() != target.schema_version():
        raise StoreError(
            f"{source.path} is at schema version {source.schema_version()} and {target.path} at "
            f"{target.schema_version()}",
            "open both with the same Saved Loops first (opening upgrades them)",
        )
    tables = data_tables(target)
    missing = sorted(set(data_tables(source)) ^ set(tables))
    if missing:
        raise StoreError(f"the two stores do not have the same tables ({', '.join(missing)})")
    frames = _snapshot(source, tables)

    def write(tx: Tx) -> dict[str, int]:
        counts = {t: tx.query_value(f'SELECT count(*) FROM "{t}"') for t in tables}
        if not replace and any(counts.values()):
            filled = ", ".join(f"{t} ({n:,})" for t, n in counts.items() if n)
            raise Conflict(
                f"{target.path} already holds data: {filled}",
                "copy into an empty database (create a new one); nothing was written",
            )
        for table in tables:
            if replace:
                tx.execute(f'DELETE FROM "{table}"')
            frame = frames[table]
            if frame.num_rows:
                columns = ", ".join(f'"{c}"' for c in frame.column_names)
                tx.cursor.register("copied_rows", frame)
                try:
                    tx.execute(f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM copied_rows')
                finally:
                    tx.cursor.unregister("copied_rows")
        copied = {t: tx.query_value(f'SELECT count(*) FROM "{t}"') for t in tables}
        expected = {t: frames[t].num_rows for t in tables}
        if copied != expected:
            wrong = ", ".join(
                f"{t}: {copied[t]} of {expected[t]}" for t in tables if copied[t] != expected[t]
            )
            raise StoreError(f"the copy does not add up ({wrong}); nothing was written")
        for table, (column, sequence) in id_sequences().items():
            if table in tables:
                _advance(tx, sequence, tx.query_value(f'SELECT max("{column}") FROM "{table}"'))
        if audit is not None:
            tx.audit(audit[0], "database", target.path, {**audit[1], "tables": expected})
        return expected

    return target.write(actor, write)


def _snapshot(source: Store, tables: list[str]) -> dict[str, Any]:
    """Every table as an Arrow table, all read in one transaction (one consistent snapshot)."""
    cursor = source.new_cursor()
    try:
        cursor.execute("BEGIN TRANSACTION")
        with source._translate():
            frames = {t: cursor.execute(f'SELECT * FROM "{t}"').to_arrow_table() for t in tables}
        cursor.execute("COMMIT")
        return frames
    except BaseException:
        rollback_quietly(cursor)  # before the close: see Store.write
        raise
    finally:
        cursor.close()


def _advance(tx: Tx, sequence: str, highest: int | None) -> None:
    """Make ``sequence`` hand out ids above ``highest`` (the copied rows keep their ids)."""
    if not highest:
        return
    if tx.postgres:
        with tx._translate():
            pg.query(tx.cursor, f"SELECT setval('{sequence}', {int(highest)})")
        return
    # DuckDB has no setval: a fresh sequence is drawn up to the highest copied id.
    current = tx.query_value(f"SELECT nextval('{sequence}')")
    if current < highest:
        tx.query(f"SELECT max(nextval('{sequence}')) FROM range(?)", [int(highest - current)])


def snapshot_to_file(source: Store, actor: Actor, path: Path) -> dict[str, int]:
    """A consistent snapshot of ``source`` as a new DuckDB file at ``path`` (the backup format);
    written beside it and linked into place only when complete (never over anything there)."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        with Store(partial, policy=source.policy) as snapshot:
            copy_rows(source, snapshot, actor)
            counts = {**row_counts(snapshot), "schema_version": len(snapshot.query("FROM schema_version"))}
        try:
            os.link(partial, path)  # fails if anything (a file, a planted link) appeared at ``path``
        except FileExistsError as e:
            raise AiopsError(f"{path} already exists", "choose an empty directory for the backup") from e
    finally:
        partial.unlink(missing_ok=True)
        partial.with_name(partial.name + ".wal").unlink(missing_ok=True)
    return counts


def restore_from_file(
    working_copy: Path, target_location: str, actor: Actor, detail: dict[str, Any]
) -> dict[str, int]:
    """Replace every row of the store at ``target_location`` with those of ``working_copy`` (a
    verified copy of a backup, never the backup itself: opening migrates an older one), in one
    transaction (PostgreSQL: dashboards may stay up; their next rerun shows the restored data)."""
    with Store(working_copy) as source, Store(target_location) as target:
        return copy_rows(source, target, actor, replace=True, audit=("database.restored", detail))
