"""Migration 005: workflow ids and departments that differ only in case or spacing (written before
the identity rule) are merged where nothing is lost, audited; otherwise refused, database unchanged."""

from __future__ import annotations

import duckdb
import pytest

from aiops.errors import StoreError
from aiops.store import Store, latest_schema_version
from aiops.store.store import _statements, migrations
from tests.conftest import cli_text

CREATE_WORKFLOW = (
    "INSERT INTO workflows (workflow_id, name, department, created_at, updated_at, comparison_workflow_id) "
    "VALUES (?, ?, ?, TIMESTAMP '2026-01-01' + to_days(?), TIMESTAMP '2026-01-01', ?)"
)
BATCH = (
    "INSERT INTO upload_batches (batch_id, uploaded_at, actor, file_name, file_sha256, workflow_ids, "
    "mapping, rows_total, accepted, rejected, undone_at) "
    "VALUES (?, now(), 'lead', 'f.csv', ?, ?, '{}', 1, 1, 0, ?)"
)
SAMPLE = (  # columns named: later migrations add more (009: the source of a pulled record)
    "INSERT INTO timing_samples (batch_id, workflow_id, phase, measured_at, duration_minutes, loops,"
    " rework_minutes, time_kind) VALUES (?, ?, 'before', now(), 12, 1, 0, 'hands_on')"
)


def _before_005(path) -> duckdb.DuckDBPyConnection:
    """A database as the last release left it: every migration but 005 applied."""
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL)"
    )
    for number, name, sql in migrations():
        if number != 5:
            for statement in _statements(sql):
                con.execute(statement)
            con.execute("INSERT INTO schema_version VALUES (?, ?, now())", [number, name])
    return con


def _workflow(con, workflow_id, department, day, comparison=None):
    con.execute(CREATE_WORKFLOW, [workflow_id, f"name of {workflow_id}", department, day, comparison])


def _batch(con, batch_id, workflow_ids, samples=1, undone=False):
    con.execute(BATCH, [batch_id, f"sha{batch_id}", workflow_ids, "2026-02-01" if undone else None])
    for _ in range(samples):
        con.execute(SAMPLE, [batch_id, workflow_ids[0]])


def _snapshot(path):
    with duckdb.connect(str(path)) as con:
        return {
            table: con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
            for table in ("workflows", "timing_samples", "upload_batches", "audit_log", "schema_version")
        }


def test_twins_holding_nothing_merge_into_the_twin_with_data_audited(tmp_path):
    path = tmp_path / "twins.duckdb"
    con = _before_005(path)
    _workflow(con, "eng-pr-review", "Support", 0)  # first written, but holds nothing
    _workflow(con, "ENG-PR-REVIEW", "SUPPORT", 1)  # holds the samples: it is kept
    _workflow(con, "triage", " support ", 2, comparison="eng-pr-review")
    _workflow(con, "Triage-Old", "Ops", 3)
    _workflow(con, "triage-old", "ops", 4)  # neither holds data: the first written is kept
    con.execute(
        "INSERT INTO classifications VALUES ('eng-pr-review', 'p', 'low', 'pilot', [], 'none', '{}', now())"
    )
    _batch(con, 1, ["ENG-PR-REVIEW"], samples=3)
    _batch(con, 2, ["eng-pr-review", "triage"], samples=0, undone=True)
    con.close()

    with Store(path) as store:
        assert store.schema_version() == latest_schema_version()
        assert store.query(
            "SELECT workflow_id, department, comparison_workflow_id FROM workflows ORDER BY 1"
        ) == [
            ("ENG-PR-REVIEW", "Support", None),
            ("Triage-Old", "Ops", None),
            ("triage", "Support", "ENG-PR-REVIEW"),
        ]
        assert store.query("SELECT count(*) FROM timing_samples WHERE workflow_id = 'ENG-PR-REVIEW'") == [
            (3,)
        ]
        assert store.query("SELECT workflow_ids FROM upload_batches WHERE batch_id = 2") == [
            (["ENG-PR-REVIEW", "triage"],)
        ]
        assert store.query("SELECT count(*) FROM classifications WHERE workflow_id = 'eng-pr-review'") == [
            (0,)
        ]
        audit = store.query(
            "SELECT actor, action, entity_id, detail->>'merged', detail->'removed'->>'name' "
            "FROM audit_log ORDER BY 2, 3"
        )
        assert audit == [
            ("migration 005", "department.merged", "Ops", '["ops"]', None),
            ("migration 005", "department.merged", "Support", '["SUPPORT"," support "]', None),
            ("migration 005", "workflow.merged", "ENG-PR-REVIEW", "eng-pr-review", "name of eng-pr-review"),
            ("migration 005", "workflow.merged", "Triage-Old", "triage-old", "name of triage-old"),
        ]
        repointed = "SELECT detail->'comparisons_repointed' FROM audit_log WHERE entity_id = 'ENG-PR-REVIEW'"
        assert store.query(repointed) == [('["triage"]',)]
        # The rule is now structural: a twin written past the write path is refused by the index.
        with pytest.raises(duckdb.ConstraintException):
            store.new_cursor().execute(CREATE_WORKFLOW, [" eng-PR-review", "x", "Support", 9, None])


def test_twins_that_both_hold_samples_refuse_with_a_list_and_change_nothing(tmp_path, capsys):
    path = tmp_path / "both.duckdb"
    con = _before_005(path)
    _workflow(con, "ENG-PR-REVIEW-PREP", "Support", 0)
    _workflow(con, "eng-pr-review-prep", "Engineering", 1)
    _workflow(con, "support", "support", 2)
    _workflow(con, "x", "Support", 3)  # a department twin alone would merge; it must not either
    _batch(con, 7, ["ENG-PR-REVIEW-PREP"], samples=2)
    _batch(con, 8, ["eng-pr-review-prep"], samples=2)
    con.close()
    before = _snapshot(path)

    with pytest.raises(StoreError) as refused:
        Store(path)
    message = str(refused.value)
    assert "nothing was changed" in message
    assert "'ENG-PR-REVIEW-PREP' (2 timing samples; upload batch 7)" in message
    assert "'eng-pr-review-prep' (2 timing samples; upload batch 8)" in message
    assert "aiops timings undo" in refused.value.hint
    assert _snapshot(path) == before

    code, _, err = cli_text(capsys, "workflows", "list", "--db", str(path))
    assert code != 0
    assert err.startswith("aiops: error: migration 005 stopped") and "Traceback" not in err
    assert "Error:" not in err  # no DuckDB text
    assert _snapshot(path) == before

    # What the hint says to do: undo one twin's batch; the empty twin then merges.
    with duckdb.connect(str(path)) as con:
        con.execute("DELETE FROM timing_samples WHERE batch_id = 8")
        con.execute("UPDATE upload_batches SET undone_at = now() WHERE batch_id = 8")
    with Store(path) as store:
        assert store.query("SELECT workflow_id FROM workflows WHERE lower(workflow_id) LIKE 'eng%'") == [
            ("ENG-PR-REVIEW-PREP",)
        ]
        assert store.query("SELECT DISTINCT department FROM workflows ORDER BY 1") == [("Support",)]
