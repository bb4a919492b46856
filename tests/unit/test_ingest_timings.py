"""Timing uploads: real exports through the CLI, every reject reason, mappings, encodings, batches.

Sample files live in tests/data/timings/, named after their condition. Expected values are computed
by hand or independently (Python's csv module, pandas), never read back from the code under test.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import selectors
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from aiops.errors import Conflict, MappingError, NotFound
from aiops.ingest.batches import undo_batch
from aiops.ingest.timings import TimingMapping, import_timings
from aiops.store import Store
from tests.conftest import DATA, ROOT, realdata, run_cli

TIMINGS = DATA / "timings"
WF = "eng-pr-review-prep"  # a demo workflow (Engineering)
OTHER_WF = "sup-ticket-triage"  # a demo workflow (Support)
SAMPLES = "SELECT phase, measured_at, duration_minutes, loops, rework_minutes FROM timing_samples"


# -- helpers ------------------------------------------------------------------------------------------


def cli_import(capsys, db: Path, path: Path, *mapping: str) -> tuple[int, dict, str]:
    code, payload, err = run_cli(capsys, "timings", "import", str(path), *mapping, "--db", str(db), "--json")
    assert payload is not None, f"no JSON on stdout (exit {code}): {err}"
    return code, payload, err


def rejects_of(report) -> list[tuple[int, str, str]]:
    return [(int(r.line), r.column, r.reason) for r in report.rejects.itertuples(index=False)]


def assert_rejects(report, expected: list[tuple[int, str, str]]) -> None:
    """Exact line and column; the reason must start with the expected text (hints may follow)."""
    found = rejects_of(report)
    assert [(line, column) for line, column, _ in found] == [(line, column) for line, column, _ in expected]
    for (line, _, reason), (_, _, wanted) in zip(found, expected, strict=True):
        assert reason.startswith(wanted), f"line {line}: {reason!r} does not start with {wanted!r}"


def batch_rows(store: Store, batch_id: int) -> list[tuple]:
    return store.query(f"{SAMPLES} WHERE batch_id = ? ORDER BY measured_at, duration_minutes", [batch_id])


def record_start_lines(
    path: Path, encoding: str = "utf-8", delimiter: str = ","
) -> list[tuple[int, list[str]]]:
    """(physical line where the record starts, fields) for every record, header first; an
    independent reading with Python's csv module (blank lines are not records)."""
    out, previous = [], 0
    with path.open(newline="", encoding=encoding) as f:
        reader = csv.reader(f, delimiter=delimiter)
        for record in reader:
            if record:
                out.append((previous + 1, record))
            previous = reader.line_num
    return out


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- the real exports, through the CLI ----------------------------------------------------------------

JIRA = ("jira_apache_avro-issues.csv", WF, "2016-01-01")
GITHUB = ("github_prs_top_repos_2025.csv", WF, "2025-03-01")
NYC311 = ("nyc311_service_requests_2024-04-16.csv", "ops-alert-enrichment", "2024-04-16")
EVENTS = ("eventlog_helpdesk.csv", OTHER_WF, "2012-01-01")


def test_cli_jira_export_accepts_1515_resolved_and_rejects_651_without_end(capsys, demo_path):
    path = realdata("timings", JIRA[0])
    code, payload, _ = cli_import(
        capsys,
        demo_path,
        path,
        "--workflow",
        WF,
        "--start-column",
        "created",
        "--end-column",
        "resolutiondate",
        "--go-live",
        JIRA[2],
    )
    records = record_start_lines(path)
    header = records[0][1]
    unresolved = [line for line, r in records[1:] if r[header.index("resolutiondate")] == "NA"]
    assert code == 0
    assert (payload["rows"], payload["accepted"], payload["rejected"]) == (2166, 1515, 651)
    assert payload["accepted"] + payload["rejected"] == payload["rows"] == len(records) - 1
    assert payload["duplicate"] is False and isinstance(payload["batch_id"], int)
    assert [r["line"] for r in payload["rejects"]] == unresolved
    assert {r["column"] for r in payload["rejects"]} == {"resolutiondate"}
    assert all(r["reason"].startswith("missing value") for r in payload["rejects"])


def test_cli_jira_export_splits_phases_by_created_at_go_live(capsys, demo_path):
    path = realdata("timings", JIRA[0])
    _, payload, _ = cli_import(
        capsys,
        demo_path,
        path,
        "--workflow",
        WF,
        "--start-column",
        "created",
        "--end-column",
        "resolutiondate",
        "--go-live",
        JIRA[2],
    )
    frame = pd.read_csv(path, keep_default_na=False)
    resolved = frame[frame.resolutiondate != "NA"]
    created = pd.to_datetime(resolved.created, utc=True, format="%Y-%m-%dT%H:%M:%S.%f%z")
    expected_after = int((created >= pd.Timestamp(JIRA[2], tz="UTC")).sum())
    with Store(demo_path) as store:
        phases = dict(
            store.query(
                "SELECT phase, count(*) FROM timing_samples WHERE batch_id = ? GROUP BY phase",
                [payload["batch_id"]],
            )
        )
    assert phases == {"before": 1515 - expected_after, "after": expected_after}


def test_cli_github_export_reports_306_over_long_records_on_lines_6379_to_6684(capsys, demo_path):
    path = realdata("timings", GITHUB[0])
    code, payload, _ = cli_import(
        capsys,
        demo_path,
        path,
        "--workflow",
        WF,
        "--start-column",
        "created_at",
        "--end-column",
        "closed_at",
        "--go-live",
        GITHUB[2],
    )
    assert code == 0
    assert (payload["rows"], payload["accepted"], payload["rejected"]) == (6683, 6377, 306)
    assert payload["accepted"] + payload["rejected"] == payload["rows"]
    assert [r["line"] for r in payload["rejects"]] == list(range(6379, 6685))
    assert all("wrong field count" in r["reason"] for r in payload["rejects"])


def test_cli_nyc311_export_parses_embedded_newlines_into_1000_records(capsys, demo_path):
    path = realdata("timings", NYC311[0])
    code, payload, _ = cli_import(
        capsys,
        demo_path,
        path,
        "--workflow",
        NYC311[1],
        "--start-column",
        "created_date",
        "--end-column",
        "closed_date",
        "--go-live",
        NYC311[2],
    )
    records = record_start_lines(path)
    closed = records[0][1].index("closed_date")
    still_open = [line for line, r in records[1:] if not r[closed].strip()]
    assert code == 0
    assert (payload["rows"], payload["accepted"], payload["rejected"]) == (1000, 292, 708)
    assert payload["accepted"] + payload["rejected"] == payload["rows"]
    assert [r["line"] for r in payload["rejects"]] == still_open
    assert still_open[-1] == 2947  # a physical line: records span several lines before it
    assert {r["column"] for r in payload["rejects"]} == {"closed_date"}


def test_cli_event_log_gives_3804_loops_from_first_to_last_event(capsys, demo_path):
    path = realdata("timings", EVENTS[0])
    code, payload, _ = cli_import(
        capsys,
        demo_path,
        path,
        "--workflow",
        EVENTS[1],
        "--case-column",
        "CaseID",
        "--timestamp-column",
        "CompleteTimestamp",
        "--go-live",
        EVENTS[2],
    )
    events = pd.read_csv(path, parse_dates=["CompleteTimestamp"])
    spans = events.groupby("CaseID").CompleteTimestamp.agg(["min", "max"])
    expected_minutes = ((spans["max"] - spans["min"]).dt.total_seconds() / 60).sum()
    expected_after = int((spans["min"] >= pd.Timestamp(EVENTS[2])).sum())
    assert code == 0
    assert (payload["rows"], payload["accepted"], payload["rejected"], payload["loops"]) == (
        13710,
        13710,
        0,
        3804,
    )
    with Store(demo_path) as store:
        samples, minutes, after = store.query_one(
            "SELECT count(*), sum(duration_minutes), count(*) FILTER (WHERE phase = 'after') "
            "FROM timing_samples WHERE batch_id = ?",
            [payload["batch_id"]],
        )
    assert samples == 3804 and after == expected_after
    assert minutes == pytest.approx(expected_minutes, rel=1e-9)


PRESET_RUNS = {
    "jira-issues-api": (JIRA, 2166, 1515, 651, 1515),
    "github-pr-dataset": (GITHUB, 6683, 6377, 306, 6377),
    "nyc-311": (NYC311, 1000, 292, 708, 292),
    "event-log": (EVENTS, 13710, 13710, 0, 3804),
}


@pytest.mark.parametrize("preset", sorted(PRESET_RUNS))
def test_cli_builtin_preset_gives_the_same_counts_as_the_hand_mapping(capsys, demo_path, preset):
    (file_name, workflow, go_live), rows, accepted, rejected, loops = PRESET_RUNS[preset]
    code, payload, _ = cli_import(
        capsys,
        demo_path,
        realdata("timings", file_name),
        "--preset",
        preset,
        "--workflow",
        workflow,
        "--go-live",
        go_live,
    )
    assert code == 0
    counts = (payload["rows"], payload["accepted"], payload["rejected"], payload["loops"])
    assert counts == (rows, accepted, rejected, loops)
    assert payload["accepted"] + payload["rejected"] == payload["rows"]


def test_cli_timings_presets_json_lists_the_builtin_presets(capsys, demo_path):
    code, payload, _ = run_cli(capsys, "timings", "presets", "--db", str(demo_path), "--json")
    assert code == 0
    by_name = {p["name"]: p for p in payload}
    assert set(PRESET_RUNS) <= set(by_name)
    assert all(by_name[name]["builtin"] is True and by_name[name]["loops"] for name in PRESET_RUNS)


# -- every reject reason: line, column, reason --------------------------------------------------------


@pytest.mark.both_stores  # the write path on DuckDB and PostgreSQL
def test_canonical_file_with_one_bad_row_per_reason_reports_each_line_column_and_reason(demo, admin):
    report = import_timings(demo, admin, TIMINGS / "canonical_one_reject_per_reason.csv", dry_run=True)
    assert_rejects(
        report,
        [
            (3, "workflow_id", "missing value"),
            (4, "duration_minutes", "missing value"),
            (5, "duration_minutes", "unparseable number"),
            (6, "measured_at", "unparseable timestamp"),
            (7, "duration_minutes", "negative duration"),
            (8, "workflow_id", "unknown workflow"),
            (9, "phase", "unknown phase"),
            # line 10 omits its trailing rework field: read as empty, with a note (issue 12)
            (11, "(whole record)", "wrong field count (too many fields)"),
            (12, "duration_minutes", "duration above the policy's plausible maximum"),
        ],
    )
    assert (report.rows, report.accepted, report.rejected) == (12, 3, 9)
    assert any("fewer fields than the header" in note for note in report.notes)


def test_span_file_rejects_end_before_start_missing_and_unparseable_timestamps(demo, admin):
    mapping = TimingMapping(workflow=WF, start_column="created", end_column="resolved", go_live="2024-03-01")
    report = import_timings(demo, admin, TIMINGS / "span_rejects.csv", mapping, dry_run=True)
    assert_rejects(
        report,
        [
            (3, "resolved", "end before start"),
            (4, "created", "unparseable timestamp"),
            (5, "created", "missing value"),
            (6, "resolved", "missing value"),
            (7, "resolved", "unparseable timestamp"),
        ],
    )
    assert (report.rows, report.accepted) == (6, 1)


def test_unparseable_and_out_of_range_loops_and_rework_are_rejected(demo, admin):
    report = import_timings(demo, admin, TIMINGS / "canonical_bad_loops_and_rework.csv", dry_run=True)
    assert_rejects(
        report,
        [
            (2, "loops", "unparseable number"),
            (3, "loops", "loops must be at least 1"),
            (4, "rework_minutes", "negative rework minutes"),
            (5, "rework_minutes", "unparseable number"),
        ],
    )
    assert report.accepted == 0


def test_duration_equal_to_the_plausible_maximum_is_accepted_and_above_it_rejected(demo, admin):
    assert demo.policy.evidence.max_loop_minutes == 5256000  # the file is written for this policy value
    report = import_timings(demo, admin, TIMINGS / "max_duration_boundary.csv", dry_run=True)
    assert_rejects(report, [(3, "duration_minutes", "duration above the policy's plausible maximum")])
    assert report.accepted == 1


def test_rejects_after_multiline_records_and_blank_lines_name_the_physical_start_line(demo, admin):
    path = TIMINGS / "multiline_crlf_blank_lines.csv"
    report = import_timings(demo, admin, path, dry_run=True)
    assert_rejects(
        report,
        [
            (6, "duration_minutes", "unparseable number"),
            (7, "(whole record)", "wrong field count (too many fields)"),
            (8, "duration_minutes", "missing value"),
            (10, "duration_minutes", "negative duration"),
        ],
    )
    assert [line for line, _ in record_start_lines(path)][1:] == [2, 6, 7, 8, 10]
    assert (report.rows, report.accepted) == (5, 1)


def test_whole_file_workflow_that_is_not_registered_raises_not_found(demo, admin):
    mapping = TimingMapping(
        workflow="nobody-registered-this", start_column="created", end_column="resolved", go_live="2024-03-01"
    )
    with pytest.raises(NotFound, match="nobody-registered-this"):
        import_timings(demo, admin, TIMINGS / "span_rejects.csv", mapping, dry_run=True)


@pytest.mark.both_stores  # the write path on DuckDB and PostgreSQL
def test_workflow_ids_match_case_insensitively_and_store_the_registered_spelling(demo, admin):
    report = import_timings(demo, admin, TIMINGS / "workflow_ids_other_case.csv")
    stored = demo.query(
        "SELECT DISTINCT workflow_id FROM timing_samples WHERE batch_id = ?", [report.batch_id]
    )
    assert report.accepted == 1 and stored == [(WF,)]


# Every sample file, and the mapping it is read with: accepted + rejected = records, always.
SAMPLE_MAPPINGS: dict[str, dict | None] = {
    "ambiguous_dates.csv": {"start_column": "start", "end_column": "end", "date_order": "dmy"},
    "batch_tickets.csv": {"start_column": "opened", "end_column": "closed"},
    "canonical_bad_loops_and_rework.csv": None,
    "canonical_blank_loops_and_rework.csv": None,
    "canonical_one_reject_per_reason.csv": None,
    "canonical_without_loops_and_rework.csv": None,
    "date_only_new_york.csv": {
        "start_column": "opened",
        "end_column": "closed",
        "timezone": "America/New_York",
    },
    "dayfirst_dates.csv": {"start_column": "start", "end_column": "end"},
    "dayfirst_decided_by_end_column.csv": {"start_column": "start", "end_column": "end", "date_order": "dmy"},
    "duration_numeric.csv": {"duration_column": "Handle time", "measured_at_column": "Created"},
    "event_log_small.csv": {"case_column": "CaseID", "timestamp_column": "CompleteTimestamp"},
    "freshdesk_hms.csv": {
        "duration_column": "Resolution time (in hrs)",
        "unit": "hms",
        "measured_at_column": "Created time",
    },
    "go_live_split.csv": {"start_column": "start", "end_column": "end"},
    "hms_negative.csv": {
        "duration_column": "Resolution time (in hrs)",
        "unit": "hms",
        "measured_at_column": "Created time",
    },
    "iso_z_and_offsets.csv": {"start_column": "created_at", "end_column": "closed_at"},
    "jira_cloud_dayfirst.csv": {"start_column": "Created", "end_column": "Resolved"},
    "max_duration_boundary.csv": None,
    "monthfirst_dates.csv": {"start_column": "start", "end_column": "end"},
    "multiline_crlf_blank_lines.csv": None,
    "naive_new_york.csv": {"start_column": "start", "end_column": "end", "timezone": "America/New_York"},
    "phase_synonyms.csv": None,
    "semicolon_decimal_comma.csv": {"duration_column": "Minutes", "measured_at_column": "Created"},
    "span_rejects.csv": {"start_column": "created", "end_column": "resolved"},
    "utf16_tab_excel_unicode_text.csv": None,
    "windows1252_semicolon.csv": {"duration_column": "Minutes", "measured_at_column": "Created"},
    "workflow_ids_other_case.csv": None,
}
ENCODINGS = {
    "utf16_tab_excel_unicode_text.csv": ("utf-16", "\t"),
    "windows1252_semicolon.csv": ("cp1252", ";"),
}


def _sample_mapping(name: str) -> TimingMapping | None:
    fields = SAMPLE_MAPPINGS[name]
    if fields is None:
        return None
    return TimingMapping(workflow=WF, go_live="2024-03-01", **fields)


def test_every_sample_file_has_a_mapping_in_the_accounting_test():
    assert sorted(p.name for p in TIMINGS.glob("*.csv")) == sorted(SAMPLE_MAPPINGS)


@pytest.mark.parametrize("name", sorted(SAMPLE_MAPPINGS))
def test_accepted_plus_rejected_equals_the_records_of_every_sample_file(demo, admin, name):
    path = TIMINGS / name
    encoding, delimiter = ENCODINGS.get(name, ("utf-8", ";" if name.startswith("semicolon") else ","))
    records = len(record_start_lines(path, encoding, delimiter)) - 1
    report = import_timings(demo, admin, path, _sample_mapping(name), dry_run=True)
    assert report.rows == records
    assert report.accepted + report.rejected == report.rows


# -- canonical format, phases, defaults ---------------------------------------------------------------


def test_canonical_file_needs_no_mapping(demo, admin):
    report = import_timings(demo, admin, TIMINGS / "canonical_without_loops_and_rework.csv")
    assert (report.rows, report.accepted, report.rejected) == (2, 2, 0)
    assert batch_rows(demo, report.batch_id) == [
        ("before", at("2026-01-05 10:00"), 30.0, 1, 0.0),
        ("after", at("2026-03-05 10:00"), 20.0, 1, 0.0),
    ]


def test_file_that_is_not_canonical_without_a_mapping_raises_mapping_error(demo, admin):
    with pytest.raises(MappingError, match="canonical"):
        import_timings(demo, admin, TIMINGS / "span_rejects.csv", None, dry_run=True)


def test_phase_synonyms_are_read_as_before_and_after(demo, admin):
    report = import_timings(demo, admin, TIMINGS / "phase_synonyms.csv")
    phases = demo.query(
        "SELECT duration_minutes, phase FROM timing_samples WHERE batch_id = ? ORDER BY 1", [report.batch_id]
    )
    assert report.rejected == 0
    assert phases == [(float(m), "before") for m in range(1, 7)] + [(float(m), "after") for m in range(7, 13)]


def test_loops_and_rework_default_to_1_and_0_when_their_columns_are_absent(demo, admin):
    report = import_timings(demo, admin, TIMINGS / "canonical_without_loops_and_rework.csv")
    assert {(r[3], r[4]) for r in batch_rows(demo, report.batch_id)} == {(1, 0.0)}


def test_blank_loops_and_rework_cells_default_to_1_and_0(demo, admin):
    report = import_timings(demo, admin, TIMINGS / "canonical_blank_loops_and_rework.csv")
    assert report.rejected == 0
    assert [(r[2], r[3], r[4]) for r in batch_rows(demo, report.batch_id)] == [
        (30.0, 1, 0.0),
        (20.0, 1, 0.0),
        (50.0, 5, 7.5),
    ]


# -- durations, timestamps, dates, zones --------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "minutes"), [("seconds", 0.025), ("minutes", 1.5), ("hours", 90.0), ("days", 2160.0)]
)
def test_duration_column_unit_converts_to_minutes(demo, admin, unit, minutes):
    mapping = TimingMapping(
        workflow=WF,
        duration_column="Handle time",
        unit=unit,
        measured_at_column="Created",
        phase_column="Phase",
    )
    report = import_timings(demo, admin, TIMINGS / "duration_numeric.csv", mapping)
    assert batch_rows(demo, report.batch_id)[0][2] == pytest.approx(minutes)


def test_hms_durations_read_as_hours_minutes_seconds(demo, admin):
    mapping = TimingMapping(
        workflow=WF,
        duration_column="Resolution time (in hrs)",
        unit="hms",
        measured_at_column="Created time",
        phase_column="Phase",
    )
    report = import_timings(demo, admin, TIMINGS / "freshdesk_hms.csv", mapping)
    assert_rejects(report, [(6, "Resolution time (in hrs)", "unparseable duration")])
    assert [(r[0], r[2]) for r in batch_rows(demo, report.batch_id)] == [
        ("before", 90.0),  # 01:30:00
        ("after", 45.0),  # 0:45
        ("after", 65.5),  # 1:05:30
        ("after", 1560.0),  # 26:00:00
    ]


def test_negative_hms_durations_are_rejected_as_negative(demo, admin):
    mapping = TimingMapping(
        workflow=WF,
        duration_column="Resolution time (in hrs)",
        unit="hms",
        measured_at_column="Created time",
        phase_column="Phase",
    )
    report = import_timings(demo, admin, TIMINGS / "hms_negative.csv", mapping, dry_run=True)
    assert_rejects(
        report,
        [
            (2, "Resolution time (in hrs)", "negative duration"),  # -1:30:00
            (3, "Resolution time (in hrs)", "negative duration"),  # -0:30:00 is minus 30 minutes
        ],
    )


def test_iso_timestamps_with_z_and_offsets_are_converted_to_utc(demo, admin):
    mapping = TimingMapping(
        workflow=WF, start_column="created_at", end_column="closed_at", go_live="2024-03-02"
    )
    report = import_timings(demo, admin, TIMINGS / "iso_z_and_offsets.csv", mapping)
    assert report.rejected == 0
    assert [(r[1], r[2]) for r in batch_rows(demo, report.batch_id)] == [
        (at("2024-03-01 12:30:00"), 150.0),  # +0000, no colon
        (at("2024-03-01 15:00:00"), 0.0),  # 10:00-0500 and 16:00+01:00 are the same instant
        (at("2025-04-03 19:14:48"), pytest.approx(202.05)),  # Z
    ]


def test_jira_cloud_named_month_timestamps_with_am_pm_parse(demo, admin):
    mapping = TimingMapping(workflow=WF, start_column="Created", end_column="Resolved", go_live="2024-03-20")
    report = import_timings(demo, admin, TIMINGS / "jira_cloud_dayfirst.csv", mapping)
    assert report.rejected == 0
    assert batch_rows(demo, report.batch_id) == [
        ("before", at("2024-03-18 14:45"), 270.0, 1, 0.0),  # 18/Mar/24 10:15 AM → 02:45 PM
        ("after", at("2024-04-02 09:00"), 1440.0, 1, 0.0),
    ]


def test_day_first_dates_are_decided_by_a_day_above_12(demo, admin):
    mapping = TimingMapping(workflow=WF, start_column="start", end_column="end", go_live="2024-04-04")
    report = import_timings(demo, admin, TIMINGS / "dayfirst_dates.csv", mapping)
    assert [r[:3] for r in batch_rows(demo, report.batch_id)] == [
        ("before", at("2024-04-03 11:00"), 60.0),  # 03/04/2024 is 3 April
        ("after", at("2024-04-25 12:00"), 120.0),
    ]


def test_month_first_dates_are_decided_by_a_day_above_12(demo, admin):
    mapping = TimingMapping(workflow=WF, start_column="start", end_column="end", go_live="2024-04-04")
    report = import_timings(demo, admin, TIMINGS / "monthfirst_dates.csv", mapping)
    assert [r[:3] for r in batch_rows(demo, report.batch_id)] == [
        ("before", at("2024-03-04 11:00"), 60.0),  # 03/04/2024 is 4 March
        ("after", at("2024-04-25 12:00"), 120.0),
    ]


def test_a_timestamp_empty_in_the_first_records_is_detected_from_the_records_that_have_it(
    demo, admin, tmp_path
):
    """Open tickets first (no end yet), then day-first end times: the format comes from the values
    that exist, not from an empty sample read as ISO (which rejected every valid record)."""
    from aiops.ingest.timestamps import SAMPLE

    ends = [""] * (SAMPLE * 10 + 500) + ["21/04/2024 10:00"] * 40
    path = tmp_path / "open_first.csv"
    path.write_text("start,end\n" + "".join(f"2024-04-01 09:00,{end}\n" for end in ends))
    mapping = TimingMapping(workflow=WF, start_column="start", end_column="end", go_live="2024-04-04")
    report = import_timings(demo, admin, path, mapping, dry_run=True)
    assert report.accepted == 40 and report.rows == len(ends)
    assert report.rejects.reason.str.startswith("missing value").all(), report.rejects.reason.unique()


def test_ambiguous_dates_raise_mapping_error_asking_for_date_order(demo, admin):
    mapping = TimingMapping(workflow=WF, start_column="start", end_column="end", go_live="2024-04-04")
    with pytest.raises(MappingError, match="--date-order"):
        import_timings(demo, admin, TIMINGS / "ambiguous_dates.csv", mapping, dry_run=True)


@pytest.mark.parametrize(
    ("order", "ends"),
    [
        ("dmy", [at("2024-04-03 11:00"), at("2024-04-05 12:00")]),
        ("mdy", [at("2024-03-04 11:00"), at("2024-05-04 12:00")]),
    ],
)
def test_ambiguous_dates_are_resolved_by_the_date_order(demo, admin, order, ends):
    mapping = TimingMapping(
        workflow=WF, start_column="start", end_column="end", go_live="2024-04-04", date_order=order
    )
    report = import_timings(demo, admin, TIMINGS / "ambiguous_dates.csv", mapping)
    assert [r[1] for r in batch_rows(demo, report.batch_id)] == ends


def test_cli_ambiguous_dates_exit_2_with_one_line_error_naming_date_order(capsys, demo_path):
    code, payload, err = run_cli(
        capsys,
        "timings",
        "import",
        str(TIMINGS / "ambiguous_dates.csv"),
        "--workflow",
        WF,
        "--start-column",
        "start",
        "--end-column",
        "end",
        "--go-live",
        "2024-04-04",
        "--db",
        str(demo_path),
        "--json",
    )
    assert code == 2 and payload is None
    assert err.count("\n") == 1 and err.startswith("aiops: error:") and "--date-order" in err


def test_day_first_is_decided_by_a_day_above_12_in_another_timestamp_column_of_the_file(demo, admin):
    # 'start' alone is ambiguous, but 'end' holds 25/04/2024: the file's dates are day-first.
    mapping = TimingMapping(workflow=WF, start_column="start", end_column="end", go_live="2024-04-04")
    report = import_timings(demo, admin, TIMINGS / "dayfirst_decided_by_end_column.csv", mapping)
    assert [r[:3] for r in batch_rows(demo, report.batch_id)] == [
        ("after", at("2024-04-05 12:00"), 120.0),  # 05/04 10:00 → 05/04 12:00
        ("before", at("2024-04-25 11:00"), 31740.0),  # 03/04 10:00 → 25/04 11:00: 22 days and 1 hour
    ]


def test_naive_timestamps_are_read_in_the_mapping_timezone_with_daylight_saving(demo, admin):
    mapping = TimingMapping(
        workflow=WF, start_column="start", end_column="end", go_live="2024-06-01", timezone="America/New_York"
    )
    report = import_timings(demo, admin, TIMINGS / "naive_new_york.csv", mapping)
    assert [r[1] for r in batch_rows(demo, report.batch_id)] == [
        at("2024-01-15 16:00"),  # 11:00 EST = UTC-5
        at("2024-07-15 11:00"),  # explicit Z: no shift
        at("2024-07-15 15:00"),  # 11:00 EDT = UTC-4
    ]


def test_date_only_values_are_read_in_the_mapping_timezone(demo, admin):
    mapping = TimingMapping(
        workflow=WF,
        start_column="opened",
        end_column="closed",
        go_live="2024-01-01",
        timezone="America/New_York",
        phase_only="after",  # one record: the file is one phase
    )
    report = import_timings(demo, admin, TIMINGS / "date_only_new_york.csv", mapping)
    assert batch_rows(demo, report.batch_id) == [("after", at("2024-01-17 05:00"), 2880.0, 1, 0.0)]


def test_go_live_puts_loops_that_started_on_or_after_it_in_after(demo, admin):
    mapping = TimingMapping(workflow=WF, start_column="start", end_column="end", go_live="2026-03-01")
    report = import_timings(demo, admin, TIMINGS / "go_live_split.csv", mapping)
    assert [(r[0], r[2]) for r in batch_rows(demo, report.batch_id)] == [
        ("before", 60.0),  # before
        ("after", 30.0),  # starts exactly at go-live
        ("before", 120.0),  # started the evening before go-live, ended after it
        ("after", 20.0),  # after
    ]


@pytest.mark.both_stores  # the write path on DuckDB and PostgreSQL
def test_event_log_gives_one_loop_per_case_from_first_to_last_event(demo, admin):
    mapping = TimingMapping(
        workflow=WF, case_column="CaseID", timestamp_column="CompleteTimestamp", go_live="2026-03-01"
    )
    report = import_timings(demo, admin, TIMINGS / "event_log_small.csv", mapping)
    assert (report.rows, report.accepted, report.rejected, report.loops_found) == (11, 10, 1, 4)
    assert_rejects(report, [(12, "CaseID", "missing value")])
    assert batch_rows(demo, report.batch_id) == [
        ("before", at("2026-01-01 11:00"), 60.0, 1, 0.0),  # case 1 (a duplicate event does not matter)
        ("before", at("2026-03-01 00:30"), 60.0, 1, 0.0),  # case 3 started before go-live
        ("after", at("2026-03-01 09:15"), 15.0, 1, 0.0),  # case 2
        ("after", at("2026-03-05 12:00"), 120.0, 1, 0.0),  # case 4, events out of order in the file
    ]


def test_semicolon_file_with_decimal_commas_parses_minutes_and_rework(demo, admin):
    mapping = TimingMapping(
        workflow=WF,
        duration_column="Minutes",
        measured_at_column="Created",
        phase_column="Phase",
        rework_column="Rework",
    )
    report = import_timings(demo, admin, TIMINGS / "semicolon_decimal_comma.csv", mapping)
    assert report.dialect.startswith("semicolon") and report.rejected == 0
    assert [(r[0], r[2], r[4]) for r in batch_rows(demo, report.batch_id)] == [
        ("before", 12.5, 0.0),
        ("after", 7.25, 1.5),
        ("after", 1234.5, 0.0),  # 1.234,5: a thousands dot and a decimal comma
    ]


def test_windows_1252_file_parses(demo, admin):
    mapping = TimingMapping(
        workflow=WF, duration_column="Minutes", measured_at_column="Created", phase_column="Phase"
    )
    report = import_timings(demo, admin, TIMINGS / "windows1252_semicolon.csv", mapping)
    assert report.encoding == "cp1252" and (report.rows, report.accepted) == (2, 2)
    assert [(r[0], r[2]) for r in batch_rows(demo, report.batch_id)] == [("before", 12.5), ("after", 7.5)]


def test_utf16_excel_unicode_text_file_parses(demo, admin):
    report = import_timings(demo, admin, TIMINGS / "utf16_tab_excel_unicode_text.csv")
    assert report.encoding.startswith("utf-16") and (report.rows, report.accepted) == (2, 2)
    assert [(r[0], r[2]) for r in batch_rows(demo, report.batch_id)] == [("before", 30.0), ("after", 20.0)]


# -- batches: duplicate, undo, audit, killed imports --------------------------------------------------

TICKETS = TIMINGS / "batch_tickets.csv"


def _tickets(workflow: str = WF) -> TimingMapping:
    return TimingMapping(workflow=workflow, start_column="opened", end_column="closed", go_live="2026-03-01")


def test_cli_same_file_for_the_same_workflow_is_refused_as_duplicate(capsys, demo_path):
    mapping = (
        "--workflow",
        WF,
        "--start-column",
        "created",
        "--end-column",
        "resolutiondate",
        "--go-live",
        "2016-01-01",
    )
    path = realdata("timings", JIRA[0])
    first_code, first, _ = cli_import(capsys, demo_path, path, *mapping)
    code, payload, err = cli_import(capsys, demo_path, path, *mapping)
    assert first_code == 0 and code == 1
    assert payload["duplicate"] is True and payload["batch_id"] is None
    assert err.count("\n") == 1 and "already uploaded" in err
    with Store(demo_path) as store:
        assert store.query("SELECT count(*) FROM upload_batches WHERE file_name = ?", [JIRA[0]]) == [(1,)]
        assert store.query("SELECT count(*) FROM timing_samples WHERE batch_id = ?", [first["batch_id"]]) == [
            (1515,)
        ]


@pytest.mark.both_stores  # the write path on DuckDB and PostgreSQL
def test_same_file_twice_through_the_api_raises_conflict_and_writes_nothing(demo, admin):
    import_timings(demo, admin, TICKETS, _tickets())
    before = demo.query_one("SELECT count(*) FROM timing_samples")[0]
    with pytest.raises(Conflict, match="already uploaded"):
        import_timings(demo, admin, TICKETS, _tickets())
    assert demo.query_one("SELECT count(*) FROM timing_samples")[0] == before


def test_same_file_for_another_workflow_is_accepted(demo, admin):
    first = import_timings(demo, admin, TICKETS, _tickets(WF))
    second = import_timings(demo, admin, TICKETS, _tickets(OTHER_WF))
    assert second.batch_id != first.batch_id and second.accepted == 10
    assert demo.query("SELECT workflow_ids FROM upload_batches WHERE batch_id = ?", [second.batch_id]) == [
        ([OTHER_WF],)
    ]


def test_file_can_be_uploaded_again_after_its_batch_is_undone(demo, admin):
    first = import_timings(demo, admin, TICKETS, _tickets())
    undo_batch(demo, admin, first.batch_id)
    again = import_timings(demo, admin, TICKETS, _tickets())
    assert again.batch_id != first.batch_id and len(batch_rows(demo, again.batch_id)) == 10


@pytest.mark.both_stores  # the write path on DuckDB and PostgreSQL
def test_batch_records_who_when_file_hash_mapping_and_counts(demo, admin):
    report = import_timings(
        demo,
        admin,
        TIMINGS / "span_rejects.csv",
        TimingMapping(
            workflow=WF,
            start_column="created",
            end_column="resolved",
            go_live="2024-03-01",
            phase_only="after",  # one accepted loop: the file is one phase
        ),
    )
    row = demo.query_one(
        "SELECT actor, uploaded_at, file_name, file_sha256, workflow_ids, mapping, rows_total, accepted, "
        "rejected FROM upload_batches WHERE batch_id = ?",
        [report.batch_id],
    )
    actor, uploaded_at, file_name, sha256, workflow_ids, mapping, rows, accepted, rejected = row
    assert (actor, file_name, workflow_ids) == (admin.name, "span_rejects.csv", [WF])
    assert sha256 == hashlib.sha256((TIMINGS / "span_rejects.csv").read_bytes()).hexdigest()
    assert (
        isinstance(uploaded_at, datetime)
        and abs((datetime.now(UTC).replace(tzinfo=None) - uploaded_at).total_seconds()) < 600
    )
    assert json.loads(mapping)["start_column"] == "created" and json.loads(mapping)["go_live"] == "2024-03-01"
    assert (rows, accepted, rejected) == (6, 1, 5)


@pytest.mark.both_stores  # the write path on DuckDB and PostgreSQL
def test_dry_run_writes_nothing(demo, admin):
    samples, batches = demo.query_one(
        "SELECT (SELECT count(*) FROM timing_samples), (SELECT count(*) FROM upload_batches)"
    )
    report = import_timings(demo, admin, TICKETS, _tickets(), dry_run=True)
    assert report.batch_id is None and report.accepted == 10
    assert demo.query_one(
        "SELECT (SELECT count(*) FROM timing_samples), (SELECT count(*) FROM upload_batches)"
    ) == (samples, batches)


def _state(store: Store) -> tuple[list, list]:
    return (
        store.query("SELECT * FROM timing_samples ORDER BY ALL"),
        store.query("SELECT workflow_id, risk, status, evidence FROM classifications ORDER BY workflow_id"),
    )


@pytest.mark.both_stores  # the write path on DuckDB and PostgreSQL
def test_upload_then_undo_restores_the_exact_prior_state(demo, admin):
    prior = _state(demo)
    report = import_timings(
        demo,
        admin,
        realdata("timings", JIRA[0]),
        TimingMapping(
            workflow="people-onboarding-checklists",
            start_column="created",
            end_column="resolutiondate",
            go_live="2016-01-01",
        ),
    )
    changed = _state(demo)
    removed = undo_batch(demo, admin, report.batch_id)
    assert changed != prior  # the upload did change something
    assert removed == 1515
    assert _state(demo) == prior


def test_upload_and_undo_are_audited(demo, admin):
    report = import_timings(demo, admin, TICKETS, _tickets())
    undo_batch(demo, admin, report.batch_id)
    rows = demo.query(
        "SELECT action, actor, detail FROM audit_log WHERE entity = 'batch' AND entity_id = ? "
        "ORDER BY audit_id",
        [str(report.batch_id)],
    )
    assert [(r[0], r[1]) for r in rows] == [("upload.committed", admin.name), ("upload.undone", admin.name)]
    assert json.loads(rows[0][2])["accepted"] == 10 and json.loads(rows[1][2])["samples_removed"] == 10
    undone = demo.query_one(
        "SELECT undone_by, undone_at FROM upload_batches WHERE batch_id = ?", [report.batch_id]
    )
    assert undone[0] == admin.name and undone[1] is not None


def test_cli_undo_removes_the_batch_and_a_second_undo_exits_1(capsys, demo_path):
    mapping = (
        "--workflow",
        WF,
        "--start-column",
        "opened",
        "--end-column",
        "closed",
        "--go-live",
        "2026-03-01",
    )
    _, uploaded, _ = cli_import(capsys, demo_path, TICKETS, *mapping)
    undo = ("timings", "undo", str(uploaded["batch_id"]), "--db", str(demo_path), "--json")
    code, payload, _ = run_cli(capsys, *undo)
    assert code == 0 and payload == {"batch_id": uploaded["batch_id"], "samples_removed": 10}
    code, payload, err = run_cli(capsys, *undo)
    assert code == 1 and payload is None
    assert err.count("\n") == 1 and "already undone" in err
    code, batches, _ = run_cli(capsys, "timings", "batches", "--db", str(demo_path), "--json")
    listed = {b["batch_id"]: b for b in batches}[uploaded["batch_id"]]
    assert (listed["file_name"], listed["accepted"], listed["rejected"]) == ("batch_tickets.csv", 10, 0)
    assert listed["undone_at"] is not None


def test_undoing_a_batch_twice_raises_conflict(demo, admin):
    report = import_timings(demo, admin, TICKETS, _tickets())
    undo_batch(demo, admin, report.batch_id)
    with pytest.raises(Conflict):
        undo_batch(demo, admin, report.batch_id)


def test_undoing_an_unknown_batch_raises_not_found(demo, admin):
    with pytest.raises(NotFound):
        undo_batch(demo, admin, 987654)


def test_a_previews_estimate_reads_the_stored_and_uploaded_rows_without_a_copy(demo):
    """The preview's cells (``foresight``) read the stored rows and the upload's once per pass:
    DuckDB copies rows that two passes read alike when they come from a join (the view that leaves
    pending batches out), 1.3 s of 3.7 s for a 3M-row upload beside 3M stored rows. The stored
    rows are the table itself when no batch is pending, asked in the cells' own transaction."""
    from aiops.ingest.timings import open_timing_import
    from aiops.store import Statement, tracer

    log: list[Statement] = []
    with tracer(log.append), open_timing_import(demo, TICKETS, _tickets(), preview=True) as upload:
        (cells,) = [s for s in log if s.sql.lstrip().startswith("WITH s0")]
        plan = upload.staged.cursor.execute("EXPLAIN (FORMAT json) " + cells.sql, cells.params).fetchall()
    assert "phase_bounds" in str(plan) and "__common_subplan" not in str(plan)
    texts = [" ".join(s.sql.split()) for s in log]
    at = texts.index(" ".join(cells.sql.split()))
    assert texts[at - 2 : at + 2] == [
        "BEGIN TRANSACTION",
        "SELECT count(*) FROM pending_batches",
        " ".join(cells.sql.split()),
        "ROLLBACK",
    ]


KILL_ROWS = 1_000_000
_CHILD = """
import sys
import time
from aiops.auth import Actor
from aiops.ingest.timings import import_timings
from aiops.store import Store, Tx

execute = Tx.execute

def execute_then_hang(tx, sql, params=None):
    # Inside the upload's transaction, once its samples are inserted: hang there.
    execute(tx, sql, params)
    if sql.startswith("INSERT INTO timing_samples"):
        print("IN_TRANSACTION", tx.query_one("SELECT count(*) FROM timing_samples")[0], flush=True)
        time.sleep(120)

Tx.execute = execute_then_hang
store = Store(sys.argv[1])
import_timings(store, Actor(name="killed@test", role="admin"), sys.argv[2])
print("COMMITTED", flush=True)
"""


@pytest.mark.slow
def test_import_killed_mid_transaction_leaves_no_partial_batch(demo_path, tmp_path, admin):
    big = tmp_path / "killed_import.csv"
    duckdb.sql(
        f"COPY (SELECT '{WF}' AS workflow_id, CASE WHEN i % 2 = 0 THEN 'before' ELSE 'after' END AS phase, "
        "TIMESTAMP '2026-01-01' + to_seconds(i) AS measured_at, 10 + i % 17 AS duration_minutes, "
        f"1 AS loops, 0 AS rework_minutes FROM range({KILL_ROWS}) t(i)) TO '{big}' (HEADER)"
    )
    classified = "SELECT * FROM classifications WHERE workflow_id = ?"
    with Store(demo_path) as store:
        samples_before = store.query_one("SELECT count(*) FROM timing_samples")[0]
        classification_before = store.query(classified, [WF])
    size_before = demo_path.stat().st_size
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_CHILD), str(demo_path), str(big)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with selectors.DefaultSelector() as waiting:  # until the child is inside the transaction
            waiting.register(child.stdout, selectors.EVENT_READ)
            marker = child.stdout.readline().split() if waiting.select(timeout=180) else []
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert marker[:1] == ["IN_TRANSACTION"], f"child did not reach the transaction: {child.stderr.read()}"
    assert int(marker[1]) == samples_before + KILL_ROWS  # it had inserted every sample, uncommitted
    assert demo_path.stat().st_size > size_before  # and DuckDB had already written blocks to the file
    with Store(demo_path) as store:
        assert store.query("SELECT count(*) FROM upload_batches WHERE file_name = ?", [big.name]) == [(0,)]
        assert store.query_one("SELECT count(*) FROM timing_samples")[0] == samples_before
        assert store.query("SELECT count(*) FROM audit_log WHERE actor = 'killed@test'") == [(0,)]
        assert store.query(classified, [WF]) == classification_before  # re-estimated, then rolled back
        after_restart = import_timings(store, admin, TICKETS, _tickets())  # and the file still takes writes
        assert after_restart.accepted == 10


def test_event_log_case_with_a_rejected_event_is_rejected_whole_not_shortened(demo, admin, tmp_path):
    log = tmp_path / "events.csv"
    log.write_text(
        "case,at\n"
        "A,2026-11-02 09:00:00\n"
        "A,not a time\n"
        "A,2026-11-02 11:00:00\n"
        "B,2026-11-02 09:00:00\n"
        "B,2026-11-02 09:30:00\n"
    )
    mapping = TimingMapping(
        workflow="sup-ticket-triage",
        case_column="case",
        timestamp_column="at",
        go_live=datetime(2026, 6, 1).date(),
    )
    report = import_timings(demo, admin, log, mapping, dry_run=True)
    assert (report.rows, report.accepted, report.rejected, report.loops_found) == (5, 2, 3, 1)
    assert rejects_of(report) == [
        (2, "case", "case incomplete: another of its events was rejected"),
        (3, "at", "unparseable timestamp"),
        (4, "case", "case incomplete: another of its events was rejected"),
    ]


def test_go_live_day_begins_at_midnight_in_the_mapping_time_zone(demo, admin, tmp_path):
    # 03:00 UTC on go-live day is still the day before in New York (UTC-5 in winter).
    file = tmp_path / "ny.csv"
    file.write_text(
        "opened,closed\n2026-01-15T03:00:00Z,2026-01-15T04:00:00Z\n"
        "2026-01-15T06:00:00Z,2026-01-15T07:00:00Z\n"
    )
    mapping = TimingMapping(
        workflow="sup-ticket-triage",
        start_column="opened",
        end_column="closed",
        go_live=datetime(2026, 1, 15).date(),
        timezone="America/New_York",
    )
    report = import_timings(demo, admin, file, mapping, dry_run=True)
    phases = dict(zip(report.summary.phase, report.summary.samples, strict=True))
    assert phases == {"before": 1, "after": 1}


@pytest.mark.slow  # a 300,000-line file: 1.5 s on a quiet core
def test_rejects_deep_in_a_file_read_in_parallel_keep_their_lines(demo, admin, tmp_path):
    # Read, typed and checked in one statement: the checked table's order is the file's (DuckDB
    # reads it in parallel), so a check failure far down names its own line and value.
    path = tmp_path / "deep.csv"
    duckdb.sql(
        f"COPY (SELECT '{WF}' AS workflow_id,"
        " CASE WHEN i % 2 = 0 THEN 'baseline' ELSE 'with AI' END AS phase,"
        " TIMESTAMP '2026-01-01' + to_seconds(i) AS measured_at,"
        " CASE i WHEN 150001 THEN -3 WHEN 299997 THEN -9 ELSE 10 + i % 17 END AS duration_minutes,"
        " CASE WHEN i = 200002 THEN 'later' ELSE 'x' END AS note"
        f" FROM range(300000) t(i)) TO '{path}' (HEADER)"
    )
    report = import_timings(demo, admin, path, dry_run=True)
    assert (report.rows, report.accepted) == (300_000, 299_998)
    found = report.rejects[["line", "column", "reason", "value"]].values.tolist()
    assert found == [
        [150_003, "duration_minutes", "negative duration", "-3"],  # as written (issue 24)
        [299_999, "duration_minutes", "negative duration", "-9"],
    ]
