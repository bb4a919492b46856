"""What a timing upload did (or would do): counts, every reject, a per-phase preview."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from aiops.ingest.checks import all_rejects
from aiops.ingest.mapping import TimingMapping
from aiops.ingest.reader import Staged
from aiops.ingest.timing_sql import Plan


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
    batch_id: int | None = None
    notes: list[str] = field(default_factory=list)
    # Why the upload cannot be committed as mapped (shown at preview; commit refuses).
    problems: list[str] = field(default_factory=list)
    # What the upload will be flagged for once committed (it may still be committed).
    warnings: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejects)

    @property
    def duplicate(self) -> bool:
        return self.duplicate_of is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "duplicate": self.duplicate,
            "batch_id": self.batch_id,
            "rejects": [
                {"line": int(r.line), "column": r.column, "reason": r.reason}
                for r in self.rejects.itertuples(index=False)
            ],
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
        }


def build_report(staged: Staged, plan: Plan, checked: str, accepted: str, preview: bool) -> TimingReport:
    cursor = staged.cursor
    rejects = all_rejects(staged, checked)
    rows = staged.records
    accepted_count = rows - len(rejects)
    summary = cursor.execute(f"""
        SELECT workflow_id, phase, count(*) AS samples, sum(loops) AS loops,
               sum(duration_minutes + rework_minutes) / sum(loops) AS mean_minutes,
               median((duration_minutes + rework_minutes) / loops) AS median_minutes,
               min(measured_at) AS first_measured, max(measured_at) AS last_measured
        FROM {accepted} GROUP BY ALL ORDER BY workflow_id, phase DESC""").df()
    distribution = (
        cursor.execute(f"""
            SELECT workflow_id, phase, (duration_minutes + rework_minutes) / loops AS minutes_per_loop
            FROM {accepted} USING SAMPLE reservoir(5000 ROWS) REPEATABLE (7)""").df()
        if preview
        else pd.DataFrame(columns=["workflow_id", "phase", "minutes_per_loop"])
    )
    loops_found = cursor.execute(f"SELECT count(*) FROM {accepted}").fetchall()[0][0]
    notes = []
    if plan.mapping.business_hours:
        notes.append("Durations are business hours, not calendar time.")
    notes += [
        f"'{plan.columns[r]}' read as {f.family} timestamps in {f.timezone}" for r, f in plan.formats.items()
    ]
    source = staged.source
    return TimingReport(
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
    )
