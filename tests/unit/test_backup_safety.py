"""Restore never harms the live database before the backup is proven good, and neither backup nor
restore follows a symbolic link (issue 14, finding 3)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from aiops.auth import Actor
from aiops.backup import backup, restore
from aiops.errors import AiopsError
from aiops.store import Store

ADMIN = Actor(name="admin@test", role="admin")


@pytest.fixture
def folder(demo_path: Path, tmp_path: Path) -> Path:
    with Store(demo_path) as store:
        backup(store, ADMIN, tmp_path / "backup")
    return tmp_path / "backup"


@pytest.fixture
def live(tmp_path: Path) -> Path:
    """A live database (a different one) whose bytes must survive a refused restore."""
    path = tmp_path / "live.duckdb"
    Store(path).close()
    return path


def forge_manifest(folder: Path, **changes) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(changes)
    (folder / "manifest.json").write_text(json.dumps(manifest))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_refused_and_untouched(folder: Path, live: Path, match: str) -> None:
    before = live.read_bytes()
    with pytest.raises(AiopsError, match=match):
        restore(folder, live, ADMIN)
    assert live.read_bytes() == before, "the live database changed although restore was refused"
    assert sorted(p.name for p in live.parent.iterdir() if ".restore-" in p.name) == []  # no temp left


def test_junk_with_a_matching_manifest_hash_leaves_the_live_database_alone(folder, live):
    (folder / "aiops.duckdb").write_bytes(b"junk, not a database" * 100)
    forge_manifest(folder, sha256=sha(folder / "aiops.duckdb"))
    assert_refused_and_untouched(folder, live, "not a readable database")


def test_a_symlinked_backup_file_is_never_followed(folder, live):
    (folder / "aiops.duckdb").unlink()
    (folder / "aiops.duckdb").symlink_to("/etc/passwd")
    forge_manifest(folder, sha256=sha(Path("/etc/passwd")))
    assert_refused_and_untouched(folder, live, "symbolic link")


def test_row_counts_that_differ_from_the_manifest_are_refused(folder, live):
    manifest = json.loads((folder / "manifest.json").read_text())
    forge_manifest(folder, tables={**manifest["tables"], "workflows": manifest["tables"]["workflows"] + 1})
    assert_refused_and_untouched(folder, live, "row counts differ.*workflows")


def test_a_schema_version_other_than_the_manifest_is_refused(folder, live):
    forge_manifest(folder, schema_version=1)
    assert_refused_and_untouched(folder, live, "schema version")


def test_a_good_backup_replaces_the_live_database(folder, live, demo_path):
    restore(folder, live, ADMIN)
    with Store(live) as store, Store(demo_path) as demo:
        assert store.query("SELECT count(*) FROM workflows") == demo.query("SELECT count(*) FROM workflows")


def test_restore_does_not_write_through_a_symlinked_target(folder, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "link.duckdb"
    link.symlink_to(victim)
    with pytest.raises(AiopsError, match="symbolic link"):
        restore(folder, link, ADMIN)
    assert victim.read_text() == "keep me"


def test_backup_does_not_follow_a_planted_manifest_link(demo_path, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (out / "manifest.json").symlink_to(victim)
    with Store(demo_path) as store, pytest.raises(AiopsError, match="already"):
        backup(store, ADMIN, out)
    assert victim.read_text() == "keep me"
    (out / "manifest.json").unlink()
    (out / "aiops.duckdb").symlink_to(tmp_path / "nowhere.duckdb")  # even a dangling link
    with Store(demo_path) as store, pytest.raises(AiopsError, match="already"):
        backup(store, ADMIN, out)
    assert not (tmp_path / "nowhere.duckdb").exists()


def test_backup_refuses_a_symlinked_out_folder(demo_path, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "out").symlink_to(real)
    with Store(demo_path) as store, pytest.raises(AiopsError, match="symbolic link"):
        backup(store, ADMIN, tmp_path / "out")
    assert list(real.iterdir()) == []
    shutil.rmtree(real)
