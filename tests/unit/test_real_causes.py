"""Errors that name the real cause (issue 24): a time zone, a date order and a unit that do not
fit are each refused or flagged by their own message with the value given, never blamed on the
columns."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from aiops.auth import Actor
from aiops.cli import main
from aiops.errors import IngestError, MappingError
from aiops.ingest.timings import TimingMapping, import_timings, open_timing_import

WF = "sup-ticket-triage"
ADMIN = Actor(name="admin@test", role="admin")
BASE = {"workflow": WF, "start_column": "start", "end_column": "end", "go_live": "2024-02-01"}


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize("zone", ["Mars/Phobos", "CET+1"])
def test_an_unknown_time_zone_is_named_with_how_to_write_one(zone):
    expected = re.escape(f"time zone '{zone}' is not known: give a zone name such as")
    with pytest.raises(ValidationError, match=expected):
        TimingMapping(**BASE, timezone=zone)


def test_a_time_zone_in_any_case_is_the_engines_spelling():
    assert TimingMapping(**BASE, timezone="europe/paris").timezone == "Europe/Paris"


@pytest.mark.parametrize("zone", ["Mars/Phobos", "CET+1"])
def test_the_cli_names_the_time_zone_not_the_columns(capsys, demo_path, tmp_path, zone):
    path = _file(tmp_path, "start,end\n2024-01-01 09:00,2024-01-01 10:00\n")
    code = main(["timings", "import", str(path), "--workflow", WF, "--start-column", "start",
                 "--end-column", "end", "--go-live", "2024-02-01", "--timezone", zone,
                 "--db", str(demo_path), "--dry-run"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and f"time zone '{zone}' is not known" in err
    assert "another kind" not in err


def test_a_date_order_the_data_contradicts_is_refused_with_a_value(demo, tmp_path):
    path = _file(
        tmp_path, "start,end\n25/01/2024 09:00,25/01/2024 10:00\n13/03/2024 09:00,13/03/2024 10:00\n"
    )
    with pytest.raises(MappingError) as refused:
        import_timings(demo, ADMIN, path, TimingMapping(**BASE, date_order="mdy"), dry_run=True)
    assert refused.value.message == (
        "the dates in 'start' are day first (dmy, 03/04 = 3 April): '25/01/2024 09:00' cannot be "
        "month first, as the date order given says"
    )
    assert refused.value.hint == "set the date order to dmy, or let the data decide"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("date_order", "ymd", "date order 'ymd' is not known: day first (dmy"),
        ("unit", "weeks", "unit 'weeks' is not known: seconds, minutes, hours, days or hms"),
    ],
)
def test_an_unknown_date_order_or_unit_is_named(field, value, message):
    fields = {**BASE, field: value}
    if field == "unit":
        fields = {"workflow": WF, "duration_column": "d", "measured_at_column": "s", "go_live": "2024-02-01",
                  "unit": value}  # fmt: skip
    with pytest.raises(ValidationError, match=message.replace("(", r"\(")):
        TimingMapping(**fields)


@pytest.mark.parametrize(
    ("unit", "cells", "warning"),
    [
        ("minutes", ("1:30:00", "0:45:10"), "2 values of 'dur' are h:mm:ss durations (e.g. '1:30:00'), "
         "not a number of minutes: set the unit to hms (h:mm:ss text)"),
        ("hms", ("5", "7"), "2 values of 'dur' are plain numbers (e.g. '5'), not h:mm:ss text: set the "
         "unit to seconds, minutes, hours or days"),
    ],
)  # fmt: skip
def test_a_unit_that_does_not_fit_the_durations_is_named_with_a_value(demo, tmp_path, unit, cells, warning):
    path = _file(tmp_path, f"at,dur\n2024-01-25 09:00,{cells[0]}\n2024-03-13 09:00,{cells[1]}\n")
    mapping = TimingMapping(
        workflow=WF, duration_column="dur", measured_at_column="at", unit=unit, go_live="2024-02-01"
    )
    report = import_timings(demo, ADMIN, path, mapping, dry_run=True)
    assert warning in report.warnings


def test_a_header_only_file_says_so_and_blocks_the_upload(demo, tmp_path):
    path = _file(tmp_path, "start,end\n")
    with open_timing_import(demo, path, TimingMapping(**BASE)) as upload:
        assert upload.report.problems == ["the file has a header and no records: there is nothing to upload"]


def test_json_lines_are_refused_with_a_sentence(demo, tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_text('{"start": "2024-01-01"}\n')
    with pytest.raises(
        IngestError, match=r"export.jsonl is JSON Lines \(one object per line\), which is not read"
    ):
        import_timings(demo, ADMIN, path, TimingMapping(**BASE), dry_run=True)


def test_a_dry_run_prints_n_and_mean_per_phase(capsys, demo_path, tmp_path):
    path = _file(
        tmp_path,
        "start,end\n2024-01-01 09:00,2024-01-01 10:00\n2024-01-02 09:00,2024-01-02 09:30\n"
        "2024-03-01 09:00,2024-03-01 09:20\n",
    )
    code = main(["timings", "import", str(path), "--workflow", WF, "--start-column", "start",
                 "--end-column", "end", "--go-live", "2024-02-01", "--db", str(demo_path),
                 "--dry-run"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert f"  {WF} before: n 2, mean 45.0 min/loop (median 45.0)" in out
    assert f"  {WF} after: n 1, mean 20.0 min/loop (median 20.0)" in out
