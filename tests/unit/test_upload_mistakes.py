"""The mistakes department leads really make (issue 12), each reproduced: the wrong file, one column
in two roles, a workflow column without workflow ids, 0-minute loops, a go-live outside the data, a
duplicate, most of a file rejected; and no database error text ever reaching the user."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aiops.auth import Actor
from aiops.cli import main
from aiops.errors import IngestError, MappingError, StoreError
from aiops.ingest.profile import profile_columns, timestamp_guesses
from aiops.ingest.recognise import recognise_file
from aiops.ingest.sniff import open_source
from aiops.ingest.tempfiles import discard, ingest_workdir, keep_bytes, sweep, upload_root
from aiops.ingest.timings import TimingMapping, import_timings, open_timing_import
from tests.conftest import DATA, realdata

WF = "eng-pr-review-prep"
ADMIN = Actor(name="admin@test", role="admin")
JIRA = "jira_apache_avro-issues.csv"
# What DuckDB's errors look like; none may reach a user.
DUCKDB_ERROR = re.compile(r"(Binder|Conversion|Parser|Catalog|Invalid Input|Internal) Error|\bError:")


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def test_workflows_sheet_on_the_timings_import_is_pointed_to_the_workflows_import(capsys, demo_path):
    code, out = run_cli(
        capsys, "timings", "import", str(DATA / "workflows_valid.csv"), "--db", str(demo_path), "--dry-run"
    )
    assert code == 2
    assert "is a workflows sheet" in out and "aiops workflows import" in out
    assert len(out.strip().splitlines()) == 1


def test_one_column_in_two_roles_is_a_one_line_mapping_error_naming_it(capsys, demo_path):
    jira = str(realdata("timings", JIRA))
    common = ("--go-live", "2016-01-01", "--db", str(demo_path), "--dry-run")
    code, out = run_cli(
        capsys, "timings", "import", jira, "--workflow-column", "created", "--start-column", "created",
        "--end-column", "resolutiondate", *common,
    )  # fmt: skip
    assert code == 2
    assert "column 'created' is mapped as both workflow and start" in out
    assert not DUCKDB_ERROR.search(out), out
    code, out = run_cli(
        capsys, "timings", "import", jira, "--workflow", WF, "--start-column", "created",
        "--end-column", "Created", *common,
    )  # fmt: skip
    assert code == 2
    assert "start and end are the same column 'created'" in out
    assert len(out.strip().splitlines()) == 1


def test_a_workflow_column_holding_no_workflow_id_names_the_column_and_its_values(capsys, demo_path):
    code, out = run_cli(
        capsys, "timings", "import", str(realdata("timings", JIRA)), "--workflow-column", "key",
        "--start-column", "created", "--end-column", "resolutiondate", "--go-live", "2016-01-01",
        "--db", str(demo_path), "--dry-run",
    )  # fmt: skip
    assert code == 2
    assert "the workflow column 'key' holds no known workflow id" in out
    assert "'AVRO-1'" in out


BAD_MAPPINGS = [
    # role conflicts, wrong kinds of column, units that do not fit
    ["--workflow-column", "created", "--start-column", "created", "--end-column", "resolutiondate"],
    ["--workflow-column", "status", "--start-column", "created", "--end-column", "resolutiondate"],
    ["--workflow", WF, "--start-column", "status", "--end-column", "priority"],
    ["--workflow", WF, "--start-column", "created", "--end-column", "key"],
    ["--workflow", WF, "--duration-column", "created", "--measured-at-column", "created"],
    ["--workflow", WF, "--duration-column", "key", "--unit", "hms", "--measured-at-column", "created"],
    ["--workflow", WF, "--duration-column", "vote_count", "--measured-at-column", "status"],
    ["--workflow", WF, "--case-column", "created", "--timestamp-column", "created"],
    ["--workflow", WF, "--case-column", "key", "--timestamp-column", "summary_length"],
    ["--workflow", WF, "--start-column", "created", "--end-column", "resolutiondate",
     "--loops-column", "created"],
    ["--workflow", WF, "--start-column", "created", "--end-column", "resolutiondate",
     "--rework-column", "status"],
    ["--workflow", WF, "--start-column", "created", "--end-column", "resolutiondate",
     "--timezone", "Mars/Olympus"],
    ["--workflow", WF, "--start-column", "no such column", "--end-column", "resolutiondate"],
]  # fmt: skip


@pytest.mark.parametrize("mapping", BAD_MAPPINGS, ids=lambda m: " ".join(m[2:6]))
def test_no_database_error_text_reaches_the_cli_for_a_bad_mapping(capsys, demo_path, mapping):
    phase = [] if "--phase-column" in mapping else ["--go-live", "2016-01-01"]
    code, out = run_cli(
        capsys, "timings", "import", str(realdata("timings", JIRA)), *mapping, *phase,
        "--db", str(demo_path), "--dry-run",
    )  # fmt: skip
    assert not DUCKDB_ERROR.search(out), out
    assert "Traceback" not in out


def test_zero_length_loops_are_a_warning_with_their_count(demo, tmp_path):
    rows = ["id,opened,closed"] + [
        f"{i},2024-0{1 + i % 6}-10T09:00:00Z,2024-0{1 + i % 6}-10T{'09' if i < 3 else '10'}:00:00Z"
        for i in range(12)
    ]
    path = write(tmp_path, "loops.csv", "\n".join(rows) + "\n")
    mapping = TimingMapping(workflow=WF, start_column="opened", end_column="closed", go_live="2024-04-01")
    report = import_timings(demo, ADMIN, path, mapping, dry_run=True)
    assert report.zero_length == 3
    assert any(w.startswith("3 loops last 0 minutes") for w in report.warnings)
    assert report.to_json()["zero_length_loops"] == 3


def test_go_live_after_the_data_blocks_confirm_and_names_the_files_range(demo, tmp_path):
    path = write(tmp_path, "t.csv", "opened,closed\n2024-01-02T09:00:00Z,2024-01-02T10:00:00Z\n"
                 "2024-03-05T09:00:00Z,2024-03-05T09:30:00Z\n")  # fmt: skip
    mapping = TimingMapping(workflow=WF, start_column="opened", end_column="closed", go_live="2025-01-01")
    batches = demo.query_one("SELECT count(*) FROM upload_batches")
    with open_timing_import(demo, path, mapping) as upload:
        assert upload.report.problems == [
            "go-live 2025-01-01 is after every loop in the file: the file's loops run from 2024-01-02 "
            "to 2024-03-05; no loop is after go-live. Check the date, or say the file is one phase only "
            "(--phase before)"
        ]
        with pytest.raises(IngestError, match="after every loop in the file"):
            upload.commit(ADMIN)
    assert demo.query_one("SELECT count(*) FROM upload_batches") == batches


def test_go_live_accepts_a_date_time_with_or_without_offset(capsys, demo_path, tmp_path):
    # A loop the day before keeps every go-live inside the data (a go-live before every loop is refused).
    path = write(tmp_path, "t.csv", "opened,closed\n2024-04-15T08:00:00Z,2024-04-15T08:30:00Z\n"
                 "2024-04-16T08:00:00Z,2024-04-16T08:30:00Z\n"
                 "2024-04-16T10:00:00Z,2024-04-16T10:20:00Z\n")  # fmt: skip
    for go_live, after in (("2024-04-16T09:00:00", 1), ("2024-04-16T11:00+02:00", 1), ("2024-04-16", 2)):
        code, out = run_cli(
            capsys, "timings", "import", str(path), "--workflow", WF, "--start-column", "opened",
            "--end-column", "closed", "--go-live", go_live, "--db", str(demo_path), "--dry-run", "--json",
        )  # fmt: skip
        assert code == 0, out
        summary = json.loads(out)
        assert summary["rows"] == 3
        phases = import_phases(demo_path, path, go_live)
        assert phases.count("after") == after, (go_live, phases)


def import_phases(db: Path, path: Path, go_live: str) -> list[str]:
    from aiops.store import Store

    with (
        Store(db) as store,
        open_timing_import(
            store,
            path,
            TimingMapping(workflow=WF, start_column="opened", end_column="closed", go_live=go_live),
        ) as upload,
    ):
        return list(upload.staged.cursor.execute(f"SELECT phase FROM {upload.accepted_table}").df().phase)


def test_a_duplicate_file_is_a_problem_in_the_preview_not_only_at_confirm(demo, tmp_path):
    path = write(tmp_path, "t.csv", "opened,closed\n2024-01-02T09:00:00Z,2024-01-02T10:00:00Z\n"
                 "2024-06-05T09:00:00Z,2024-06-05T09:30:00Z\n")  # fmt: skip
    mapping = TimingMapping(workflow=WF, start_column="opened", end_column="closed", go_live="2024-04-01")
    first = import_timings(demo, ADMIN, path, mapping)
    with open_timing_import(demo, path, mapping) as upload:
        assert upload.report.duplicate_of == first.batch_id
        assert upload.report.problems[0].startswith(f"this file was already uploaded for {WF}")


def test_a_large_rejected_share_is_a_warning_and_rejects_carry_value_and_row_id(demo, tmp_path):
    month = [f"2024-0{1 + i % 6}" for i in range(10)]
    rows = ["ticket_id,opened,closed"] + [
        f"T-{i},{month[i]}-10T09:00:00Z,{'soon' if i % 2 else month[i] + '-11T09:00:00Z'}" for i in range(10)
    ]
    path = write(tmp_path, "t.csv", "\n".join(rows) + "\n")
    mapping = TimingMapping(workflow=WF, start_column="opened", end_column="closed", go_live="2024-03-01")
    report = import_timings(demo, ADMIN, path, mapping, dry_run=True)
    assert report.rejected == 5
    assert any("5 of 10 records (50%, above 20%)" in w for w in report.warnings)
    assert report.id_column == "ticket_id"
    first = report.to_json()["rejects"][0]
    assert first == {"line": 3, "column": "closed", "reason": "unparseable timestamp", "value": "soon",
                     "id": "T-1", "record": "T-1,2024-02-10T09:00:00Z,soon"}  # fmt: skip


def test_guesses_put_timestamp_columns_not_ids_in_start_and_end(demo, tmp_path):
    path = write(
        tmp_path,
        "deals.csv",
        "opportunity_id,start,stage,created_date,first_response_at,close_date,amount\n"
        + "".join(
            f"OPP-{i},S{i},won,2024-01-0{1 + i}T09:00:00Z,2024-01-0{1 + i}T10:00:00Z,2024-02-0{1 + i},{i}00\n"
            for i in range(5)
        ),
    )
    with open_source(path) as source:
        cursor = demo.new_cursor()
        profiles = profile_columns(cursor, source)
        cursor.close()
        assert profiles["opportunity_id"].kind == "text"
        assert profiles["created_date"].kind == "timestamp"
        assert profiles["amount"].kind == "number"
        assert profiles["created_date"].samples == (
            "2024-01-01T09:00:00Z",
            "2024-01-02T09:00:00Z",
            "2024-01-03T09:00:00Z",
        )
        guesses = timestamp_guesses({"start_column": "start"}, profiles)
        assert guesses["start_column"] == "created_date"
        assert guesses["end_column"] == "close_date"
        recognition = recognise_file(demo, source)
        assert recognition.prefill.get("start_column") == "created_date"


def test_recognition_refuses_a_workflows_sheet(demo):
    with open_source(DATA / "workflows_valid.csv") as source, pytest.raises(MappingError, match="sheet"):
        recognise_file(demo, source)


def test_uploads_wait_in_a_private_directory_and_are_deleted(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    path = keep_bytes(b"a,b\n1,2\n", "../../etc/x.csv")
    assert path.parent.parent == upload_root() and path.name == "x.csv"
    assert stat.S_IMODE(upload_root().stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    discard(path)
    assert not path.parent.exists()
    old, fresh = keep_bytes(b"x", "old.csv"), keep_bytes(b"y", "new.csv")
    legacy = tmp_path / "aiops-workflows-0123456789abcdef.csv"
    legacy.write_text("x")
    past = time.time() - 3 * 24 * 3600
    for p in (old.parent, legacy):
        os.utime(p, (past, past))
    assert sweep() == 2
    assert not old.exists() and not legacy.exists() and fresh.exists()


KILLED_IMPORT = """
import os, signal, sys
from aiops.ingest.sniff import open_source
with open_source(sys.argv[1]):  # a cp1252 file: a UTF-8 working copy is made
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_imports_private_copies_are_swept_at_startup(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_IMPORT, str(DATA / "workflows_cp1252_semicolon.csv")],
        env={**os.environ, "TMPDIR": str(tmp_path)},
        capture_output=True,
    )
    assert killed.returncode == -signal.SIGKILL
    left = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert left and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in left)  # the upload's bytes
    with ingest_workdir() as running:  # an import still under way (this process) is left alone
        assert sweep() == 1
        assert running.exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


# -- identity: workflow ids and departments ignore case and spacing ------------------------------


def _workflow(workflow_id: str, department: str):
    from aiops.workflow import Workflow

    return Workflow(workflow_id=workflow_id, name="Reply drafts", department=department)


def test_a_department_written_in_another_case_is_the_stored_department(demo):
    from aiops.inventory import save_workflow
    from aiops.workflow_reads import known_department

    result = save_workflow(demo, ADMIN, _workflow("sup-new-drafts", "  SUPPORT "))
    assert result.created == ["sup-new-drafts"]
    assert demo.query_one("SELECT department FROM workflows WHERE workflow_id = 'sup-new-drafts'") == (
        "Support",
    )
    assert demo.query_one(
        "SELECT count(DISTINCT department) FROM workflows WHERE lower(department) = 'support'"
    ) == (1,)
    assert known_department(demo, "support") == "Support"


def test_an_id_in_another_case_is_the_same_workflow_and_another_lead_may_not_take_it(demo):
    from aiops.errors import PermissionDenied
    from aiops.inventory import save_workflow

    support_lead = Actor(name="lead@test", role="lead", departments=("Support",))
    with pytest.raises(PermissionDenied):
        save_workflow(demo, support_lead, _workflow("ENG-PR-REVIEW-PREP", "Support"))
    assert demo.query_one("SELECT count(*) FROM workflows WHERE lower(workflow_id) = ?", [WF]) == (1,)
    result = save_workflow(demo, ADMIN, _workflow(" ENG-PR-REVIEW-PREP", "engineering"))
    assert result.updated == [WF]  # stored once, under the spelling first written
    assert demo.query_one("SELECT count(*) FROM workflows WHERE lower(workflow_id) = ?", [WF]) == (1,)


def test_case_twins_cannot_be_stored_and_an_upload_names_one_workflow(demo, tmp_path):
    # Migration 005's index: even a write past the inventory's identity check cannot store a twin.
    with pytest.raises(StoreError, match="nothing was saved"):
        demo.write(
            ADMIN,
            lambda tx: tx.execute(
                "INSERT INTO workflows SELECT * REPLACE (upper(workflow_id) AS workflow_id, "
                "created_at + INTERVAL 1 DAY AS created_at) FROM workflows WHERE workflow_id = ?",
                [WF],
            ),
        )
    path = write(tmp_path, "t.csv", "workflow,opened,closed\n"
                 f"{WF},2024-01-02T09:00:00Z,2024-01-02T10:00:00Z\n"
                 f"{WF.upper()},2024-06-05T09:00:00Z,2024-06-05T09:30:00Z\n")  # fmt: skip
    mapping = TimingMapping(
        workflow_column="workflow", start_column="opened", end_column="closed", go_live="2024-04-01"
    )
    report = import_timings(demo, ADMIN, path, mapping)
    assert report.accepted == 2 and report.workflow_ids == [WF]
    assert demo.query_one("SELECT count(*) FROM timing_samples WHERE batch_id = ?", [report.batch_id]) == (2,)


def test_a_header_that_spells_sql_or_a_placeholder_is_only_a_column_name(demo, tmp_path):
    """The one-pass read composes its SQL around the file's records: a header such as ``{rows}``,
    ``$workflow`` (the name of a parameter the read binds) or one with quotes and a semicolon is
    quoted as a name, never read as part of the statement."""
    names = ["{rows}", 'ph"ase; DROP TABLE workflows', "$path", "$workflow"]  # $workflow: a parameter
    header = '{rows},"ph""ase; DROP TABLE workflows",$path,$workflow\n'  # and not JSON: no {"
    text = header + f"{WF},before,2024-03-01 10:00,5\n{WF},after,2024-03-08 10:00,4\n"
    mapping = TimingMapping(workflow_column=names[0], phase_column=names[1], measured_at_column=names[2],
                            duration_column=names[3])  # fmt: skip
    report = import_timings(demo, ADMIN, write(tmp_path, "odd_headers.csv", text), mapping)
    assert (report.accepted, report.rejected) == (2, 0)
    stored = "SELECT phase, duration_minutes FROM timing_samples WHERE batch_id = ? ORDER BY measured_at"
    assert demo.query(stored, [report.batch_id]) == [
        ("before", 5.0),
        ("after", 4.0),
    ]


@pytest.mark.parametrize(
    ("text", "is_json"),
    [
        ('[{"number": 1, "createdAt": "2024-03-01T10:00:00Z"}]', True),
        ('\ufeff[\n  {"number": 1}\n]', True),
        ('{"number": 1}\n{"number": 2}\n', True),  # one object a line
        ("{rows},phase\nw,before\n", False),
        ("[id],name\n1,x\n", False),
        ("[name],x\n1,y\n", False),
    ],
)
def test_only_a_file_that_starts_as_json_does_is_read_as_json(tmp_path, text, is_json):
    """A CSV whose first header starts with a brace or a bracket is a CSV: JSON keys are strings, and
    an array's first value is not a bare word."""
    with open_source(write(tmp_path, "upload.txt", text)) as source:
        assert (source.json_origin is not None) == is_json


# -- an unclosed quote (issue 25) ----------------------------------------------------------------------
UNCLOSED = (
    "workflow_id,phase,measured_at,duration_minutes\n"
    f"{WF},before,2026-01-01,5\n"
    f'{WF},"before,2026-01-02,6\n' + "".join(f"{WF},before,2026-01-{day:02d},{day}\n" for day in range(3, 9))
)


def test_an_unclosed_quote_that_absorbs_lines_into_one_rejected_record_gets_a_note(
    capsys, demo_path, tmp_path
):
    upload = write(tmp_path, "unclosed.csv", UNCLOSED)
    code, out = run_cli(
        capsys, "timings", "import", str(upload), "--dry-run", "--json", "--db", str(demo_path)
    )
    report = json.loads(out)
    assert (code, report["rows"], report["rejected"]) == (0, 2, 1)
    assert [r["line"] for r in report["rejects"]] == [3]
    assert (
        'The rejected record on line 3 runs over 7 lines, to line 9: a quote (") opened on line 3 is never'
        " closed, so those lines were read as one record." in " ".join(report["notes"])
    )


def test_a_workflows_sheet_with_a_stray_quote_says_which_lines_it_absorbed(capsys, tmp_path):
    upload = write(
        tmp_path,
        "sheet.csv",
        "workflow_id,name,department\nok-1,Fine,Ops\n"
        'bad-1,"Stray quote,Ops\nok-2,Next,Ops\nok-3,Last,Ops\nok-4,"Closes",Ops\n',
    )
    code, out = run_cli(
        capsys, "workflows", "import", str(upload), "--json", "--db", str(tmp_path / "t.duckdb")
    )
    report = json.loads(out)
    assert code == 1
    assert any("runs over 4 lines, to line 6" in note for note in report["notes"])


def test_a_quoted_cell_over_two_lines_is_no_stray(capsys, tmp_path):
    upload = write(tmp_path, "sheet.csv", 'workflow_id,name,department\nbad id!,"Two\nlines",Ops\n')
    code, out = run_cli(
        capsys, "workflows", "import", str(upload), "--json", "--db", str(tmp_path / "t.duckdb")
    )
    assert code == 1 and not [n for n in json.loads(out)["notes"] if "runs over" in n]
