"""Restore never harms the live database before the backup is proven good, and neither backup nor
restore follows a symbolic link (issue 14, finding 3)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from pathlib import Path

import duckdb
import pytest

from aiops.auth import Actor
from aiops.backup import backup, restore
from aiops.cli import main
from aiops.errors import AiopsError
from aiops.store import Store

ADMIN = Actor(name="admin@test", role="admin")


@pytest.fixture(scope="module")
def demo_backup(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A backup of the demo, made once per module; each test gets its own copy to forge (``folder``)."""
    work = tmp_path_factory.mktemp("backup")
    shutil.copy(demo_template, work / "demo.duckdb")
    with Store(work / "demo.duckdb") as store:
        backup(store, ADMIN, work / "backup")
    return work / "backup"


@pytest.fixture
def folder(demo_backup: Path, tmp_path: Path) -> Path:
    shutil.copytree(demo_backup, tmp_path / "backup")
    return tmp_path / "backup"


@pytest.fixture
def live(tmp_path: Path, empty_template: Path) -> Path:
    """A live database (a different one) whose bytes must survive a refused restore."""
    shutil.copy(empty_template, tmp_path / "live.duckdb")
    return tmp_path / "live.duckdb"


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


HEADER_BYTES = 3 * 4096  # DuckDB's file header, then the blocks


def test_a_corrupt_data_block_is_refused_though_every_count_matches(folder, live):
    """A database with a damaged data block (backed up as it was: the manifest's hash matches) has
    the right row counts; only reading every value finds the block's checksum wrong."""
    data = folder / "aiops.duckdb"
    with duckdb.connect(str(data), read_only=True) as con:
        block, offset = con.execute(
            "SELECT block_id, block_offset FROM pragma_storage_info('timing_samples')"
            " WHERE column_name = 'duration_minutes' AND persistent AND block_id >= 0 LIMIT 1"
        ).fetchall()[0]
        block_size = con.execute("SELECT block_size FROM pragma_database_size()").fetchall()[0][0]
    damaged = bytearray(data.read_bytes())
    at = HEADER_BYTES + block * block_size + 8 + offset + 64
    damaged[at : at + 16] = bytes(b ^ 0xFF for b in damaged[at : at + 16])
    data.write_bytes(bytes(damaged))
    forge_manifest(folder, sha256=sha(data))
    assert_refused_and_untouched(folder, live, "cannot be read in full")


def test_a_fifo_as_the_manifest_is_refused_not_waited_on(folder, live):
    (folder / "manifest.json").unlink()
    os.mkfifo(folder / "manifest.json")
    verdict: list[BaseException] = []

    def attempt() -> None:
        try:
            restore(folder, live, ADMIN)
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            verdict.append(e)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout=30)
    if worker.is_alive():  # unblock the hung open so the thread can end
        with open(folder / "manifest.json", "w"):
            pass
        pytest.fail("restore waited on a FIFO manifest")
    assert isinstance(verdict[0], AiopsError) and "not a regular file" in verdict[0].message


@pytest.mark.parametrize("version", ["7", None, True, 7.5])
def test_a_schema_version_that_is_not_a_whole_number_is_refused_in_one_line(folder, live, capsys, version):
    forge_manifest(folder, schema_version=version)
    assert_refused_and_untouched(folder, live, "schema_version is not a whole number")
    code = main(["restore", str(folder), "--db", str(live)])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("aiops: error:") and "Traceback" not in err
