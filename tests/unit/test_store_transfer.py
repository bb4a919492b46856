"""Moving a company's data: `aiops store copy`, and backup/restore of a PostgreSQL store."""

from __future__ import annotations

import json

import pytest

from aiops.auth import Actor
from aiops.backup import backup, restore
from aiops.cli import main
from aiops.errors import Conflict
from aiops.store import Store
from aiops.store.transfer import copy_rows, data_tables, id_sequences
from tests import pg_cluster

ADMIN = Actor(name="admin@test", role="admin")


def all_rows(store: Store) -> dict[str, list[tuple]]:
    return {t: store.query(f'SELECT * FROM "{t}" ORDER BY ALL') for t in data_tables(store)}


def assert_same_data(before: dict, after: dict, appended: str) -> None:
    """Every table equal, except one audit row the copy or restore appended to the log."""
    assert set(after) == set(before) and len(before) >= 8
    for table, rows in before.items():
        if table == "audit_log":
            assert after[table][:-1] == rows
            assert after[table][-1][3] == appended
        else:
            assert after[table] == rows, table


def test_store_copy_moves_every_row_from_a_file_to_postgres(demo_path, pg_database, capsys):
    with Store(demo_path) as source:
        before = all_rows(source)
    code = main(["store", "copy", "--from", str(demo_path), "--to", pg_database, "--json"])
    assert code == 0, capsys.readouterr().err
    shown = json.loads(capsys.readouterr().out)
    assert shown["tables"]["timing_samples"] == len(before["timing_samples"]) > 1000
    with Store(pg_database) as target:
        assert_same_data(before, all_rows(target), "store.copied")
        # ids go on after the copied ones: the sequences were moved past them
        target.write(ADMIN, lambda tx: tx.audit("after.copy", "thing", "t"))
        ids = [r[0] for r in target.query("SELECT audit_id FROM audit_log ORDER BY audit_id")]
        assert len(ids) == len(set(ids)) == len(before["audit_log"]) + 2
        assert target.write(ADMIN, lambda tx: tx.next_id("batch_seq")) > max(
            r[0] for r in before["upload_batches"]
        )


def test_store_copy_refuses_a_target_that_holds_data(demo_path, tmp_path):
    other = tmp_path / "other.duckdb"
    with Store(other) as target:
        target.write(ADMIN, lambda tx: tx.audit("something", "thing", "t"))
        before = all_rows(target)
        with Store(demo_path) as source, pytest.raises(Conflict, match="already holds data"):
            copy_rows(source, target, ADMIN)
        assert all_rows(target) == before


def test_the_tables_with_id_sequences_are_known():
    expected = {
        "audit_log": ("audit_id", "audit_seq"),
        "upload_batches": ("batch_id", "batch_seq"),
        "checkpoint_events": ("event_id", "checkpoint_event_seq"),
    }
    assert expected.items() <= id_sequences().items()


def test_postgres_backup_then_restore_reproduces_every_table(
    demo_pg_template, pg_server, pg_database, tmp_path
):
    source_url = pg_cluster.create_database(pg_server, template=demo_pg_template)
    target_url = pg_database  # migrated and empty
    try:
        with Store(source_url) as store:
            manifest = backup(store, ADMIN, tmp_path / "backup")
            before = all_rows(store)
        assert "***" not in json.dumps(manifest) and manifest["source"].startswith("postgresql://")
        assert manifest["tables"]["timing_samples"] == len(before["timing_samples"])
        # the backup is a DuckDB file like the embedded store's: it restores into either kind
        restore(tmp_path / "backup", target_url, ADMIN)
        restore(tmp_path / "backup", tmp_path / "restored.duckdb", ADMIN)
        for restored in (target_url, str(tmp_path / "restored.duckdb")):
            with Store(restored) as store:
                assert_same_data(before, all_rows(store), "database.restored")
        # restoring again replaces, in one transaction: still one copy of every row
        restore(tmp_path / "backup", target_url, ADMIN)
        with Store(target_url) as store:
            after = all_rows(store)
            assert after["timing_samples"] == before["timing_samples"]
            assert [r[3] for r in after["audit_log"][-1:]] == ["database.restored"]
    finally:
        pg_cluster.drop_database(pg_server, source_url)
