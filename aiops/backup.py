"""Backup and restore: a consistent copy of the database file, with a manifest to verify it.

The copy is taken under the store's write lock right after a checkpoint, so no write is half in
the file and none is left in the write-ahead log. Restore verifies the copy's hash and refuses a
database that another process holds.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb

from aiops.auth import Actor
from aiops.errors import AiopsError, StoreError
from aiops.store import Store, latest_schema_version, utcnow

BACKUP_FILE = "aiops.duckdb"
MANIFEST = "manifest.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def table_counts(store: Store) -> dict[str, int]:
    tables = [
        r[0]
        for r in store.query(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND NOT temporary ORDER BY 1"
        )
    ]
    return {t: store.query_one(f'SELECT count(*) FROM "{t}"')[0] for t in tables}


def backup(store: Store, actor: Actor, out_dir: str | Path) -> dict:
    """Copy the database into ``out_dir`` (which must not hold a backup yet); return the manifest."""
    actor.require_admin("back up the database")
    if store.path == ":memory:":
        raise AiopsError("an in-memory database has no file to back up")
    out = Path(out_dir)
    if (out / BACKUP_FILE).exists():
        raise AiopsError(f"{out} already holds a backup", "choose an empty directory")
    out.mkdir(parents=True, exist_ok=True)
    store.write(actor, lambda tx: tx.audit("database.backup", "database", str(out), {"out": str(out)}))
    with store.exclusive():
        shutil.copy2(store.path, out / BACKUP_FILE)
        manifest = {
            "created_at": utcnow().isoformat(timespec="seconds"),
            "source": str(Path(store.path).resolve()),
            "schema_version": store.schema_version(),
            "policy_version": store.policy.version,
            "tables": table_counts(store),
            "sha256": _sha256(out / BACKUP_FILE),
        }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def read_manifest(backup_dir: str | Path) -> dict:
    folder = Path(backup_dir)
    try:
        manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise AiopsError(
            f"{folder} is not a Saved Loops backup: {e}", "pass the folder `aiops backup` wrote"
        ) from e
    if _sha256(folder / BACKUP_FILE) != manifest.get("sha256"):
        raise AiopsError(f"the backup in {folder} is damaged (its hash does not match the manifest)")
    if manifest.get("schema_version", 0) > latest_schema_version():
        raise AiopsError("the backup comes from a newer Saved Loops", "upgrade before restoring")
    return manifest


def restore(backup_dir: str | Path, db_path: str | Path, actor: Actor) -> dict:
    """Replace the database at ``db_path`` with the backup (verified first); audited in the result."""
    actor.require_admin("restore the database")
    manifest = read_manifest(backup_dir)
    target = Path(db_path)
    _require_unused(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.with_name(target.name + ".wal").unlink(missing_ok=True)
    shutil.copy2(Path(backup_dir) / BACKUP_FILE, target)
    with Store(target) as store:
        store.write(
            actor,
            lambda tx: tx.audit(
                "database.restored",
                "database",
                str(target),
                {"from": str(backup_dir), "backup_created_at": manifest["created_at"]},
            ),
        )
    return manifest


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
