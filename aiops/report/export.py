"""CSV and JSON exports. Cells a spreadsheet would run as a formula are escaped."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from aiops.errors import AiopsError
from aiops.store import Reader
from aiops.workflow_reads import load_workflows

# A cell starting with one of these runs as a formula in Excel, Sheets or LibreOffice.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A spreadsheet may split a file on another separator than the one it was written with (Excel in
# most European locales splits on `;`), or on a line break inside a cell: then the text after a `,`,
# `;`, tab, `|` or line break inside a cell starts a cell of its own. A formula character there,
# or at the cell's start, after any spaces or quotes (which a reader drops), gets a `'` before it.
_FORMULA_IN_ANY_POSITION = re.compile(r"((?:^|[,;\t|\r\n])[ \"]*)(?=[=+\-@])")


def escape_cell(value: object) -> object:
    """A text cell that would run as a formula in any field position made inert: `'` before each
    formula character that could start a cell, so spreadsheets show the text as typed."""
    if not isinstance(value, str):
        return value
    value = _FORMULA_IN_ANY_POSITION.sub(r"\1'", value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def safe_csv(frame: pd.DataFrame) -> str:
    """The frame as CSV text with every formula-like cell (and header) escaped, and every text cell
    quoted (a quoted cell stays one cell whichever separator a spreadsheet splits on)."""
    escaped = frame.rename(columns=escape_cell).map(escape_cell)
    return escaped.to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC)


def write_rows_csv(path: Path, header: list[str], rows: Iterable[dict[str, Any]]) -> int:
    """The data contract's ``header`` (plain names, as written) and ``rows``, every text cell
    escaped and quoted."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerow(header)
        writer = csv.DictWriter(f, fieldnames=header, quoting=csv.QUOTE_NONNUMERIC)
        for row in rows:
            writer.writerow({k: escape_cell(v) for k, v in row.items()})
            count += 1
    return count


def export_workflows(db: Reader, path: Path) -> int:
    """All workflows in the data contract's columns (CSV, lists joined with `;`) or as JSON."""
    workflows = load_workflows(db)
    if path.suffix.lower() == ".json":
        path.write_text(
            json.dumps([w.model_dump() for w in workflows], ensure_ascii=False, indent=2), encoding="utf-8"
        )
        return len(workflows)
    if path.suffix.lower() != ".csv":
        raise AiopsError(f"cannot export to {path.name}", "use a .csv or .json file name")
    rows = [w.to_row() for w in workflows]
    header = list(workflows[0].to_row()) if workflows else []
    return write_rows_csv(path, header, rows)
