"""Every record is read or rejected at any size, and a wrong mapping's report stays small.

DuckDB 1.5's parallel CSV reader silently stops at a buffer boundary when the record across it and
the next one are malformed (see ``reader.stage_csv``): everything after is lost, rejects and good
records alike. The file that shows it has to cross the reader's first buffer (32 MiB), so the test
that reads it is marked slow (about 5 s)."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from aiops.auth import Actor
from aiops.errors import IngestError
from aiops.ingest import checks, reader
from aiops.ingest.timings import import_timings, open_timing_import
from tests.conftest import run_cli

ADMIN = Actor(name="admin@test", role="admin")
HEADER = "workflow_id,phase,measured_at,duration_minutes,loops,rework_minutes\n"
GOOD = "sup-ticket-triage,before,2024-01-10 09:00:00,12.5,1,0.0\n"
WIDE = "sup-ticket-triage,before,2024-01-10 09:00:00,12.5,1,0,0\n"  # as long, one field too many
BUFFER = 4 * reader.MAX_LINE_BYTES  # DuckDB 1.5.5's read buffer: four times the maximum line size


def malformed_pair_across_the_buffer(path: Path, after: int = 1000) -> tuple[int, list[int]]:
    """A canonical file of one-line records whose record across the reader's first buffer boundary
    and the next are malformed: (its records, the two lines)."""
    assert len(GOOD) == len(WIDE)
    crossing = (BUFFER - len(HEADER)) // len(GOOD)  # the record (from 0) the boundary falls in
    assert len(HEADER) + crossing * len(GOOD) < BUFFER  # inside it, not at its start
    records = crossing + 2 + after
    body = GOOD * crossing + WIDE * 2 + GOOD * after
    path.write_text(HEADER + body)
    return records, [crossing + 2, crossing + 3]  # line 1 is the header


@pytest.fixture(scope="module")
def boundary_file(tmp_path_factory) -> tuple[Path, int, list[int]]:
    path = tmp_path_factory.mktemp("boundary") / "timings.csv"
    records, lines = malformed_pair_across_the_buffer(path)
    return path, records, lines


@pytest.mark.slow
def test_duckdb_loses_the_records_after_a_malformed_pair_across_its_buffer(boundary_file):
    # The fact the reader works around: if an upgrade fixes it, the single-threaded re-read of a
    # short read (reader.stage_csv) never runs, and this test says so.
    path, records, _ = boundary_file
    con = duckdb.connect()
    parsed = con.execute(
        "SELECT count(*) FROM read_csv(?, header=true, auto_detect=false, store_rejects=true,"
        f" max_line_size={reader.MAX_LINE_BYTES}, columns=?)",
        [str(path), {c: "VARCHAR" for c in HEADER.strip().split(",")}],
    ).fetchall()[0][0]
    rejected = con.execute("SELECT count(*) FROM reject_errors").fetchall()[0][0]
    assert parsed + rejected < records - 500  # the 1,000 records after the pair are gone


@pytest.mark.slow
def test_every_record_across_the_buffer_is_read_or_rejected(demo, boundary_file):
    path, records, lines = boundary_file
    with open_timing_import(demo, path) as upload:
        report = upload.report
    assert report.rows == records
    assert report.accepted + report.rejected == records
    assert report.rejects.line.tolist() == lines
    assert set(report.rejects.reason) == {"wrong field count (too many fields)"}


def wrong_mapping(path: Path, records: int) -> None:
    """A canonical file whose every duration is text (a status column mapped as the duration)."""
    rows = (
        f"sup-ticket-triage,{('before', 'after')[i % 2]},2024-01-{1 + i % 28:02d} 09:00:00,done,1,0\n"
        for i in range(records)
    )
    path.write_text(HEADER + "".join(rows))


def test_a_wrong_mapping_lists_the_first_rejects_counts_each_and_writes_every_one(
    capsys, demo_path, tmp_path
):
    path, written = tmp_path / "t.csv", tmp_path / "rejects.csv"
    wrong_mapping(path, 1500)
    _, payload, _ = run_cli(
        capsys, "timings", "import", str(path), "--db", str(demo_path), "--dry-run", "--json",
        "--rejects-out", str(written),
    )  # fmt: skip
    assert (payload["rows"], payload["accepted"], payload["rejected"]) == (1500, 0, 1500)
    assert len(payload["rejects"]) == payload["rejects_listed"] == 1000
    assert [r["line"] for r in payload["rejects"]] == list(range(2, 1002))
    assert payload["reject_counts"] == [
        {"column": "duration_minutes", "reason": "unparseable number", "records": 1500, "first_line": 2}
    ]
    with written.open(encoding="utf-8", newline="") as f:
        every = list(csv.DictReader(f))
    assert [int(r["line"]) for r in every] == list(range(2, 1502))
    assert {r["value"] for r in every} == {"done"}


def test_rejects_past_the_first_ones_keep_line_reason_and_value_without_their_text(
    demo, tmp_path, monkeypatch
):
    monkeypatch.setattr(checks, "EVIDENCE_KEPT", 100)
    path = tmp_path / "t.csv"
    wrong_mapping(path, 300)
    report = import_timings(demo, ADMIN, path, dry_run=True)
    assert report.rejected == 300 and report.rejects.value.eq("done").all()
    assert report.rejects.record.notna().tolist() == [True] * 100 + [False] * 200
    assert report.rejects.record[0] == "sup-ticket-triage,before,2024-01-01 09:00:00,done,1,0"
    assert "The first 100 rejected records carry their own text; the other 200 are listed" in " ".join(
        report.notes
    )


def test_a_read_that_stays_short_stops_the_import(demo, tmp_path, monkeypatch):
    # Should the single-threaded reader lose records too, the counts would not add up: refused.
    monkeypatch.setattr(reader, "unread_records", lambda staged: 7)
    path = tmp_path / "t.csv"
    path.write_text(HEADER + GOOD * 20)
    with pytest.raises(IngestError, match="7 records of the file were neither read nor rejected"):
        import_timings(demo, ADMIN, path, dry_run=True)
