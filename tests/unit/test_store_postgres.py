"""PostgreSQL as the shared store: several processes, one write lock, no partial writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from aiops.auth import Actor
from aiops.demo import build_demo
from aiops.errors import Conflict, StoreError
from aiops.store import Store, latest_schema_version, postgres
from aiops.store.postgres import ddl, redact
from aiops.store.store import migrations
from tests import pg_cluster
from tests.conftest import ROOT

ADMIN = Actor(name="admin@test", role="admin")


def _run_python(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_password_is_never_shown(pg_database):
    user_host = pg_database.removeprefix("postgresql://")
    with Store(f"postgresql://{user_host.replace('@', ':s3cret-pw@', 1)}") as store:
        assert "s3cret-pw" not in store.path and "***" in store.path
    port = pg_database.rsplit(":", 1)[1].split("/")[0]
    wrong = pg_database.replace(f":{port}/", ":1/").replace("postgres@", "postgres:s3cret-pw@")
    with pytest.raises(StoreError) as caught:
        Store(wrong)
    shown = caught.value.message + (caught.value.hint or "") + str(caught.value)
    assert "cannot connect" in shown and "s3cret-pw" not in shown
    assert caught.value.__cause__ is None  # the driver's own text (with the URL) is not chained


def test_redact_covers_urls_and_keyword_strings():
    assert redact("postgresql://u:pw@h:5/db failed") == "postgresql://u:***@h:5/db failed"
    assert redact("host=h password='a b' user=u") == "host=h password=*** user=u"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"


def test_migrations_are_translated_to_postgres_types():
    assert ddl("tags VARCHAR[] NOT NULL DEFAULT [], x DOUBLE NOT NULL") == (
        "tags VARCHAR[] NOT NULL DEFAULT '{}', x DOUBLE PRECISION NOT NULL"
    )
    assert ddl("x DOUBLE PRECISION") == "x DOUBLE PRECISION"


def test_a_write_in_one_process_is_read_by_another(pg_database):
    with Store(pg_database) as first, Store(pg_database) as second:
        before = second.query_one("SELECT coalesce(max(audit_id), 0) FROM audit_log")[0]
        first.write(ADMIN, lambda tx: tx.audit("thing.done", "thing", "t1"))
        assert second.query_one("SELECT max(audit_id) FROM audit_log")[0] == before + 1


WRITER = """
import sys, time
from pathlib import Path
from aiops.auth import Actor
from aiops.store import Store

def step(tx):
    # read-modify-write: without the lock before the snapshot, two writers see the same count
    seen = tx.query_one("SELECT count(*) FROM audit_log WHERE action = 'counter'")[0]
    tx.audit("counter", "counter", sys.argv[2], {"seen": seen})

with Store(sys.argv[1]) as store:
    go = Path(sys.argv[4])
    Path(f"{go}.ready{sys.argv[2]}").touch()
    while not go.exists():  # both processes start writing together: their writes interleave
        time.sleep(0.01)
    for _ in range(int(sys.argv[3])):
        store.write(Actor(name="w" + sys.argv[2], role="admin"), step)
"""


def _start_together(processes: list[subprocess.Popen], go: Path) -> None:
    """Wait until every process is ready (its store open), then let them all go at once."""
    deadline = time.monotonic() + 60
    while not all(Path(f"{go}.ready{n}").exists() for n in range(len(processes))):
        for p in processes:
            assert p.poll() is None, p.stderr.read() if p.stderr else ""
        assert time.monotonic() < deadline, "the processes never got ready"
        time.sleep(0.02)
    go.touch()


def test_writers_in_two_processes_are_serialised_and_see_each_others_commits(pg_database, tmp_path):
    go = tmp_path / "go"
    writers = [_run_python(WRITER, pg_database, str(n), "12", str(go)) for n in range(2)]
    _start_together(writers, go)
    for w in writers:
        _, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
    with Store(pg_database) as store:
        seen = [
            json.loads(d)["seen"]
            for (d,) in store.query("SELECT detail FROM audit_log WHERE action = 'counter'")
        ]
        writers_seen = store.query("SELECT count(DISTINCT entity_id) FROM audit_log WHERE action = 'counter'")
        order = [r[0] for r in store.query("SELECT entity_id FROM audit_log ORDER BY audit_id")]
    # every write saw every write committed before it: the counts are 0..23, each once
    assert sorted(seen) == list(range(24))
    assert writers_seen == [(2,)]
    assert sum(a != b for a, b in zip(order, order[1:], strict=False)) >= 1  # they did take turns


HANGING_WRITER = """
import sys, time
from pathlib import Path
from aiops.auth import Actor
from aiops.store import Store

def half(tx):
    batch = tx.next_id("batch_seq")
    tx.execute(
        "INSERT INTO upload_batches (batch_id, uploaded_at, actor, file_name, file_sha256, workflow_ids,"
        " mapping, rows_total, accepted, rejected)"
        " VALUES (?, now(), 'k', 'f.csv', 'x', ['w'], '{}', 3, 3, 0)",
        [batch],
    )
    tx.execute(
        "INSERT INTO timing_samples (batch_id, workflow_id, phase, measured_at, duration_minutes, loops,"
        " rework_minutes) SELECT ?, 'w', 'before', TIMESTAMP '2026-01-01', 1, 1, 0"
        " FROM range(10000)",
        [batch],
    )
    Path(sys.argv[2]).write_text("in the transaction")
    time.sleep(120)

with Store(sys.argv[1]) as store:
    store.write(Actor(name="k", role="admin"), half)
"""


def test_kill_9_mid_commit_leaves_no_partial_batch_and_frees_the_lock(pg_database, tmp_path: Path):
    flag = tmp_path / "flag"
    writer = _run_python(HANGING_WRITER, pg_database, str(flag))
    deadline = time.monotonic() + 60
    while not flag.exists():
        assert writer.poll() is None, writer.stderr.read()
        assert time.monotonic() < deadline, "the writer never reached its transaction"
        time.sleep(0.05)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    with Store(pg_database) as store:
        assert store.query("SELECT count(*) FROM upload_batches") == [(0,)]
        assert store.query("SELECT count(*) FROM timing_samples") == [(0,)]
        # The lock was released: a held lock would make this write fail as busy after its timeout.
        store.write(ADMIN, lambda tx: tx.audit("after.kill", "thing", "t"))
        assert store.query("SELECT count(*) FROM audit_log") == [(1,)]


OPENER = """
import sys, time
from pathlib import Path
from aiops.store import postgres

postgres._shared_engine()  # the extension loaded: what is left is the migration itself
go = Path(sys.argv[2])
Path(f"{go}.ready{sys.argv[3]}").touch()
while not go.exists():
    time.sleep(0.01)
from aiops.store import Store
Store(sys.argv[1]).close()
"""


def test_processes_opening_a_new_database_at_once_migrate_it_once(pg_server, tmp_path):
    url = pg_cluster.create_database(pg_server)  # empty: no schema yet
    go = tmp_path / "go"
    try:
        openers = [_run_python(OPENER, url, str(go), str(n)) for n in range(2)]
        _start_together(openers, go)
        for p in openers:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
        with Store(url) as store:
            assert store.schema_version() == latest_schema_version()
            assert [r[0] for r in store.query("SELECT version FROM schema_version ORDER BY 1")] == [
                m[0] for m in migrations()
            ]
    finally:
        pg_cluster.drop_database(pg_server, url)


def test_the_demo_is_never_built_over_a_database_that_holds_data(pg_database):
    with Store(pg_database) as store:
        store.write(ADMIN, lambda tx: tx.audit("something", "thing", "t"))
    with pytest.raises(Conflict, match="already holds data"):
        build_demo(pg_database)
    with Store(pg_database) as store:
        assert store.query("SELECT action FROM audit_log") == [("something",)]


def test_server_failures_reach_the_user_in_plain_words_with_a_hint(pg_database, caplog):
    with Store(pg_database) as store:
        with pytest.raises(StoreError) as caught:
            store.write(ADMIN, lambda tx: tx.execute("INSERT INTO schema_version VALUES (1, 'x', now())"))
        assert (
            caught.value.message
            == "write failed, nothing was saved: the PostgreSQL server refused the request"
        )
        assert caught.value.hint and "duplicate" not in str(caught.value).lower()
        assert "duplicate key" in caplog.text  # the server's reason is logged, for whoever runs it
    missing = pg_cluster.with_database(pg_database, "no_such_database")
    with pytest.raises(StoreError) as caught:
        Store(missing)
    assert "does not exist on the server" in caught.value.message and "createdb" in caught.value.hint
    assert '"no_such_database"' not in caught.value.message  # the driver's sentence is not shown


def test_the_extension_is_never_loaded_from_a_folder_others_can_write(tmp_path, monkeypatch):
    monkeypatch.setattr(postgres.tempfile, "gettempdir", lambda: str(tmp_path))
    shared = tmp_path / f"saved-loops-duckdb-extensions-{os.getuid()}"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(StoreError, match="not this user's own folder"):
        postgres.extension_directory()
    shared.rmdir()
    found = postgres.extension_directory()  # created again, this user's only
    assert (found.stat().st_mode & 0o777) == 0o700 and any(found.rglob("postgres_scanner.duckdb_extension"))


LOST_WRITER = """
import json, sys, threading, time
from aiops.auth import Actor
from aiops.errors import StoreError
from aiops.store import Store
from tests import pg_cluster

url = sys.argv[1]
COPYING = (  # this test's database only: other workers' writes go on
    "datname = current_database() AND state = 'active'"
    " AND query LIKE 'COPY \\"public\\".\\"audit_log\\"%FROM STDIN%'"
)

def terminate_the_copy():  # the moment the connection is lost: while rows stream to the server
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        sql = f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {COPYING}"
        ended = pg_cluster.psql(url, sql)
        if "t" in ended.split():
            return
        time.sleep(0.01)

def many_rows(tx):
    tx.execute(
        "INSERT INTO audit_log (recorded_at, actor, action, entity, entity_id, detail)"
        " SELECT now(), 'k', 'lost.write', 'thing', range::VARCHAR, '{}' FROM range(3000000)"
    )

with Store(url) as store:
    killer = threading.Thread(target=terminate_the_copy)
    killer.start()
    try:
        store.write(Actor(name="k", role="admin"), many_rows)
        failure = None
    except StoreError as e:
        failure = e.message
    killer.join()
    store.write(Actor(name="k", role="admin"), lambda tx: tx.audit("after.loss", "thing", "t"))
    counts = dict(store.query("SELECT action, count(*) FROM audit_log GROUP BY action"))
print(json.dumps({"failure": failure, "counts": counts}))
"""


def test_a_connection_lost_mid_write_is_an_error_and_the_next_write_reconnects(pg_database):
    """The backend is terminated while the write's rows stream to the server (the extension raises
    an internal error there): the process must not abort (SIGABRT on the ROLLBACK) and the same
    store writes again."""
    writer = _run_python(LOST_WRITER, pg_database)
    out, err = writer.communicate(timeout=180)
    assert writer.returncode == 0, err[-2000:]
    result = json.loads(out)
    assert result["failure"] == "the database connection was lost; nothing was saved"
    assert result["counts"] == {"after.loss": 1}


def test_reads_and_a_new_store_never_wait_for_a_write_in_progress(pg_database, tmp_path: Path):
    """A write holding the lock (here: for two minutes) does not stop another process from opening
    the store and reading: the schema check takes no lock when there is nothing to migrate."""
    with Store(pg_database) as store:
        store.write(ADMIN, lambda tx: tx.audit("before", "thing", "t"))
    flag = tmp_path / "flag"
    writer = _run_python(HANGING_WRITER, pg_database, str(flag))
    try:
        deadline = time.monotonic() + 60
        while not flag.exists():
            assert writer.poll() is None, writer.stderr.read()
            assert time.monotonic() < deadline, "the writer never reached its transaction"
            time.sleep(0.05)
        with Store(pg_database) as beside:  # opened while the write runs
            assert beside.query("SELECT action FROM audit_log") == [("before",)]
            assert beside.query("SELECT count(*) FROM timing_samples") == [(0,)]  # not committed yet
    finally:
        writer.kill()
        writer.wait(timeout=30)


def test_an_upper_case_scheme_is_postgres_and_never_a_local_file(pg_database, tmp_path, monkeypatch):
    """`POSTGRESQL://user:pw@...` once made a DuckDB file whose path held the password."""
    monkeypatch.chdir(tmp_path)
    shouted = "POSTGRESQL://" + pg_database.removeprefix("postgresql://").replace("@", ":s3cret-pw@", 1)
    with Store(shouted) as store:
        assert store.postgres and "s3cret-pw" not in store.path and store.path.startswith("postgresql://")
        store.write(ADMIN, lambda tx: tx.audit("shouted", "thing", "t"))
    with Store(pg_database) as store:
        assert store.query("SELECT action FROM audit_log") == [("shouted",)]
    assert list(tmp_path.iterdir()) == []
    assert redact("Postgres://u:pw@h/db") == "Postgres://u:***@h/db"
