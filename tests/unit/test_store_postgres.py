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
from aiops.errors import StoreError
from aiops.store import Store, latest_schema_version
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
import sys
from aiops.auth import Actor
from aiops.store import Store

def step(tx):
    # read-modify-write: without the lock before the snapshot, two writers see the same count
    seen = tx.query_one("SELECT count(*) FROM audit_log WHERE action = 'counter'")[0]
    tx.audit("counter", "counter", sys.argv[2], {"seen": seen})

with Store(sys.argv[1]) as store:
    for _ in range(int(sys.argv[3])):
        store.write(Actor(name="w" + sys.argv[2], role="admin"), step)
"""


def test_writers_in_two_processes_are_serialised_and_see_each_others_commits(pg_database):
    Store(pg_database).close()  # migrate once before the race
    writers = [_run_python(WRITER, pg_database, str(n), "25") for n in range(2)]
    for w in writers:
        _, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
    with Store(pg_database) as store:
        seen = [
            json.loads(d)["seen"]
            for (d,) in store.query("SELECT detail FROM audit_log WHERE action = 'counter'")
        ]
        writers_seen = store.query("SELECT count(DISTINCT entity_id) FROM audit_log WHERE action = 'counter'")
    # every write saw every write committed before it: the counts are 0..49, each once
    assert sorted(seen) == list(range(50))
    assert writers_seen == [(2,)]


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
    Store(pg_database).close()
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
        started = time.monotonic()
        store.write(ADMIN, lambda tx: tx.audit("after.kill", "thing", "t"))  # the lock was released
        assert time.monotonic() - started < 10
        assert store.query("SELECT count(*) FROM audit_log") == [(1,)]


OPENER = """
import sys
from aiops.store import Store
Store(sys.argv[1]).close()
"""


def test_processes_opening_a_new_database_at_once_migrate_it_once(pg_server):
    url = pg_cluster.create_database(pg_server)  # empty: no schema yet
    try:
        openers = [_run_python(OPENER, url) for _ in range(3)]
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
