"""What a timing upload did (or would do): counts, every reject, a per-phase preview."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from aiops.ingest.checks import Check, all_rejects, evidence_note
from aiops.ingest.mapping import TimingMapping, header_key
from aiops.ingest.reader import Staged, absorbed_lines_notes, source_notes
from aiops.ingest.sniff import SourceFile
from aiops.ingest.timing_sql import Plan
from aiops.report.export import safe_csv

# Rejected records listed in the JSON report (the upload page's table shows as many): with the
# exact count per column and reason, the report stays small when a wrong mapping rejects every
# record (a million listed was 130 MB of JSON); ``write_rejects`` writes every one.
REJECTS_LISTED = 1_000


@dataclass
class TimingReport:
    """What an upload did (or would do): counts, every reject, and a per-phase preview."""

    file_name: str
    sha256: str
    encoding: str
    dialect: str
    mapping: TimingMapping
    rows: int
    accepted: int
    rejects: pd.DataFrame
    loops_found: int
    summary: pd.DataFrame
    distribution: pd.DataFrame
    workflow_ids: list[str]
    duplicate_of: int | None = None
    batch_id: int | None = None  # once committed
    pending_batch: int | None = None  # previewed and written, not yet confirmed (not in the JSON)
    notes: list[str] = field(default_factory=list)
    # Why the upload cannot be committed as mapped (shown at preview; Confirm disabled, commit refuses).
    problems: list[str] = field(default_factory=list)
    # What deserves a look before Confirm (the upload may still be committed).
    warnings: list[str] = field(default_factory=list)
    zero_length: int = 0
    id_column: str | None = None
    replaced: int = 0  # pulled records that replaced their earlier sample (``replacing``)

    @property
    def rejected(self) -> int:
        return len(self.rejects)

    @property
    def duplicate(self) -> bool:
        return self.duplicate_of is not None

    def reject_counts(self) -> list[dict[str, Any]]:
        """Per column and reason: how many records were rejected, and the first one's line."""
        if self.rejects.empty:
            return []
        groups = self.rejects.groupby(["column", "reason"], sort=False).line.agg(["size", "min"])
        return [
            {"column": column, "reason": reason, "records": int(size), "first_line": int(first)}
            for (column, reason), size, first in zip(groups.index, groups["size"], groups["min"], strict=True)
        ]

    def write_rejects(self, path: str | Path) -> None:
        """Every rejected record (line, column, reason, and the value, id and text it carries) as
        CSV, formula-like cells escaped."""
        Path(path).write_text(safe_csv(self.rejects), encoding="utf-8")

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "duplicate": self.duplicate,
            "batch_id": self.batch_id,
            "rejects": [
                {"line": int(r["line"]), "column": r["column"], "reason": r["reason"]}
                | {k: r[k] for k in ("value", "id", "record") if k in r and r[k] is not None and r[k] == r[k]}
                for r in self.rejects.head(REJECTS_LISTED).to_dict("records")
            ],
            "rejects_listed": min(self.rejected, REJECTS_LISTED),
            "reject_counts": self.reject_counts(),
            "loops": self.loops_found,
            "duplicate_of": self.duplicate_of,
            "workflow_ids": self.workflow_ids,
            "mapping": self.mapping.model_dump(mode="json"),
            "encoding": self.encoding,
            "dialect": self.dialect,
            "notes": self.notes,
            "time_kind": self.mapping.kind,
            "phase_only": self.mapping.phase_only,
            "problems": self.problems,
            "warnings": self.warnings,
            "zero_length_loops": self.zero_length,
        }


# Above this share of rejected records, the preview says most of the file was rejected.
MAX_REJECTED_SHARE = 0.2
ID_KEYS = ("id", "key", "number", "ticket", "issue", "case")


def row_id_column(source: SourceFile, columns: dict[str, str]) -> str | None:
    """The column that names a record in its own tool (ticket_id, Issue key, number...), if any."""
    if "case" in columns:
        return columns["case"]
    mapped = set(columns.values())
    for header, column in zip(source.header, source.columns, strict=True):
        key = header_key(header)
        if column not in mapped and (key in ID_KEYS or key.endswith(tuple("_" + k for k in ID_KEYS))):
            return column
    return None


def build_report(
    staged: Staged,
    plan: Plan,
    checked: str,
    accepted: str,
    preview: bool,
    long_loop_minutes: float,
    checks: list[Check] | None = None,
    max_rejected_share: float = MAX_REJECTED_SHARE,
) -> tuple[TimingReport, pd.DataFrame]:
    """The report, and per workflow and phase the figures its checks read (``measurement``):
    samples, loops, first and last measured, and ``long_loops`` (above ``long_loop_minutes``)."""
    cursor = staged.cursor
    id_column = row_id_column(staged.source, plan.columns)
    value_columns = tuple(dict.fromkeys(plan.columns.values()))
    rejects = all_rejects(staged, checked, value_columns=value_columns, id_column=id_column, checks=checks)
    rows = staged.records
    accepted_count = rows - len(rejects)
    # One pass over the accepted rows for every figure the preview and its checks need.
    # The median and the first quartile from one sort (``median`` is ``quantile_cont`` at 0.5).
    query = f"""
        SELECT workflow_id, phase, samples, loops, mean_minutes, q[2] AS median_minutes, q[1] AS q1_minutes,
               first_measured, last_measured, zero_length, long_loops FROM (
            SELECT workflow_id, phase, count(*) AS samples, sum(loops) AS loops,
                   sum(duration_minutes + rework_minutes) / sum(loops) AS mean_minutes,
                   quantile_cont((duration_minutes + rework_minutes) / loops, [0.25, 0.5]) AS q,
                   min(measured_at) AS first_measured, max(measured_at) AS last_measured,
                   count(*) FILTER (WHERE duration_minutes = 0) AS zero_length,
                   coalesce(sum(loops) FILTER (WHERE (duration_minutes + rework_minutes) / loops > $long), 0)
                       AS long_loops
            FROM {accepted} GROUP BY ALL)
        ORDER BY workflow_id, phase DESC"""
    figures = cursor.execute(query, {"long": long_loop_minutes}).df()
    summary = figures.drop(columns=["zero_length", "long_loops", "q1_minutes"])
    distribution = (
        cursor.execute(f"""
            SELECT workflow_id, phase, (duration_minutes + rework_minutes) / loops AS minutes_per_loop
            FROM {accepted} USING SAMPLE reservoir(5000 ROWS) REPEATABLE (7)""").df()
        if preview
        else pd.DataFrame(columns=["workflow_id", "phase", "minutes_per_loop"])
    )
    loops_found, zero_length = int(figures.samples.sum()), int(figures.zero_length.sum())
    notes = source_notes(staged.source) + absorbed_lines_notes(staged, rejects) + evidence_note(len(rejects))
    if plan.mapping.business_hours:
        notes.append("Durations are business hours, not calendar time.")
    notes += [
        f"'{plan.columns[r]}' read as {f.family} timestamps in {f.timezone}" for r, f in plan.formats.items()
    ]
    source = staged.source
    report = TimingReport(
        file_name=source.name,
        sha256=source.sha256,
        encoding=source.encoding,
        dialect=source.dialect.describe(),
        mapping=plan.mapping,
        rows=rows,
        accepted=accepted_count,
        rejects=rejects,
        loops_found=loops_found,
        summary=summary,
        distribution=distribution,
        workflow_ids=sorted(summary.workflow_id.unique().tolist()),
        notes=notes,
        zero_length=zero_length,
        id_column=id_column,
    )
    _judge(report, max_rejected_share)
    return report, figures


def _judge(report: TimingReport, max_rejected_share: float) -> None:
    """What the preview must say before Confirm (the go-live's place in the data is checked in
    ``measurement.phase_problems``)."""
    if report.zero_length:
        report.warnings.append(
            f"{report.zero_length:,} loops last 0 minutes (start and end are equal): check the columns"
        )
    if report.rows == 0:
        report.problems.append("the file has a header and no records: there is nothing to upload")
    report.warnings += _unit_mismatch(report)
    if report.rows and report.rejected / report.rows > max_rejected_share:
        report.warnings.append(
            f"a large share of this file was rejected: {report.rejected:,} of {report.rows:,} records "
            f"({report.rejected / report.rows:.0%}, above {max_rejected_share:.0%}); check the mapping"
        )


_HMS = r"^\s*\d+:\d{1,2}(:\d{1,2}(\.\d+)?)?\s*$"
_NUMBER = r"^\s*[-+]?\d+([.,]\d+)?\s*$"


def _unit_mismatch(report: TimingReport) -> list[str]:
    """Durations rejected because the unit does not fit the column's text: say so with a value,
    rather than leave a lead to read "unparseable" on every row."""
    column, unit = report.mapping.duration_column, report.mapping.unit
    if column is None or report.rejects.empty or "value" not in report.rejects:
        return []
    mine = report.rejects[report.rejects.column == column].value.dropna().astype(str)
    if unit == "hms":
        numbers = mine[mine.str.match(_NUMBER)]
        if len(numbers):
            return [
                f"{len(numbers):,} values of '{column}' are plain numbers (e.g. '{numbers.iloc[0]}'), "
                "not h:mm:ss text: set the unit to seconds, minutes, hours or days"
            ]
        return []
    clocks = mine[mine.str.match(_HMS)]
    if len(clocks):
        return [
            f"{len(clocks):,} values of '{column}' are h:mm:ss durations (e.g. '{clocks.iloc[0]}'), "
            f"not a number of {unit}: set the unit to hms (h:mm:ss text)"
        ]
    return []
