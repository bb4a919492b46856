"""Every consumer of the workflow frame's columns goes through the one registry (aiops.columns): help
texts are the declared meanings, the board pack's rows and CSV are declared columns of compatible
kinds, the dashboard's money columns are declared, and the templates' headers are the declared input
columns."""

from __future__ import annotations

import csv
import io
from dataclasses import fields
from datetime import datetime
from typing import get_type_hints

import pytest

from aiops.columns import BY_NAME, Kind
from aiops.ingest.csv_templates import TIMINGS_TEMPLATE, WORKFLOWS_TEMPLATE
from aiops.ingest.recognise import CANONICAL
from aiops.ingest.workflows import import_workflows
from aiops.report import board
from aiops.report.format import CONCEPTS, DEFINITIONS, definition
from aiops.views.columns import HOURS_AT_RISK, HOURS_RETURNED, SAMPLES, SAVED_PER_LOOP
from aiops.workflow import FIELDS
from ui.columns import MONEY, estimate_columns, money_columns, money_frame_columns, sample_columns

# The Python type a WorkflowRow field holds for each kind (a number of any other kind: float | None).
FIELD_TYPES: dict[Kind, object] = {
    Kind.TEXT: str,
    Kind.CODES: tuple[str, ...],
    Kind.FLAG: bool,
    Kind.COUNT: int,
    Kind.TIME: datetime | None,
}


def test_a_concept_is_never_a_frame_column_so_no_meaning_is_written_twice():
    assert not set(CONCEPTS) & set(BY_NAME)


def test_every_definition_of_a_frame_column_is_its_declared_meaning():
    for name, text in DEFINITIONS.items():
        assert text == (BY_NAME[name].meaning if name in BY_NAME else CONCEPTS[name])


@pytest.mark.parametrize("estimate", [SAVED_PER_LOOP, HOURS_RETURNED])
def test_an_estimate_column_is_helped_by_its_meaning_and_a_total_by_its_concept(estimate):
    value = estimate[0]
    assert estimate_columns(estimate, "label", "%.1f")[value]["help"] == BY_NAME[value].meaning
    totals = estimate_columns(HOURS_AT_RISK, "hours at risk", "%.0f")
    assert totals[HOURS_AT_RISK[0]]["help"] == CONCEPTS["hours_at_risk"]


def test_sample_and_money_columns_are_helped_by_their_meanings():
    for name, config in sample_columns().items():
        assert name in SAMPLES and config["help"] == BY_NAME[name].meaning
    configs = money_columns("EUR", *MONEY)
    for name in MONEY:
        assert configs[name]["help"] == definition(name) == BY_NAME[name].meaning
    assert set(money_frame_columns(*MONEY)) <= set(BY_NAME)


def test_each_board_row_field_is_a_declared_column_of_a_compatible_kind():
    hints = get_type_hints(board.WorkflowRow)
    for f in fields(board.WorkflowRow):
        kind = BY_NAME[f.name].kind  # a KeyError names a field that is not a frame column
        assert hints[f.name] == FIELD_TYPES.get(kind, float | None), (f.name, kind)


def test_the_board_csv_lists_declared_row_fields_and_keeps_the_frame_s_names():
    assert set(board.BOARD_CSV_COLUMNS) <= set(board.ROW_COLUMNS)
    assert "period_loops_after" in board.BOARD_CSV_COLUMNS  # not renamed for the CSV


def test_the_timings_template_header_is_the_canonical_columns():
    rows = list(csv.reader(io.StringIO(TIMINGS_TEMPLATE)))
    assert tuple(rows[0]) == CANONICAL
    assert len(rows) == 3 and all(len(row) == len(CANONICAL) for row in rows)


def test_the_workflows_template_lists_every_column_of_the_sheet_and_imports(store, admin, tmp_path):
    rows = list(csv.reader(io.StringIO(WORKFLOWS_TEMPLATE)))
    assert tuple(rows[0]) == FIELDS and len(rows) == 2 and len(rows[1]) == len(FIELDS)
    sheet = tmp_path / "workflows.csv"
    sheet.write_text(WORKFLOWS_TEMPLATE)
    report = import_workflows(store, admin, sheet)
    assert (report.accepted, report.rejected) == (1, 0)
