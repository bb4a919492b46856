"""CSV exports neutralise formulas in every field position (issue 25, item 8): a spreadsheet that
splits the file on `;` (Excel in most European locales) or on a line break must find no formula
cell, whichever cell of the export the text sits in."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiops.inventory import save_workflow
from aiops.report.export import escape_cell, export_workflows, safe_csv
from tests.conftest import answered_workflow

HOSTILE = [
    "x;=1+2",
    "x,=1+2",
    'x; "=HYPERLINK(""http://evil.example"")',
    "a\n=cmd|' /C calc'!A0",
    "a\t+1",
    "ok; @SUM(A1)",
    "-2+3",
    "x|=1",
]


def _formula_cells(text: str, delimiter: str) -> list[str]:
    """Cells a spreadsheet splitting on ``delimiter`` (or on each line, ignoring quotes) would run."""
    split_lines = [line.split(delimiter) for line in text.splitlines()]
    parsed = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    cells = [c for row in parsed + split_lines for c in row]
    return [c for c in cells if c.strip('"').startswith(("=", "+", "-", "@")) and not _number(c)]


def _number(cell: str) -> bool:
    try:
        float(cell.strip('"'))
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_cli_export_has_no_formula_cell_read_with_either_separator(store, admin, tmp_path, delimiter):
    for n, text in enumerate(HOSTILE):
        save_workflow(
            store, admin, answered_workflow(workflow_id=f"wf-{n}", name=text, owner=text, success_metric=text)
        )
    out = tmp_path / "workflows.csv"
    export_workflows(store, out)
    assert _formula_cells(out.read_text("utf-8"), delimiter) == []


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_download_csv_has_no_formula_cell_read_with_either_separator(delimiter):
    frame = pd.DataFrame({"name": HOSTILE, "=header;=x": range(len(HOSTILE)), "cost": -1.5})
    assert _formula_cells(safe_csv(frame), delimiter) == []


@given(st.lists(st.text(alphabet=st.sampled_from(list("ab =+-@;,\t\n\"'|1")), max_size=12), max_size=6))
def test_no_generated_cell_becomes_a_formula(cells):
    text = safe_csv(pd.DataFrame({"text": cells}, dtype=object))
    for delimiter in (",", ";", "\t", "|"):
        assert _formula_cells(text, delimiter) == []


def test_escaping_keeps_plain_text_as_typed():
    assert escape_cell("Drafts - reviewed by Ann; weekly") == "Drafts - reviewed by Ann; weekly"
    assert escape_cell("x;=1+2") == "x;'=1+2"
    assert escape_cell(3.5) == 3.5
