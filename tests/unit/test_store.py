"""The store: migrations, the one write path, the audit log."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta

import duckdb
import pytest

from aiops.errors import StoreError
from aiops.store import Store, derived, latest_schema_version
from aiops.store.store import _statements, migrations
from tests.conftest import ROOT

pytestmark = pytest.mark.both_stores


def _create_at_version(path, version: int) -> None:
    """A database as an older aiops left it: only the first ``version`` migrations applied."""
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL)"
    )
    for number, name, sql in migrations()[:version]:
        for statement in _statements(sql):
            con.execute(statement)
        con.execute("INSERT INTO schema_version VALUES (?, ?, now())", [number, name])
    con.close()


def test_new_database_is_at_latest_version(store):
    # Migration numbers are reserved per slice (004, 005, ...) and may land out of order: a new
    # database has every shipped migration, whatever the gaps.
    shipped = [version for version, _, _ in migrations()]
    assert store.schema_version() == latest_schema_version() == max(shipped)
    applied = [row[0] for row in store.query("SELECT version FROM schema_version ORDER BY version")]
    assert applied == shipped


def test_opening_an_older_file_upgrades_it_and_keeps_its_data(tmp_path):
    path = tmp_path / "old.duckdb"
    _create_at_version(path, 1)
    con = duckdb.connect(str(path))
    con.execute(
        "INSERT INTO workflows (workflow_id, name, department, created_at, updated_at) "
        "VALUES ('kept', 'Kept workflow', 'Ops', now(), now())"
    )
    con.close()
    with Store(path) as store:
        assert store.schema_version() == latest_schema_version()
        assert store.query("SELECT name FROM workflows") == [("Kept workflow",)]
        assert store.query("SELECT count(*) FROM timing_samples") == [(0,)]
        assert [r[0] for r in store.query("SELECT version FROM schema_version ORDER BY 1")] == [
            m[0] for m in migrations()
        ]


def test_a_store_whose_process_was_killed_after_its_migrations_opens_again(tmp_path):
    """A new store's migrations are written to the file, not left in DuckDB's log alone: a process
    killed before its first checkpoint (``os._exit``: no close, as a kill or an out-of-memory end)
    left a log that DuckDB 1.5 could not replay, and a file that would not open."""
    path = tmp_path / "killed.duckdb"
    # The store held until the end (a store no longer referenced is closed, and checkpointed).
    code = f"from aiops.store import Store; import os; store = Store({str(path)!r}); os._exit(0)"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    with Store(path) as store:
        assert store.schema_version() == latest_schema_version()


def test_a_newer_file_gives_a_clear_error(tmp_path):
    path = tmp_path / "future.duckdb"
    Store(path).close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_version VALUES (999, 'from_the_future', now())")
    con.close()
    with pytest.raises(StoreError, match="schema version 999, newer than this aiops knows"):
        Store(path)


def test_a_failed_write_leaves_nothing_behind(store, admin):
    def half_then_fail(tx):
        tx.execute(
            "INSERT INTO workflows (workflow_id, name, department, created_at, updated_at)"
            " VALUES ('w1', 'W', 'Ops', now(), now())"
        )
        tx.audit("workflow.created", "workflow", "w1")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.write(admin, half_then_fail)
    assert store.query("SELECT count(*) FROM workflows") == [(0,)]
    assert store.query("SELECT count(*) FROM audit_log") == [(0,)]


def test_a_failing_statement_rolls_back_the_whole_transaction(store, admin):
    def two_inserts_second_fails(tx):
        tx.execute(
            "INSERT INTO workflows (workflow_id, name, department, created_at, updated_at)"
            " VALUES ('w1', 'W', 'Ops', now(), now())"
        )
        tx.execute(
            "INSERT INTO workflows (workflow_id, name, department, created_at, updated_at)"
            " VALUES ('w1', 'duplicate key', 'Ops', now(), now())"
        )

    with pytest.raises(StoreError, match="nothing was saved"):
        store.write(admin, two_inserts_second_fails)
    assert store.query("SELECT count(*) FROM workflows") == [(0,)]


def test_audit_rows_record_actor_action_and_detail(store, admin):
    store.write(admin, lambda tx: tx.audit("thing.done", "thing", "t1", {"a": 1}))
    rows = store.query("SELECT actor, action, entity, entity_id, detail->>'a' FROM audit_log")
    assert rows == [("admin@test", "thing.done", "thing", "t1", "1")]


def test_a_file_that_is_not_duckdb_gives_a_clear_error(tmp_path):
    path = tmp_path / "not_a_database.duckdb"
    path.write_text("hello, this is a CSV\n")
    with pytest.raises(StoreError, match="cannot open database"):
        Store(path)


def test_migration_004_reads_existing_timings_as_hands_on_time_with_nothing_recorded(tmp_path):
    path = tmp_path / "v3.duckdb"
    _create_at_version(path, 3)
    con = duckdb.connect(str(path))
    con.execute(
        "INSERT INTO upload_batches (uploaded_at, actor, file_name, file_sha256, workflow_ids, mapping,"
        " rows_total, accepted, rejected) VALUES (now(), 'a', 'old.csv', 'x', ['w'], '{}', 1, 1, 0)"
    )
    con.execute("INSERT INTO timing_samples VALUES (1, 'w', 'before', now(), 12, 1, 0)")
    con.execute(
        "INSERT INTO workflows (workflow_id, name, department, created_at, updated_at)"
        " VALUES ('w', 'W', 'Ops', now(), now())"
    )
    con.close()
    with Store(path) as store:
        assert store.query("SELECT time_kind, ai_assisted, segment FROM timing_samples") == [
            ("hands_on", None, None)
        ]
        assert store.query("SELECT time_kind, phase_only FROM upload_batches") == [("hands_on", None)]
        assert store.query("SELECT comparison_workflow_id FROM workflows") == [(None,)]


def test_later_runs_a_job_off_the_callers_thread_and_settle_waits_for_it(tmp_path):
    release, ran = threading.Event(), []

    def job() -> None:
        release.wait(10)
        ran.append(threading.current_thread().name)

    with Store(tmp_path / "later.duckdb") as store:
        store.later(job)
        assert ran == []  # the caller went on
        release.set()
        store.settle()
        assert ran and ran[0].startswith("derived")


def test_close_waits_for_a_job_handed_to_later(tmp_path):
    ran = []
    store = Store(tmp_path / "later.duckdb")
    store.later(lambda: (time.sleep(0.2), ran.append(store.query_value("SELECT 1"))))
    store.close()
    assert ran == [1]  # it ran before the connection closed


def test_a_failed_job_is_one_line_in_the_log_never_raised(tmp_path, caplog):
    with Store(tmp_path / "later.duckdb") as store:
        store.later(lambda: 1 / 0)
        store.settle()
    failed = [r for r in caplog.records if r.name == "aiops.store.store"]
    assert len(failed) == 1 and "ZeroDivisionError" in failed[0].getMessage()
    assert "division by zero" not in failed[0].getMessage()  # the kind, never the error's own text
    assert failed[0].exc_info is None and failed[0].levelname == "WARNING"


def test_keeping_derived_data_lets_the_write_lock_go_when_no_cursor_opens(tmp_path, monkeypatch):
    """Found in review: a cursor that failed to open (a database gone bad) kept the lock, and every
    later write waited for ever."""
    with Store(tmp_path / "lock.duckdb") as store:

        def broken() -> None:
            raise duckdb.FatalException("the database is unusable")

        monkeypatch.setattr(store, "new_cursor", broken)
        assert not store.keep_derived([("SELECT 1", None)])
        assert store._write_lock.acquire(timeout=1)
        store._write_lock.release()


def test_keeping_derived_data_waits_for_a_write_only_when_asked(tmp_path):
    with Store(tmp_path / "lock.duckdb") as store:
        store._write_lock.acquire()
        threading.Timer(0.2, store._write_lock.release).start()
        assert not store.keep_derived([("SELECT 1", None)])  # a read's path never waits
        assert store.keep_derived([("SELECT 1", None)], wait_s=5)  # off it: the write ends first


def test_derived_data_keeps_the_most_recent_entries_of_each_kind(tmp_path):
    """Charts of many pages never push out the periods' figures a restarted server reads."""
    with Store(tmp_path / "derived.duckdb") as store:
        with store.snapshot() as reader:
            assert derived.keep(reader, "part:the quarter", b"figures", datetime(2027, 1, 1))
            for minute in range(derived.KEPT + 3):
                at = datetime(2027, 1, 1) + timedelta(minutes=minute + 1)
                assert derived.keep(reader, f"chart:{minute}", b"%d" % minute, at)
        assert derived.load(store, f"chart:{derived.KEPT + 2}") == b"%d" % (derived.KEPT + 2)
        assert derived.load(store, "chart:2") is None  # among the three oldest charts: forgotten
        assert derived.load(store, "part:the quarter") == b"figures"  # older, but of another kind
        charts = store.query_value(
            "SELECT count(*) FROM derived_cache WHERE starts_with(derived_key, 'chart:')"
        )
        oldest = store.query_value(
            "SELECT min(computed_at) FROM derived_cache WHERE derived_key LIKE 'chart:%'"
        )
    assert charts == derived.KEPT and oldest == datetime(2027, 1, 1, 0, 4)


def test_keeping_derived_data_under_a_key_again_replaces_it(tmp_path):
    with Store(tmp_path / "derived.duckdb") as store:
        assert derived.keep(store, "part:a key", b"first", datetime(2027, 1, 1))
        assert derived.keep(store, "part:a key", b"second", datetime(2027, 1, 2))
        assert derived.load(store, "part:a key") == b"second"


def test_handles_on_one_file_share_its_write_lock(tmp_path):
    """Their writes then commit in the order of their audit ids (``aiops.views.rows_state`` reads
    the writes after the last audit row it saw)."""
    one, other = tmp_path / "one.duckdb", tmp_path / "other.duckdb"
    with Store(one) as first, Store(tmp_path / "." / one.name) as second, Store(other) as third:
        assert first._write_lock is second._write_lock
        assert third._write_lock is not first._write_lock
    with Store(":memory:") as a, Store(":memory:") as b:
        assert a._write_lock is not b._write_lock  # two databases
