"""Reliability: backup and restore, concurrent uploads, and hostile or broken input."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiops.auth import Actor
from aiops.backup import backup, restore, table_counts
from aiops.errors import AiopsError, StoreError
from aiops.ingest.timings import TimingMapping, import_timings
from aiops.ingest.workflows import import_workflows
from aiops.inventory import save_workflows
from aiops.store import Store
from aiops.workflow import Workflow

ADMIN = Actor(name="admin@test", role="admin")


def all_rows(store: Store) -> dict[str, list[tuple]]:
    return {table: store.query(f'SELECT * FROM "{table}" ORDER BY ALL') for table in table_counts(store)}


# -- backup and restore -------------------------------------------------------------------------


def test_backup_then_restore_reproduces_every_table_exactly(demo_path, tmp_path):
    with Store(demo_path) as store:
        manifest = backup(store, ADMIN, tmp_path / "backup")
        before = all_rows(store)
    restored = tmp_path / "restored.duckdb"
    restore(tmp_path / "backup", restored, ADMIN)
    with Store(restored) as store:
        after = all_rows(store)
    assert set(after) == set(before) and len(before) >= 8
    for table, rows in before.items():
        if table == "audit_log":  # restore appends exactly one row: its own audit entry
            assert after[table][:-1] == rows
            assert after[table][-1][3] == "database.restored"
        else:
            assert after[table] == rows, table
    assert manifest["tables"]["timing_samples"] == len(before["timing_samples"])


def test_restore_refuses_a_damaged_backup(demo_path, tmp_path):
    with Store(demo_path) as store:
        backup(store, ADMIN, tmp_path / "backup")
    with (tmp_path / "backup" / "aiops.duckdb").open("ab") as f:
        f.write(b"tampered")
    with pytest.raises(AiopsError, match="damaged"):
        restore(tmp_path / "backup", tmp_path / "target.duckdb", ADMIN)
    assert not (tmp_path / "target.duckdb").exists()


def test_restore_refuses_a_database_another_process_holds(demo_path, tmp_path):
    with Store(demo_path) as store:
        backup(store, ADMIN, tmp_path / "backup")
    target = tmp_path / "held.duckdb"
    Store(target).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(target)!r}); "
            "print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreError, match="in use by another process"):
            restore(tmp_path / "backup", target, ADMIN)
    finally:
        holder.kill()
        holder.wait()


def test_backup_needs_an_admin(demo):
    with pytest.raises(AiopsError):
        backup(demo, Actor(name="v", role="viewer"), "/tmp/never")


# -- concurrency ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_eight_threads_upload_through_the_write_path_at_once(tmp_path):
    with Store(tmp_path / "concurrent.duckdb") as store:
        workflows = [
            Workflow(workflow_id=f"wf-{i}", name=f"W{i}", department="Ops", owner="o") for i in range(8)
        ]
        store.write(ADMIN, lambda tx: save_workflows(tx, workflows, "test"))
        files = []
        for i in range(8):
            path = tmp_path / f"upload_{i}.csv"
            rows = "\n".join(
                f"wf-{i},{'before' if r % 2 else 'after'},2026-11-0{1 + r % 9} 10:00:00,{r + 1}"
                for r in range(500)
            )
            path.write_text("workflow_id,phase,measured_at,duration_minutes\n" + rows + "\n")
            files.append(path)
        results, errors = [], []

        def upload(path: Path) -> None:
            try:
                results.append(import_timings(store, ADMIN, path).batch_id)
            except Exception as e:  # noqa: BLE001 - the test reports any failure below
                errors.append(e)

        threads = [threading.Thread(target=upload, args=(f,)) for f in files]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(set(results)) == 8
        assert store.query("SELECT count(*), count(DISTINCT batch_id) FROM timing_samples") == [(4000, 8)]
        per_batch = store.query(
            "SELECT batch_id, count(*), count(DISTINCT workflow_id) FROM timing_samples GROUP BY 1 ORDER BY 1"
        )
        assert all(count == 500 and ids == 1 for _, count, ids in per_batch)


# -- hostile and broken input ---------------------------------------------------------------------


@pytest.fixture
def memory_store():
    with Store(":memory:", max_upload_bytes=1_000_000) as store:
        store.write(
            ADMIN,
            lambda tx: save_workflows(
                tx, [Workflow(workflow_id="wf-1", name="W", department="Ops", owner="o")], "test"
            ),
        )
        yield store


def unchanged(store: Store) -> tuple:
    return store.query_one(
        "SELECT (SELECT count(*) FROM timing_samples), (SELECT count(*) FROM "
        "upload_batches), (SELECT count(*) FROM workflows)"
    )


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "the file is empty"),
        (bytes(range(256)) * 50, "binary file"),
        (b"workflow_id,phase,measured_at,duration_minutes\n", "header but no records"),
        (b"x" * 1_100_000, "above the upload limit"),
    ],
)
def test_hostile_timing_files_give_a_clear_message_and_write_nothing(
    memory_store, tmp_path, content, message
):
    path = tmp_path / "hostile.csv"
    path.write_bytes(content)
    before = unchanged(memory_store)
    with pytest.raises(AiopsError, match=message):
        import_timings(memory_store, ADMIN, path)
    assert unchanged(memory_store) == before


@pytest.mark.slow
def test_ten_thousand_columns_give_a_mapping_error_quickly(memory_store, tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(10_000)) + "\n" + ",".join("1" * 10_000) + "\n")
    with pytest.raises(AiopsError, match="no column for 'name'"):
        import_workflows(memory_store, ADMIN, path)
    with pytest.raises(AiopsError, match="not in the canonical timings format"):
        import_timings(memory_store, ADMIN, path)


def test_a_very_long_line_is_one_rejected_record_not_a_crash(memory_store, tmp_path):
    path = tmp_path / "long_line.csv"
    with path.open("w") as f:
        f.write("workflow_id,phase,measured_at,duration_minutes\n")
        f.write("wf-1,before,2026-11-02 10:00:00," + "9" * 900_000 + "x\n")
        f.write("wf-1,after,2026-11-03 10:00:00,5\n")
    report = import_timings(memory_store, ADMIN, path, dry_run=True)
    assert (report.rows, report.accepted, report.rejected) == (2, 1, 1)
    assert report.rejects.line.tolist() == [2]


def test_a_file_in_a_wrong_encoding_is_read_not_garbled(memory_store, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("name,department\nCafé résumé\x81 tool,Ops\n".encode("latin-1"))
    report = import_workflows(memory_store, ADMIN, path, dry_run=True)
    assert report.encoding == "latin-1" and report.workflows[0].name.startswith("Café résumé")


# -- fuzzing: any bytes and any mapping, never a crash, always the accounting --------------------

CELLS = st.sampled_from(
    [
        "wf-1",
        "WF-1",
        "before",
        "after",
        "baseline",
        "2026-11-02 10:00:00",
        "2026-11-02T10:00:00Z",
        "18/Mar/24 10:15 AM",
        "03/04/2024",
        "1:30:00",
        "12",
        "-5",
        "1e9",
        "NA",
        "",
        "x",
        '"quoted, with comma"',
        '"line\nbreak"',
        "é",
        ";",
        "\t",
        "0",
        "2.5",
        "1,5",
    ]
)
HEADERS = [
    "workflow_id",
    "phase",
    "measured_at",
    "duration_minutes",
    "loops",
    "rework_minutes",
    "start",
    "end",
    "case",
    "at",
]


@st.composite
def csv_files(draw) -> bytes:
    header = draw(st.lists(st.sampled_from(HEADERS), min_size=1, max_size=7, unique=True))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=len(header) + 2), max_size=12))
    text = "\n".join(delimiter.join(r) for r in [header, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "cp1252"]))
    data = text.encode(encoding, errors="replace")
    return data + draw(st.sampled_from([b"", b"\n", b"\x00\x01garbage", b"\r\n"]))


MAPPINGS = st.one_of(
    st.none(),
    st.builds(
        lambda u, g: TimingMapping(
            workflow="wf-1",
            duration_column="duration_minutes",
            unit=u,
            measured_at_column="measured_at",
            go_live=g,
        ),
        st.sampled_from(["minutes", "seconds", "hms"]),
        st.dates(),
    ),
    st.builds(
        lambda g, tz: TimingMapping(
            workflow="wf-1", start_column="start", end_column="end", go_live=g, timezone=tz
        ),
        st.dates(),
        st.sampled_from(["UTC", "America/New_York"]),
    ),
    st.builds(
        lambda o: TimingMapping(
            workflow_column="workflow_id",
            case_column="case",
            timestamp_column="at",
            phase_column="phase",
            date_order=o,
        ),
        st.sampled_from([None, "dmy", "mdy"]),
    ),
)


@pytest.fixture(scope="module")
def fuzz_store():
    """One store for all fuzzed examples (hypothesis runs them inside one test call)."""
    with Store(":memory:") as store:
        store.write(
            ADMIN,
            lambda tx: save_workflows(
                tx, [Workflow(workflow_id="wf-1", name="W", department="Ops", owner="o")], "fuzz"
            ),
        )
        yield store


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.slow
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=csv_files(), mapping=MAPPINGS)
def test_fuzzed_uploads_never_crash_and_always_account_for_every_record(
    fuzz_store, fuzz_dir, content, mapping
):
    path = fuzz_dir / "fuzz.csv"
    path.write_bytes(content)
    try:
        report = import_timings(fuzz_store, ADMIN, path, mapping, dry_run=True)
    except AiopsError:
        report = None  # a clear, expected refusal (bad mapping, unreadable file...)
    assert unchanged(fuzz_store) == (0, 0, 1), "a dry run wrote to the store"
    if report is None:
        return
    assert report.accepted + report.rejected == report.rows
    assert report.accepted >= 0 and report.loops_found <= max(report.accepted, 0)
    assert set(report.rejects.columns) >= {"line", "column", "reason"}
    assert report.rejects.line.is_monotonic_increasing


def test_a_workflow_import_with_no_rows_commits_nothing(memory_store, tmp_path):
    path = tmp_path / "header_only.csv"
    path.write_text("name,department\n")
    before = unchanged(memory_store)
    report = import_workflows(memory_store, ADMIN, path)
    assert (report.rows, report.accepted, report.committed) == (0, 0, False)
    assert unchanged(memory_store) == before
