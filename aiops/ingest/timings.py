"""Timing uploads: an export → staging → checks in SQL → preview → one committed batch.

A mapping says where each canonical field comes from: the workflow (a column or one for the whole
file), the loop duration (a column with its unit, start and end timestamps, or an event log's
first and last event per case), the phase (a column or a go-live date), and optionally loops per
row, rework minutes and when the loop was measured. Every record ends up accepted or rejected with
its line, column and reason: accepted + rejected = records in the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from aiops import governance
from aiops.auth import Actor
from aiops.errors import Conflict, MappingError, NotFound
from aiops.ingest.checks import Check, all_rejects, reject_columns
from aiops.ingest.mapping import TimingMapping, Unit, find_column, require_column
from aiops.ingest.presets import preset_name, resolve_preset, save_preset
from aiops.ingest.reader import Staged, drop_staged, quote_ident, sample_csv, sql_literal, stage_csv
from aiops.ingest.sniff import SourceFile, open_source
from aiops.ingest.timestamps import TimestampFormat, detect_format, detect_formats
from aiops.store import Store, Tx

UNIT_MINUTES = {"seconds": 1 / 60, "minutes": 1.0, "hours": 60.0, "days": 1440.0}
PHASE_SYNONYMS = {
    "before": ("before", "baseline", "pre", "pre_ai", "without_ai", "no_ai", "manual", "control"),
    "after": ("after", "post", "post_ai", "with_ai", "ai", "ai_assisted", "assisted", "treatment"),
}
CANONICAL = ("workflow_id", "phase", "measured_at", "duration_minutes", "loops", "rework_minutes")


def canonical_mapping(source: SourceFile) -> TimingMapping | None:
    """The data contract's own columns need no mapping."""
    if not all(find_column(source, c) for c in ("workflow_id", "phase", "measured_at", "duration_minutes")):
        return None
    return TimingMapping(
        workflow_column="workflow_id",
        phase_column="phase",
        measured_at_column="measured_at",
        duration_column="duration_minutes",
        unit="minutes",
        loops_column="loops" if find_column(source, "loops") else None,
        rework_column="rework_minutes" if find_column(source, "rework_minutes") else None,
    )


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

    @property
    def rejected(self) -> int:
        return len(self.rejects)

    @property
    def duplicate(self) -> bool:
        return self.duplicate_of is not None

    def to_json(self) -> dict:
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
        }


# -- SQL building ---------------------------------------------------------------------------------

# Read as NULL (missing) in every column; DuckDB matches them exactly, so the usual spellings.
NULL_MARKERS = (
    "",
    " ",
    "NA",
    "na",
    "N/A",
    "n/a",
    "NULL",
    "null",
    "Null",
    "None",
    "none",
    "NONE",
    "NaN",
    "nan",
    "NAN",
    "NaT",
    "nat",
    "-",
)


def _t(role: str) -> str:
    """The cleaned text of a mapped column (computed once per row, see ``_cleaned``)."""
    return quote_ident(f"t_{role}")


def _cleaned(plan: _Plan, table: str) -> str:
    """Each mapped column under its role's name (null markers were read as NULL already)."""
    columns = ", ".join(f"{quote_ident(column)} AS {_t(role)}" for role, column in plan.columns.items())
    return f"SELECT rowid AS rid{', ' if columns else ''}{columns} FROM {table}"


def _number(text: str, decimal_separator: str) -> str:
    if decimal_separator == ",":
        text = f"replace(replace({text}, '.', ''), ',', '.')"
    return f"TRY_CAST({text} AS DOUBLE)"


def _duration_minutes(text: str, unit: Unit, decimal_separator: str) -> str:
    if unit != "hms":
        return f"({_number(text, decimal_separator)} * {UNIT_MINUTES[unit]})"
    text = f"trim({text})"
    parts = f"string_split(ltrim({text}, '-'), ':')"
    sign = f"CASE WHEN starts_with({text}, '-') THEN -1 ELSE 1 END"  # "-0:30" is negative too
    return (
        f"CASE WHEN regexp_full_match({text}, '-?\\d+:\\d{{1,2}}(:\\d{{1,2}}(\\.\\d+)?)?') THEN "
        f"{sign} * (TRY_CAST({parts}[1] AS DOUBLE) * 60 + TRY_CAST({parts}[2] AS DOUBLE) "
        f"+ coalesce(TRY_CAST({parts}[3] AS DOUBLE), 0) / 60) END"
    )


def _phase(key: str) -> str:
    """``key`` is the phase text lower-cased with spaces and dashes as underscores."""
    cases = " ".join(
        f"WHEN {key} IN ({', '.join(sql_literal(s) for s in synonyms)}) THEN '{phase}'"
        for phase, synonyms in PHASE_SYNONYMS.items()
    )
    return f"CASE {cases} END"


@dataclass
class _Plan:
    """The resolved columns and parsers of one mapping against one file."""

    mapping: TimingMapping
    source: SourceFile
    columns: dict[str, str]
    formats: dict[str, TimestampFormat]
    types: dict[str, str]  # role -> the type DuckDB read it as (VARCHAR unless set)

    def col(self, role: str) -> str:
        return self.columns[role]

    def typed(self, role: str) -> bool:
        return self.types.get(role, "VARCHAR") != "VARCHAR"


STAMP_ROLES = ("start", "end", "timestamp", "measured_at")


def _columns(source: SourceFile, mapping: TimingMapping) -> dict[str, str]:
    """role -> the file's column for every field the mapping names (a clear error if missing)."""
    roles = {
        "workflow": mapping.workflow_column,
        "duration": mapping.duration_column,
        "start": mapping.start_column,
        "end": mapping.end_column,
        "case": mapping.case_column,
        "timestamp": mapping.timestamp_column,
        "phase": mapping.phase_column,
        "loops": mapping.loops_column,
        "rework": mapping.rework_column,
        "measured_at": mapping.measured_at_column,
    }
    return {
        role: require_column(source, wanted, role.replace("_", " "))
        for role, wanted in roles.items()
        if wanted
    }


def _read_types(
    cursor: duckdb.DuckDBPyConnection, source: SourceFile, mapping: TimingMapping, columns: dict[str, str]
) -> dict[str, str]:
    """Which columns DuckDB can parse itself while reading (fast, and a value that does not parse
    rejects its record): numbers, and ISO timestamps read as UTC. Other columns stay text and are
    parsed in SQL after staging (h:mm:ss, day-first dates, a time zone of the mapping)."""
    types = {role: "DOUBLE" for role in ("loops", "rework") if role in columns}
    if "duration" in columns and mapping.unit != "hms":
        types["duration"] = "DOUBLE"
    # An event log keeps its timestamps as text: a bad event must stay visible (with its case id)
    # so its whole case can be rejected rather than silently shortened.
    stamps = {role: columns[role] for role in STAMP_ROLES if role in columns and role != "timestamp"}
    if stamps and mapping.timezone == "UTC":
        sample = sample_csv(cursor, source)
        for role, column in stamps.items():
            found = detect_format(cursor, sample, column, mapping.date_order, mapping.timezone)
            if found is not None and found.family == "iso":
                types[role] = "TIMESTAMPTZ"
        cursor.execute(f"DROP TABLE {sample}")
    return types


def _plan(staged: Staged, mapping: TimingMapping, columns: dict[str, str], types: dict[str, str]) -> _Plan:
    text_stamps = {role: columns[role] for role in STAMP_ROLES if role in columns and role not in types}
    formats = detect_formats(staged.cursor, staged.table, text_stamps, mapping.date_order, mapping.timezone)
    return _Plan(mapping, staged.source, columns, formats, types)


def _ts(plan: _Plan, role: str) -> str:
    if plan.typed(role):
        return f"({_t(role)} AT TIME ZONE 'UTC')"
    return plan.formats[role].sql(_t(role))


def _row_projection(plan: _Plan, max_minutes: float) -> tuple[str, list[Check]]:
    """Per record: the parsed fields, and the checks in the order they are reported."""
    m, decimal = plan.mapping, plan.source.dialect.decimal_separator
    fields = {"rid": "rid"}
    checks: list[Check] = []
    if m.workflow_column:
        fields["workflow_raw"] = _t("workflow")
        checks.append(Check("workflow_raw IS NULL", plan.col("workflow"), "missing value"))
    else:
        fields["workflow_raw"] = sql_literal(m.workflow)
    if m.mode == "duration":
        col = plan.col("duration")
        fields["duration_minutes"] = (
            f"({_t('duration')} * {UNIT_MINUTES[m.unit]})"
            if plan.typed("duration")
            else _duration_minutes(_t("duration"), m.unit, decimal)
        )
        fields["duration_raw"] = _t("duration")
        checks += [
            Check("duration_raw IS NULL", col, "missing value"),
            Check(
                "duration_minutes IS NULL",
                col,
                "unparseable duration (h:mm:ss)" if m.unit == "hms" else "unparseable number",
            ),
        ]
    if m.mode == "span":
        start, end = plan.col("start"), plan.col("end")
        fields |= {
            "started_at": _ts(plan, "start"),
            "ended_at": _ts(plan, "end"),
            "start_raw": _t("start"),
            "end_raw": _t("end"),
        }
        fields["duration_minutes"] = "(epoch_ms(ended_at) - epoch_ms(started_at)) / 60000.0"
        checks += [
            Check("start_raw IS NULL", start, "missing value"),
            Check("started_at IS NULL", start, "unparseable timestamp"),
            Check("end_raw IS NULL", end, "missing value (no end: not finished?)"),
            Check("ended_at IS NULL", end, "unparseable timestamp"),
            Check("ended_at < started_at", end, "end before start"),
        ]
    if m.mode == "events":
        case, stamp = plan.col("case"), plan.col("timestamp")
        fields |= {"case_id": _t("case"), "event_at": _ts(plan, "timestamp"), "event_raw": _t("timestamp")}
        checks += [
            Check("case_id IS NULL", case, "missing value"),
            Check("event_raw IS NULL", stamp, "missing value"),
            Check("event_at IS NULL", stamp, "unparseable timestamp"),
        ]
    else:
        measured = plan.col("duration") if m.mode == "duration" else plan.col("end")
        checks += [
            Check("duration_minutes < 0", measured, "negative duration"),
            Check(
                f"duration_minutes > {max_minutes}",
                measured,
                f"duration above the policy's plausible maximum ({max_minutes:g} minutes)",
            ),
        ]
    if m.measured_at_column:
        col = plan.col("measured_at")
        fields["measured_at"] = _ts(plan, "measured_at")
        fields["measured_raw"] = _t("measured_at")
        checks += [
            Check("measured_raw IS NULL", col, "missing value"),
            Check("measured_at IS NULL", col, "unparseable timestamp"),
        ]
    elif m.mode == "span":
        fields["measured_at"] = "ended_at"
    if m.phase_column:
        col = plan.col("phase")
        fields["phase_raw"] = _t("phase")
        # Exports mostly say before/after already; only other spellings pay for normalizing.
        fields["phase_key"] = (
            "CASE WHEN phase_raw IN ('before', 'after') THEN phase_raw "
            "ELSE replace(replace(lower(trim(phase_raw)), ' ', '_'), '-', '_') END"
        )
        fields["phase"] = _phase("phase_key")
        checks += [
            Check("phase_raw IS NULL", col, "missing value"),
            Check("phase IS NULL", col, "unknown phase (use before/after, baseline/with_ai...)"),
        ]
    fields["loops"] = _count_field(plan, "loops", "1", checks, decimal)
    fields["rework_minutes"] = _count_field(plan, "rework", "0.0", checks, decimal)
    projection = ",\n       ".join(f"{sql} AS {name}" for name, sql in fields.items())
    return projection, checks


def _count_field(plan: _Plan, role: str, default: str, checks: list[Check], decimal: str) -> str:
    if role not in plan.columns:
        return default
    col = plan.col(role)
    number = _t(role) if plan.typed(role) else _number(_t(role), decimal)
    value = f"coalesce({number}, CASE WHEN {_t(role)} IS NULL THEN {default} END)"
    name = "loops" if role == "loops" else "rework_minutes"
    checks.append(Check(f"{name} IS NULL", col, "unparseable number"))
    if role == "loops":
        checks += [
            Check("loops < 1", col, "loops must be at least 1"),
            Check("loops <> floor(loops)", col, "loops must be a whole number"),
        ]
    else:
        checks.append(Check("rework_minutes < 0", col, "negative rework minutes"))
    return value


def _go_live_phase(go_live: date, timestamp: str, timezone: str) -> str:
    """'after' for loops that started on or after go-live day began in the mapping's time zone."""
    day = f"{sql_literal(go_live.isoformat())}::TIMESTAMP"
    start = day if timezone == "UTC" else f"(timezone({sql_literal(timezone)}, {day}) AT TIME ZONE 'UTC')"
    return f"CASE WHEN {timestamp} >= {start} THEN 'after' ELSE 'before' END"


def _workflow_join(checked_columns: str) -> str:
    """Match workflow ids case-insensitively and keep the stored spelling. The file's spellings
    are few: they are matched once, then joined on the exact text."""
    return (
        f"WITH p AS ({checked_columns}), "
        "spelled AS (SELECT s.raw, w.workflow_id, w.department "
        "            FROM (SELECT DISTINCT workflow_raw AS raw FROM p) s "
        "            JOIN workflows w ON lower(w.workflow_id) = lower(trim(s.raw))) "
        "SELECT p.*, spelled.workflow_id, spelled.department FROM p "
        "LEFT JOIN spelled ON spelled.raw = p.workflow_raw"
    )


# -- the import -----------------------------------------------------------------------------------


@dataclass
class TimingImport:
    """An upload read into staging tables on its own cursor, checked, ready to preview/commit."""

    store: Store
    staged: Staged
    plan: _Plan
    accepted_table: str
    report: TimingReport

    def commit(self, actor: Actor, save_preset_as: str | None = None) -> TimingReport:
        """Write the accepted samples as one batch, in one transaction (refused if a duplicate);
        with ``save_preset_as``, the mapping is saved as a preset in that same transaction."""
        if save_preset_as is not None:
            preset_name(save_preset_as)  # a name that cannot be saved stops the upload before it starts
        if self.report.rows == 0:
            raise Conflict(
                "the file has a header but no records: nothing to commit",
                "export again with the rows included",
            )
        if self.report.accepted == 0:
            raise Conflict(
                "no row was accepted: nothing to commit",
                "fix the mapping or the file (see the rejected lines)",
            )
        batch_id = self.store.write(
            actor, lambda tx: self._write(tx, save_preset_as), cursor=self.staged.cursor
        )
        self.report.batch_id = batch_id
        return self.report

    def _write(self, tx: Tx, save_preset_as: str | None) -> int:
        departments = [r[0] for r in tx.query(f"SELECT DISTINCT department FROM {self.accepted_table}")]
        for department in departments:
            tx.actor.require_write(department, "upload timings")
        existing = duplicate_batch(tx, self.report.sha256, self.report.workflow_ids)
        if existing is not None:
            self.report.duplicate_of = existing
            raise Conflict(
                f"this file was already uploaded for {', '.join(self.report.workflow_ids)} "
                f"(batch {existing})",
                f"undo batch {existing} first if you mean to replace it",
            )
        batch_id = tx.query(
            "INSERT INTO upload_batches (uploaded_at, actor, file_name, file_sha256, workflow_ids,"
            " mapping, rows_total, accepted, rejected) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING batch_id",
            [
                tx.now,
                tx.actor.name,
                self.report.file_name,
                self.report.sha256,
                self.report.workflow_ids,
                self.report.mapping.model_dump_json(),
                self.report.rows,
                self.report.accepted,
                self.report.rejected,
            ],
        )[0][0]
        tx.execute(
            "INSERT INTO timing_samples SELECT ?, workflow_id, phase, measured_at, duration_minutes,"
            f" loops, rework_minutes FROM {self.accepted_table}",
            [batch_id],
        )
        tx.audit(
            "upload.committed",
            "batch",
            str(batch_id),
            {
                "file_name": self.report.file_name,
                "sha256": self.report.sha256,
                "rows": self.report.rows,
                "accepted": self.report.accepted,
                "rejected": self.report.rejected,
                "workflow_ids": self.report.workflow_ids,
                "mapping": self.report.mapping.model_dump(mode="json"),
            },
        )
        governance.reclassify(tx, self.report.workflow_ids)
        if save_preset_as is not None:
            save_preset(tx, save_preset_as, self.report.mapping)
        return batch_id


def duplicate_batch(db: Tx | Store, sha256: str, workflow_ids: list[str]) -> int | None:
    row = db.query_one(
        "SELECT min(batch_id) FROM upload_batches WHERE file_sha256 = ? AND undone_at IS NULL "
        "AND len(list_intersect(workflow_ids, ?::VARCHAR[])) > 0",
        [sha256, workflow_ids],
    )
    return row[0] if row else None


@contextmanager
def open_timing_import(
    store: Store,
    path: str | Path,
    mapping: TimingMapping | None = None,
    name: str | None = None,
    preview: bool = False,
    preset: str | None = None,
    loop: str | None = None,
    answers: dict[str, object] | None = None,
) -> Iterator[TimingImport]:
    """Read and check an export; yield the import for preview and commit; drop staging after.

    The mapping is given, or a ``preset`` (a name, or ``auto`` to recognise the file) is applied
    with the user's ``answers`` (workflow, go-live...), or the file is in the canonical format.
    ``preview`` adds a sample of minutes per loop for the before/after chart."""
    with open_source(path, name, max_bytes=store.max_upload_bytes) as source:
        notes = []
        if preset:
            mapping, why = resolve_preset(store, preset, source.header, loop, answers or {})
            notes.append(why[:1].upper() + why[1:] + ".")
        mapping = mapping or _require_canonical(source)
        columns = _columns(source, mapping)
        cursor = store.new_cursor()
        try:
            types = _read_types(cursor, source, mapping, columns)
            staged = stage_csv(cursor, source, {columns[r]: t for r, t in types.items()}, NULL_MARKERS)
        except BaseException:
            cursor.close()
            raise
        try:
            upload = _check(store, staged, _plan(staged, mapping, columns, types), preview)
            upload.report.notes[:0] = notes
            yield upload
        except duckdb.Error as e:
            raise MappingError(
                f"the mapping does not fit this file: {str(e).splitlines()[0]}", "check the columns and units"
            ) from e
        finally:
            drop_staged(staged)
            cursor.close()


def _require_canonical(source: SourceFile) -> TimingMapping:
    mapping = canonical_mapping(source)
    if mapping is None:
        raise MappingError(
            f"{source.name} is not in the canonical timings format ({', '.join(CANONICAL)})",
            "map its columns (--workflow/--workflow-column, --duration-column or --start-column/"
            "--end-column, --phase-column or --go-live) or pick a preset",
        )
    return mapping


def _check(store: Store, staged: Staged, plan: _Plan, preview: bool) -> TimingImport:
    mapping = plan.mapping
    if (
        mapping.workflow
        and store.query_one("SELECT 1 FROM workflows WHERE lower(workflow_id) = lower(?)", [mapping.workflow])
        is None
    ):
        raise NotFound(f"no workflow '{mapping.workflow}'", "register it first, or pick another")
    projection, checks = _row_projection(plan, store.policy.evidence.max_loop_minutes)
    checked = f"{staged.table}_checked"
    accepted = f"{staged.table}_accepted"
    cursor = staged.cursor
    if mapping.mode == "events":
        _check_events(
            cursor,
            staged,
            plan,
            projection,
            checks,
            checked,
            accepted,
            store.policy.evidence.max_loop_minutes,
        )
    else:
        phase_ref = "started_at" if mapping.mode == "span" else "measured_at"
        phase = _go_live_phase(mapping.go_live, phase_ref, mapping.timezone) if mapping.go_live else "phase"
        checks.append(Check("workflow_id IS NULL", plan.columns.get("workflow", ""), "unknown workflow"))
        # Only the typed fields and the verdict are stored; the raw texts live in the query.
        cursor.execute(
            f"CREATE TEMP TABLE {checked} AS SELECT rid, workflow_id, department, final_phase,"
            " measured_at, duration_minutes, TRY_CAST(loops AS BIGINT) AS loops, rework_minutes,"
            " reject_column, reject_reason"
            f" FROM (SELECT *, {phase} AS final_phase, {reject_columns(checks)} FROM ("
            f"{_workflow_join(f'SELECT {projection} FROM ({_cleaned(plan, staged.table)})')}))"
        )
        # A view, not a copy: the commit reads the accepted rows straight from the checked table.
        cursor.execute(
            f"CREATE TEMP VIEW {accepted} AS SELECT workflow_id, department, final_phase AS phase,"
            f" measured_at, duration_minutes, loops, rework_minutes FROM {checked} "
            f"WHERE reject_reason IS NULL"
        )
    report = _report(staged, plan, checked, accepted, preview)
    return TimingImport(store, staged, plan, accepted, report)


def _check_events(
    cursor: duckdb.DuckDBPyConnection,
    staged: Staged,
    plan: _Plan,
    projection: str,
    checks: list[Check],
    checked: str,
    accepted: str,
    max_minutes: float,
) -> None:
    """Event log: events are checked one by one, then each case becomes one loop from its first
    to its last event; a case that fails as a whole rejects each of its events."""
    m = plan.mapping
    checks.append(Check("workflow_id IS NULL", plan.columns.get("workflow", ""), "unknown workflow"))
    events = f"{checked}_events"
    cursor.execute(
        f"CREATE TEMP TABLE {events} AS SELECT *, {reject_columns(checks)} FROM ("
        f"{_workflow_join(f'SELECT {projection} FROM ({_cleaned(plan, staged.table)})')})"
    )
    first_phase = (
        "arg_min(phase, event_at) FILTER (WHERE reject_reason IS NULL)" if m.phase_column else "NULL"
    )
    cursor.execute(f"""
        CREATE TEMP TABLE {accepted}_cases AS
        SELECT case_id, min(workflow_id) AS workflow_id, min(department) AS department,
               min(event_at) FILTER (WHERE reject_reason IS NULL) AS started_at,
               max(event_at) FILTER (WHERE reject_reason IS NULL) AS measured_at,
               (epoch_ms(max(event_at) FILTER (WHERE reject_reason IS NULL))
                - epoch_ms(min(event_at) FILTER (WHERE reject_reason IS NULL))) / 60000.0 AS duration_minutes,
               {first_phase} AS phase_of_first, count(DISTINCT workflow_id) AS workflows,
               count(*) FILTER (WHERE reject_reason IS NOT NULL) AS rejected_events
        FROM {events} WHERE case_id IS NOT NULL GROUP BY case_id""")
    phase = _go_live_phase(m.go_live, "started_at", m.timezone) if m.go_live else "phase_of_first"
    case_checks = reject_columns(
        [
            # A loop is measured from all of its events or not at all: never silently shortened.
            Check(
                "rejected_events > 0", plan.col("case"), "case incomplete: another of its events was rejected"
            ),
            Check("workflows > 1", plan.columns.get("workflow", ""), "case spans several workflows"),
            Check(
                f"duration_minutes > {max_minutes}",
                plan.col("timestamp"),
                f"case lasts above the policy's plausible maximum ({max_minutes:g} minutes)",
            ),
        ]
    )
    cursor.execute(
        f"CREATE TEMP TABLE {accepted}_checked_cases AS SELECT *, {phase} AS phase, "
        f"{case_checks} FROM {accepted}_cases"
    )
    cursor.execute(f"""
        CREATE TEMP TABLE {checked} AS
        SELECT e.rid, coalesce(e.reject_column, c.reject_column) AS reject_column,
               coalesce(e.reject_reason, c.reject_reason) AS reject_reason
        FROM {events} e LEFT JOIN {accepted}_checked_cases c USING (case_id)""")
    cursor.execute(f"""
        CREATE TEMP TABLE {accepted} AS
        SELECT workflow_id, department, phase, measured_at, duration_minutes,
               1::BIGINT AS loops, 0.0 AS rework_minutes
        FROM {accepted}_checked_cases WHERE reject_reason IS NULL""")


def _report(staged: Staged, plan: _Plan, checked: str, accepted: str, preview: bool) -> TimingReport:
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


def import_timings(
    store: Store,
    actor: Actor,
    path: str | Path,
    mapping: TimingMapping | None = None,
    *,
    dry_run: bool = False,
    name: str | None = None,
    preset: str | None = None,
    loop: str | None = None,
    answers: dict[str, object] | None = None,
) -> TimingReport:
    """Check an export and, unless ``dry_run``, commit its accepted rows as one batch."""
    with open_timing_import(store, path, mapping, name, preset=preset, loop=loop, answers=answers) as upload:
        if dry_run:
            return upload.report
        return upload.commit(actor)


# -- batches --------------------------------------------------------------------------------------


def list_batches(db: Store) -> pd.DataFrame:
    return db.query_df(
        "SELECT batch_id, uploaded_at, actor, file_name, workflow_ids, rows_total, accepted, rejected, "
        "coalesce((mapping->>'business_hours')::BOOLEAN, false) AS business_hours, undone_at, undone_by, "
        "file_sha256 FROM upload_batches ORDER BY batch_id DESC"
    )


def undo_batch(store: Store, actor: Actor, batch_id: int) -> int:
    """Remove a batch's samples as a whole (audited); returns how many samples went."""

    def run(tx: Tx) -> int:
        row = tx.query_one(
            "SELECT workflow_ids, undone_at FROM upload_batches WHERE batch_id = ?", [batch_id]
        )
        if row is None:
            raise NotFound(f"no batch {batch_id}", "see `aiops timings batches`")
        workflow_ids, undone_at = row
        if undone_at is not None:
            raise Conflict(f"batch {batch_id} was already undone at {undone_at:%Y-%m-%d %H:%M}")
        for (department,) in tx.query(
            "SELECT DISTINCT department FROM workflows WHERE workflow_id IN (SELECT unnest(?))",
            [workflow_ids],
        ):
            tx.actor.require_write(department, "undo uploads")
        removed = tx.query("SELECT count(*) FROM timing_samples WHERE batch_id = ?", [batch_id])[0][0]
        tx.execute("DELETE FROM timing_samples WHERE batch_id = ?", [batch_id])
        tx.execute(
            "UPDATE upload_batches SET undone_at = ?, undone_by = ? WHERE batch_id = ?",
            [tx.now, tx.actor.name, batch_id],
        )
        tx.audit(
            "upload.undone",
            "batch",
            str(batch_id),
            {"samples_removed": removed, "workflow_ids": list(workflow_ids)},
        )
        governance.reclassify(tx, list(workflow_ids))
        return removed

    return store.write(actor, run)


def batch_mapping(store: Store, batch_id: int) -> TimingMapping:
    row = store.query_one("SELECT mapping FROM upload_batches WHERE batch_id = ?", [batch_id])
    if row is None:
        raise NotFound(f"no batch {batch_id}")
    return TimingMapping.model_validate(json.loads(row[0]))
