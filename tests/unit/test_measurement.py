"""What an upload measures: time kind, AI-assisted and segment columns, one-phase files, a go-live
outside the data (refused at preview), and a hands-on upload that looks like calendar time."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from aiops.errors import IngestError, MappingError
from aiops.ingest.timings import TimingMapping, import_timings, open_timing_import
from aiops.inventory import save_workflow
from aiops.workflow import Workflow
from tests.conftest import run_cli

WF = "ops-triage"
CANONICAL = "workflow_id,phase,measured_at,duration_minutes\n"


@pytest.fixture
def db(store, admin):
    save_workflow(store, admin, Workflow(workflow_id=WF, name="Triage", department="Ops"))
    return store


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def span_file(tmp_path: Path) -> Path:
    """Three tickets from 2024-03-04 to 2024-03-20 (created → resolved)."""
    return write(
        tmp_path,
        "tickets.csv",
        "created,resolved\n"
        "2024-03-04 09:00,2024-03-04 09:30\n"
        "2024-03-11 09:00,2024-03-11 09:20\n"
        "2024-03-20 09:00,2024-03-20 09:10\n",
    )


def counts(store) -> tuple:
    return store.query_one(
        "SELECT (SELECT count(*) FROM upload_batches), (SELECT count(*) FROM timing_samples)"
    )


# -- time kind ------------------------------------------------------------------------------------


def test_canonical_upload_is_hands_on_and_time_kind_elapsed_is_stored_per_sample_and_batch(
    db, admin, tmp_path
):
    rows = "ops-triage,before,2024-03-01 10:00,12\nops-triage,after,2024-03-08 10:00,8\n"
    first = import_timings(db, admin, write(tmp_path, "a.csv", CANONICAL + rows))
    second = import_timings(
        db, admin, write(tmp_path, "b.csv", CANONICAL + rows + rows), options={"time_kind": "elapsed"}
    )
    assert (first.mapping.kind, second.mapping.kind) == ("hands_on", "elapsed")
    assert db.query("SELECT batch_id, time_kind, phase_only FROM upload_batches ORDER BY 1") == [
        (first.batch_id, "hands_on", None),
        (second.batch_id, "elapsed", None),
    ]
    assert db.query("SELECT batch_id, time_kind, count(*) FROM timing_samples GROUP BY ALL ORDER BY 1") == [
        (first.batch_id, "hands_on", 2),
        (second.batch_id, "elapsed", 4),
    ]


def test_ticket_presets_default_to_elapsed_and_the_cli_can_override(capsys, db, tmp_path):
    path = write(
        tmp_path,
        "jira.csv",
        "key,issue_type,created,resolutiondate\n"
        "A-1,Bug,2024-03-01 09:00,2024-03-03 09:00\nA-2,Bug,2024-03-10 09:00,2024-03-12 09:00\n",
    )
    base = ["timings", "import", str(path), "--preset", "jira-issues-api", "--workflow", WF,
            "--go-live", "2024-03-05", "--db", str(db.path), "--json"]  # fmt: skip
    code, preset_default, err = run_cli(capsys, *base, "--dry-run")
    assert code == 0, err and preset_default["time_kind"] == "elapsed"
    code, overridden, err = run_cli(capsys, *base, "--time-kind", "hands_on")
    assert code == 0, err
    assert overridden["time_kind"] == "hands_on"
    assert db.query("SELECT DISTINCT time_kind FROM timing_samples") == [("hands_on",)]


def test_event_logs_are_elapsed_by_default(db, admin, tmp_path):
    path = write(
        tmp_path,
        "events.csv",
        "CaseID,CompleteTimestamp\n1,2024-03-01 09:00\n1,2024-03-01 11:00\n"
        "2,2024-03-09 09:00\n2,2024-03-09 10:00\n",
    )
    mapping = TimingMapping(
        workflow=WF, case_column="CaseID", timestamp_column="CompleteTimestamp", go_live="2024-03-05"
    )
    report = import_timings(db, admin, path, mapping)
    assert report.mapping.kind == "elapsed"
    assert db.query("SELECT time_kind, count(*) FROM timing_samples GROUP BY ALL") == [("elapsed", 2)]


# -- AI-assisted and segment columns --------------------------------------------------------------


def test_ai_assisted_values_parse_case_insensitively_and_others_are_rejected_with_line_and_value(
    db, admin, tmp_path
):
    values = ["yes", "No", "TRUE", "false", "1", "0", "Y", "n", "maybe", "", "2"]
    lines = "".join(f"ops-triage,after,2024-03-01 {10 + i}:00,5,{v}\n" for i, v in enumerate(values))
    path = write(tmp_path, "ai.csv", CANONICAL.strip() + ",ai_assisted\n" + lines)
    report = import_timings(db, admin, path,
                            options={"phase_only": "after"})  # fmt: skip
    reason = "not a yes/no value for ai_assisted (use yes/no, true/false, 1/0 or y/n)"
    assert [(r.line, r.column, r.reason) for r in report.rejects.itertuples(index=False)] == [
        (10, "ai_assisted", f"{reason}: 'maybe'"),
        (12, "ai_assisted", f"{reason}: '2'"),
    ]
    assert report.accepted + report.rejected == report.rows == len(values)
    stored = [r[0] for r in db.query("SELECT ai_assisted FROM timing_samples ORDER BY measured_at")]
    assert stored == [True, False, True, False, True, False, True, False, None]


def test_segment_column_is_stored_as_trimmed_text_and_blank_is_none(db, admin, tmp_path):
    text = (
        "workflow_id,phase,measured_at,duration_minutes,Priority\n"
        "ops-triage,before,2024-03-01 10:00,5, High \n"
        "ops-triage,after,2024-03-08 10:00,4,\n"
    )
    canonical = TimingMapping(workflow_column="workflow_id", phase_column="phase",
                              measured_at_column="measured_at",
                              duration_column="duration_minutes", segment_column="Priority")  # fmt: skip
    import_timings(db, admin, write(tmp_path, "seg.csv", text), canonical)
    assert db.query("SELECT phase, segment FROM timing_samples ORDER BY measured_at") == [
        ("before", "High"),
        ("after", None),
    ]


def test_ai_assisted_column_on_an_event_log_is_a_mapping_error():
    with pytest.raises(ValueError, match="ai_assisted and segment columns need one row per loop"):
        TimingMapping(
            workflow=WF, case_column="c", timestamp_column="t", go_live="2024-03-01", ai_assisted_column="ai"
        )


# -- go-live outside the data, and one-phase files -------------------------------------------------


@pytest.mark.parametrize(
    ("go_live", "message"),
    [
        (
            "2024-04-01",
            "go-live 2024-04-01 is after every loop in the file: the file's loops run from 2024-03-04 to "
            "2024-03-20; no loop is after go-live. Check the date, or say the file is one phase only "
            "(--phase before)",
        ),
        (
            "2024-03-01",
            "go-live 2024-03-01 is before every loop in the file: the file's loops run from 2024-03-04 to "
            "2024-03-20; no loop is before go-live. Check the date, or say the file is one phase only "
            "(--phase after)",
        ),
    ],
)
@pytest.mark.parametrize("dry_run", [True, False])
def test_go_live_outside_the_data_is_refused_at_preview_and_nothing_is_written(
    capsys, db, tmp_path, go_live, message, dry_run
):
    args = ["timings", "import", str(span_file(tmp_path)), "--workflow", WF, "--start-column", "created",
            "--end-column", "resolved", "--go-live", go_live, "--db", str(db.path), "--json"]  # fmt: skip
    before = counts(db)
    code, payload, err = run_cli(capsys, *args, *(["--dry-run"] if dry_run else []))
    assert code == 1
    assert err.strip() == f"aiops: error: {message} (nothing was written)"
    assert payload is not None and payload["problems"] == [message] and payload["batch_id"] is None
    assert counts(db) == before


def test_go_live_outside_the_data_is_refused_by_the_domain_commit_too(db, admin, tmp_path):
    mapping = TimingMapping(workflow=WF, start_column="created", end_column="resolved", go_live="2024-04-01")
    with open_timing_import(db, span_file(tmp_path), mapping) as upload:
        assert upload.report.problems and upload.report.problems[0].startswith(
            "go-live 2024-04-01 is after every loop"
        )
        with pytest.raises(IngestError, match="go-live 2024-04-01 is after every loop"):
            upload.commit(admin)
    assert counts(db) == (0, 0)


def test_phase_before_commits_a_baseline_only_file_and_records_it(capsys, db, tmp_path):
    code, payload, err = run_cli(
        capsys, "timings", "import", str(span_file(tmp_path)), "--workflow", WF, "--start-column", "created",
        "--end-column", "resolved", "--go-live", "2024-04-01", "--phase", "before",
        "--db", str(db.path), "--json",
    )  # fmt: skip
    assert code == 0, err
    assert payload["problems"] == [] and payload["phase_only"] == "before"
    assert db.query("SELECT phase_only FROM upload_batches") == [("before",)]
    assert db.query("SELECT phase, count(*) FROM timing_samples GROUP BY ALL") == [("before", 3)]


def test_phase_only_contradicted_by_the_go_live_is_refused(capsys, db, tmp_path):
    code, payload, err = run_cli(
        capsys, "timings", "import", str(span_file(tmp_path)), "--workflow", WF, "--start-column", "created",
        "--end-column", "resolved", "--go-live", "2024-03-10", "--phase", "before",
        "--db", str(db.path), "--json",
    )  # fmt: skip
    message = (
        "the file is marked as before go-live only, but 2 loops are after it "
        "(the file's loops run from 2024-03-04 to 2024-03-20)"
    )
    assert code == 1 and err.strip() == f"aiops: error: {message} (nothing was written)"
    assert payload["problems"] == [message] and counts(db) == (0, 0)


def test_one_phase_canonical_file_needs_no_phase_column(db, admin, tmp_path):
    text = (
        "workflow_id,measured_at,duration_minutes\n"
        "ops-triage,2024-03-01 10:00,12\nops-triage,2024-03-02 10:00,9\n"
    )
    path = write(tmp_path, "baseline.csv", text)
    with pytest.raises(MappingError, match="not in the canonical timings format"):
        import_timings(db, admin, path)
    report = import_timings(db, admin, path, options={"phase_only": "before"})
    assert report.mapping.describe().endswith("hands-on time; before go-live only")
    assert db.query("SELECT phase, count(*) FROM timing_samples GROUP BY ALL") == [("before", 2)]


# -- a hands-on upload that looks like calendar time -----------------------------------------------


def test_hands_on_upload_shaped_like_calendar_time_is_asked_about_in_the_report(db, admin, tmp_path):
    rows = "".join(f"ops-triage,{p},2024-03-0{d} 10:00,{m}\n" for p, d, m in
                   [("before", 1, 600), ("before", 2, 700), ("after", 8, 30), ("after", 9, 900)])  # fmt: skip
    path = write(tmp_path, "long.csv", CANONICAL + rows)
    (warning,) = import_timings(db, admin, path, dry_run=True).warnings
    assert warning.startswith("75% of the loops last longer than 8 hours: these look like open → close")
    assert "(--time-kind elapsed)?" in warning and "not counted as returned" in warning
    assert import_timings(db, admin, path, dry_run=True, options={"time_kind": "elapsed"}).warnings == []
    # Every loop between 5 and 7 hours: none is longer than a working day, but even the quickest
    # quarter takes hours (an open -> close time, not someone's hands-on minutes).
    hours = "".join(f"ops-triage,{p},2024-03-{d:02d} 10:00,{300 + 10 * d}\n" for p, d in
                    [("before", d) for d in range(1, 6)] + [("after", d) for d in range(10, 15)])  # fmt: skip
    (quick,) = import_timings(
        db, admin, write(tmp_path, "hours.csv", CANONICAL + hours), dry_run=True
    ).warnings
    assert quick.startswith("even the quickest quarter of the loops takes 6.8 hours or more: ")
    # A workflow of minutes with one long loop in twenty is not calendar time (outliers see to it).
    minutes = "".join(f"ops-triage,{'before' if d < 11 else 'after'},2024-03-{d:02d} 10:00,{30 + d}\n"
                      for d in range(1, 21)).replace(",31\n", ",600\n")  # fmt: skip
    assert (
        import_timings(db, admin, write(tmp_path, "minutes.csv", CANONICAL + minutes), dry_run=True).warnings
        == []
    )


def test_the_preview_names_the_week_the_times_changed_when_it_is_not_the_go_live(db, admin, tmp_path):
    """The times drop in the week of 2024-04-01; the file's phases say go-live four weeks earlier."""
    rows = []
    for week in range(24):
        monday = datetime(2024, 1, 8) + timedelta(weeks=week)
        for hour in range(10):
            minutes = (30 if week < 12 else 22) + hour % 3
            phase = "after" if week >= 8 else "before"
            rows.append(f"{WF},{phase},{monday + timedelta(hours=9 + hour)},{minutes}\n")
    report = import_timings(db, admin, write(tmp_path, "break.csv", CANONICAL + "".join(rows)), dry_run=True)
    (warning,) = [w for w in report.warnings if "change most" in w]
    assert warning.startswith(f"{WF}: the loop times change most around the week of 2024-04-01, 4 weeks from")
