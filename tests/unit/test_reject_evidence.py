"""Rejects keep their evidence (issue 24): for every line ending and every reason, the record's
own text (cut at 200 characters) and the id column's value; values as the file writes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops.auth import Actor
from aiops.ingest.timings import TimingMapping, import_timings
from aiops.ingest.workflows import read_workflows

ADMIN = Actor(name="admin@test", role="admin")
MAPPING = TimingMapping(
    workflow="sup-ticket-triage", duration_column="dur", measured_at_column="at", go_live="2024-02-01"
)
ROWS = [
    "ticket_id,at,dur",
    "T-1,2024-01-25 09:00,5",
    "T-2,2024-01-26 09:00,abc",
    "T-3,2024-03-13 09:00,7",
    "T-4,2024-03-14 09:00,-5",
    "T-5,2024-03-15 09:00,1,2,3",
]


def _rejects(demo, tmp_path: Path, ending: str) -> list[dict]:
    path = tmp_path / "t.csv"
    path.write_bytes((ending.join(ROWS) + ending).encode())
    report = import_timings(demo, ADMIN, path, MAPPING, dry_run=True)
    return report.to_json()["rejects"]


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_every_reject_keeps_its_record_and_id_whatever_the_line_ending(demo, tmp_path, ending):
    assert _rejects(demo, tmp_path, ending) == [
        {"line": 3, "column": "dur", "reason": "unparseable number", "value": "abc", "id": "T-2",
         "record": "T-2,2024-01-26 09:00,abc"},
        {"line": 5, "column": "dur", "reason": "negative duration", "value": "-5", "id": "T-4",
         "record": "T-4,2024-03-14 09:00,-5"},
        {"line": 6, "column": "(whole record)", "reason": "wrong field count (too many fields)", "id": "T-5",
         "record": "T-5,2024-03-15 09:00,1,2,3"},
    ]  # fmt: skip


def test_a_long_record_is_cut_at_200_characters(demo, tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(
        "ticket_id,at,dur,note\nT-1,2024-01-25 09:00,5,x\nT-9,2024-03-13 09:00,abc," + "y" * 500 + "\n"
    )
    (reject,) = import_timings(demo, ADMIN, path, MAPPING, dry_run=True).to_json()["rejects"]
    assert reject["record"].startswith("T-9,2024-03-13 09:00,abc,yyy") and len(reject["record"]) == 200
    assert reject["id"] == "T-9"


def test_a_workflows_sheet_reject_keeps_its_record(store, tmp_path):
    path = tmp_path / "w.csv"
    path.write_bytes(b"workflow_id,name,department\r\nok-1,Fine,Ops\r\n,No id,Ops\r\n")
    rejects = read_workflows(store, path).rejects
    assert rejects[["line", "reason", "record"]].to_dict("records") == [
        {"line": 3, "reason": "missing value", "record": ",No id,Ops"}
    ]
