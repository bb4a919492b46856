"""Backup and restore: a consistent copy of the database file, with a manifest to verify it.

The copy is taken under the store's write lock right after a checkpoint, so no write is half in
the file and none is left in the write-ahead log. Neither side follows a symbolic link: backup
creates its two files new (never through a link planted in ``--out``), restore reads them only if
they are plain files. Restore never touches the live database until the copy is proven good:
it copies the backup into a temporary file beside the target (hashing what it copied), opens that
copy and checks it (manifest hash, schema version, every value of every table read, so that each
block's checksum is verified, row counts as in the manifest), and only then renames it over the
target in one atomic step.

A PostgreSQL store is backed up as one consistent snapshot (a repeatable-read transaction) written
into a DuckDB file, the same format; its restore stages and verifies the backup the same way in a
temporary directory, then replaces every row in one server transaction (dashboards may stay up).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import duckdb

from aiops.auth import Actor
from aiops.errors import AiopsError, StoreError
from aiops.store import Store, latest_schema_version, utcnow
from aiops.store.postgres import is_postgres
from aiops.store.transfer import restore_from_file, snapshot_to_file

BACKUP_FILE = "aiops.duckdb"
MANIFEST = "manifest.json"
_CHUNK = 1 << 20


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with _open_plain(path) as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _open_plain(path: Path) -> BinaryIO:
    """``path`` opened for reading only if it is a regular file, never through a symbolic link.
    Opened without blocking: a FIFO would otherwise wait for a writer before it could be refused."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as e:
        raise AiopsError(
            f"cannot read {path}: {'it is a symbolic link' if path.is_symlink() else e.strerror}",
            "pass the folder `aiops backup` wrote; links are never followed",
        ) from e
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise AiopsError(f"{path} is not a regular file", "pass the folder `aiops backup` wrote")
    return os.fdopen(fd, "rb")


def _create_new(path: Path) -> BinaryIO:
    """``path`` created for writing; refused if anything (a file, a link, even a dangling one) is there."""
    try:
        return path.open("xb")
    except FileExistsError as e:
        raise AiopsError(f"{path} already exists", "choose an empty directory for the backup") from e


def _copy(source: BinaryIO, target: BinaryIO, digest: hashlib._Hash) -> None:
    for chunk in iter(lambda: source.read(_CHUNK), b""):
        digest.update(chunk)
        target.write(chunk)
    target.flush()
    os.fsync(target.fileno())


def table_counts(store: Store) -> dict[str, int]:
    return _counts(store.query)


def _counts(query: Callable[[str], list[tuple[Any, ...]]]) -> dict[str, int]:
    """Rows per table (``query(sql)`` returns a list of tuples)."""
    tables = [
        r[0]
        for r in query(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = current_schema() AND NOT temporary ORDER BY 1"
        )
    ]
    return {t: query(f'SELECT count(*) FROM "{t}"')[0][0] for t in tables}


def backup(store: Store, actor: Actor, out_dir: str | Path) -> dict[str, Any]:
    """Copy the database into ``out_dir`` (which must not hold a backup yet); return the manifest."""
    actor.require_admin("back up the database")
    if store.path == ":memory:":
        raise AiopsError("an in-memory database has no file to back up")
    out = Path(out_dir)
    if out.is_symlink():
        raise AiopsError(f"{out} is a symbolic link", "choose a real, empty directory for the backup")
    if any(os.path.lexists(out / name) for name in (BACKUP_FILE, MANIFEST)):
        raise AiopsError(f"{out} already holds a backup", "choose an empty directory")
    out.mkdir(parents=True, exist_ok=True)
    store.write(actor, lambda tx: tx.audit("database.backup", "database", str(out), {"out": str(out)}))
    if store.postgres:
        return _backup_postgres(store, actor, out)
    digest = hashlib.sha256()
    with store.exclusive(), _open_plain(Path(store.path)) as source, _create_new(out / BACKUP_FILE) as copy:
        _copy(source, copy, digest)
        manifest = {
            "created_at": utcnow().isoformat(timespec="seconds"),
            "source": str(Path(store.path).resolve()),
            "schema_version": store.schema_version(),
            "policy_version": store.policy.version,
            "tables": table_counts(store),
            "sha256": digest.hexdigest(),
        }
    with _create_new(out / MANIFEST) as f:
        f.write(json.dumps(manifest, indent=2).encode("utf-8"))
    return manifest


def _backup_postgres(store: Store, actor: Actor, out: Path) -> dict[str, Any]:
    """A PostgreSQL store's backup: one consistent snapshot (a repeatable-read transaction) written
    as a DuckDB file, the same format as the embedded store's backup."""
    tables = snapshot_to_file(store, actor, out / BACKUP_FILE)
    manifest = {
        "created_at": utcnow().isoformat(timespec="seconds"),
        "source": store.path,  # the URL without its password
        "schema_version": store.schema_version(),
        "policy_version": store.policy.version,
        "tables": dict(sorted(tables.items())),
        "sha256": _sha256(out / BACKUP_FILE),
    }
    with _create_new(out / MANIFEST) as f:
        f.write(json.dumps(manifest, indent=2).encode("utf-8"))
    return manifest


def read_manifest(backup_dir: str | Path) -> dict[str, Any]:
    folder = Path(backup_dir)
    if folder.is_symlink():
        raise AiopsError(f"{folder} is a symbolic link", "pass the folder `aiops backup` wrote")
    try:
        with _open_plain(folder / MANIFEST) as f:
            manifest = json.loads(f.read().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise AiopsError(
            f"{folder} is not a Saved Loops backup: {e}", "pass the folder `aiops backup` wrote"
        ) from e
    if not isinstance(manifest, dict) or not isinstance(manifest.get("tables"), dict):
        raise AiopsError(f"{folder} is not a Saved Loops backup: its manifest lists no tables")
    version = manifest.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise AiopsError(
            f"{folder} is not a Saved Loops backup: its manifest's schema_version is not a whole number",
            "pass the folder `aiops backup` wrote, with its manifest as written",
        )
    if version > latest_schema_version():
        raise AiopsError("the backup comes from a newer Saved Loops", "upgrade before restoring")
    return manifest


def restore(backup_dir: str | Path, db_path: str | Path, actor: Actor) -> dict[str, Any]:
    """Replace the database at ``db_path`` with the backup, verified before it replaces anything."""
    actor.require_admin("restore the database")
    manifest = read_manifest(backup_dir)
    if is_postgres(db_path):
        with tempfile.TemporaryDirectory(prefix="aiops-restore-") as tmp:
            staged = _stage_copy(Path(backup_dir) / BACKUP_FILE, Path(tmp) / BACKUP_FILE, manifest)
            detail = {"from": str(backup_dir), "backup_created_at": manifest.get("created_at")}
            restore_from_file(staged, str(db_path), actor, detail)  # one transaction on the server
        return manifest
    target = Path(db_path)
    if target.is_symlink():
        raise AiopsError(f"{target} is a symbolic link", "restore to the database file itself")
    _require_unused(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = _stage_copy(Path(backup_dir) / BACKUP_FILE, target, manifest)
    try:
        _require_unused(target)  # still nobody else's, now that the copy is ready
        target.with_name(target.name + ".wal").unlink(missing_ok=True)
        os.replace(staged, target)  # atomic: the old database or the new one, never half of each
    finally:
        staged.unlink(missing_ok=True)
    with Store(target) as store:
        store.write(
            actor,
            lambda tx: tx.audit(
                "database.restored",
                "database",
                str(target),
                {"from": str(backup_dir), "backup_created_at": manifest.get("created_at")},
            ),
        )
    return manifest


def _stage_copy(source: Path, target: Path, manifest: dict[str, Any]) -> Path:
    """The backup copied to a new temporary file beside ``target`` and verified there."""
    staged = target.with_name(f".{target.name}.restore-{os.getpid()}")
    staged.unlink(missing_ok=True)
    digest = hashlib.sha256()
    try:
        with _open_plain(source) as f, _create_new(staged) as copy:
            _copy(f, copy, digest)
        if digest.hexdigest() != manifest.get("sha256"):
            raise AiopsError(
                f"the backup in {source.parent} is damaged (its hash does not match the manifest)",
                "nothing was changed",
            )
        verify_database(staged, manifest)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return staged


def verify_database(path: Path, manifest: dict[str, Any]) -> None:
    """Open the copy read-only and check its schema version, that every table reads in full, and
    that each table holds the rows the manifest counted."""
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as e:
        raise AiopsError(f"the backup is not a readable database: {e}", "nothing was changed") from e
    try:
        version = con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0]
        if version != manifest.get("schema_version"):
            raise AiopsError(
                f"the backup's schema version is {version}, "
                f"its manifest says {manifest.get('schema_version')}",
                "nothing was changed",
            )
        counts = _counts(lambda sql: con.execute(sql).fetchall())
        for table in counts:
            _read_in_full(con, table)
    except duckdb.Error as e:
        raise AiopsError(f"the backup cannot be read in full: {e}", "nothing was changed") from e
    finally:
        con.close()
    if counts != manifest["tables"]:
        differ = sorted(
            t for t in set(counts) | set(manifest["tables"]) if counts.get(t) != manifest["tables"].get(t)
        )
        raise AiopsError(
            f"the backup's row counts differ from its manifest in: {', '.join(differ)}", "nothing was changed"
        )


def _read_in_full(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Every value of every column read (a hash of each column): DuckDB checks each block's
    checksum as it reads it, and ``count(*)`` alone reads none of the data (DuckDB has no
    integrity PRAGMA; the checksums are its integrity check)."""
    con.execute(f'SELECT bit_xor(hash(COLUMNS(*))) FROM "{table}"').fetchall()


def _require_unused(target: Path) -> None:
    """Refuse to overwrite a database another process has open (e.g. the dashboard)."""
    if not target.exists():
        return
    try:
        duckdb.connect(str(target)).close()
    except duckdb.IOException as e:
        raise StoreError(
            f"{target} is in use by another process (is the dashboard running?)",
            "stop it before restoring; nothing was changed",
        ) from e
    except duckdb.Error as e:
        raise StoreError(f"{target} is not a database that can be replaced: {e}") from e
