"""The SQL compiler of a timing upload: a mapping against one file becomes a plan (columns,
timestamp formats), then one projection that parses every field of a record and the checks
that reject it, in the order they are reported.

Every column is read as text and parsed here (``TRY_CAST``; timestamps by their detected
format): a value that does not parse fails its check like any other. Typed by DuckDB's reader
instead, it became an entry of the reader's rejects table, about 20 µs each — a file whose every
duration is text (a wrong mapping) took 20 s a million records, and DuckDB 1.5's parallel reader
lost some of them (see ``reader.stage_csv``); DuckDB 1.5's reader also turns an unparseable
TIMESTAMPTZ into NULL without a reject."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from aiops.ingest.checks import Check
from aiops.ingest.mapping import TimingMapping, Unit, go_live_utc, require_column
from aiops.ingest.measurement import loop_labels
from aiops.ingest.reader import Staged
from aiops.ingest.sniff import SourceFile
from aiops.ingest.timestamps import TimestampFormat, detect_formats
from aiops.sql import quote_ident, sql_literal

UNIT_MINUTES = {"seconds": 1 / 60, "minutes": 1.0, "hours": 60.0, "days": 1440.0}
PHASE_SYNONYMS = {
    "before": ("before", "baseline", "pre", "pre_ai", "without_ai", "no_ai", "manual", "control"),
    "after": ("after", "post", "post_ai", "with_ai", "ai", "ai_assisted", "assisted", "treatment"),
}

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


def role_text(role: str) -> str:
    """The cleaned text of a mapped column (computed once per row, see ``cleaned_rows``)."""
    return quote_ident(f"t_{role}")


def cleaned_rows(plan: Plan, table: str, rid: str = "rowid", extra: dict[str, str] | None = None) -> str:
    """Each mapped column under its role's name (null markers were read as NULL already), and
    the ``extra`` columns (name -> the file's column) under theirs."""
    named = {role_text(role): column for role, column in plan.columns.items()} | (extra or {})
    columns = "".join(f", {quote_ident(column)} AS {name}" for name, column in named.items())
    return f"SELECT {rid} AS rid{columns} FROM {table}"


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
    """``key`` is the phase text lower-cased with spaces and dashes as underscores. Synonyms are
    looked up with ``list_contains``: DuckDB plans a long ``IN (...)`` list as a join over every
    row (0.17 s of a 1M-row upload), even where the text is already before/after."""
    cases = " ".join(
        f"WHEN list_contains([{', '.join(sql_literal(s) for s in synonyms)}], {key}) THEN '{phase}'"
        for phase, synonyms in PHASE_SYNONYMS.items()
    )
    return f"CASE WHEN {key} = 'before' OR {key} = 'after' THEN {key} {cases} END"


@dataclass
class Plan:
    """The resolved columns and parsers of one mapping against one file."""

    mapping: TimingMapping
    source: SourceFile
    columns: dict[str, str]
    formats: dict[str, TimestampFormat]

    def col(self, role: str) -> str:
        return self.columns[role]


STAMP_ROLES = ("start", "end", "timestamp", "measured_at")


def mapped_columns(source: SourceFile, mapping: TimingMapping) -> dict[str, str]:
    """role -> the file's column for every field the mapping names (a clear error if missing)."""
    return {
        role: require_column(source, wanted, role.replace("_", " "))
        for role, wanted in mapping.roles().items()
    }


def text_stamps(columns: dict[str, str]) -> dict[str, str]:
    """role -> column of the timestamp columns (their format is detected)."""
    return {role: columns[role] for role in STAMP_ROLES if role in columns}


def make_plan(staged: Staged, mapping: TimingMapping, columns: dict[str, str]) -> Plan:
    stamps = text_stamps(columns)
    formats = detect_formats(staged.cursor, staged.table, stamps, mapping.date_order, mapping.timezone)
    return Plan(mapping, staged.source, columns, formats)


def _ts(plan: Plan, role: str) -> str:
    return plan.formats[role].sql(role_text(role))


def row_projection(plan: Plan, max_minutes: float) -> tuple[str, list[Check]]:
    """Per record: the parsed fields, and the checks in the order they are reported."""
    m, decimal = plan.mapping, plan.source.dialect.decimal_separator
    fields = {"rid": "rid"}
    checks: list[Check] = []
    if m.workflow_column:
        fields["workflow_raw"] = role_text("workflow")
        checks.append(Check("workflow_raw IS NULL", plan.col("workflow"), "missing value"))
    else:
        fields["workflow_raw"] = "$workflow::VARCHAR"
    if m.mode == "duration":
        col = plan.col("duration")
        fields["duration_minutes"] = _duration_minutes(role_text("duration"), m.unit, decimal)
        fields["duration_raw"] = role_text("duration")
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
            "start_raw": role_text("start"),
            "end_raw": role_text("end"),
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
        fields |= {
            "case_id": role_text("case"),
            "event_at": _ts(plan, "timestamp"),
            "event_raw": role_text("timestamp"),
        }
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
        fields["measured_raw"] = role_text("measured_at")
        checks += [
            Check("measured_raw IS NULL", col, "missing value"),
            Check("measured_at IS NULL", col, "unparseable timestamp"),
        ]
    elif m.mode == "span":
        fields["measured_at"] = "ended_at"
    if m.phase_column:
        col = plan.col("phase")
        fields["phase_raw"] = role_text("phase")
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
    fields |= loop_labels(plan.columns, role_text, checks)
    projection = ",\n       ".join(f"{sql} AS {name}" for name, sql in fields.items())
    return projection, checks


def _count_field(plan: Plan, role: str, default: str, checks: list[Check], decimal: str) -> str:
    if role not in plan.columns:
        return default
    col = plan.col(role)
    number = _number(role_text(role), decimal)
    value = f"coalesce({number}, CASE WHEN {role_text(role)} IS NULL THEN {default} END)"
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


def mapping_params(mapping: TimingMapping) -> dict[str, object]:
    """The user's values that the compiled SQL names (``$workflow``...): always bound, never
    inlined; pass ``aiops.sql.bound(sql, mapping_params(m))`` with each statement."""
    go_live = mapping.go_live
    return {
        "workflow": mapping.workflow or "",
        "timezone": mapping.timezone,
        "phase_only": mapping.phase_only,
        "go_live": None if go_live is None else (go_live_utc(go_live) or go_live).isoformat(),
    }


def go_live_phase(go_live: date | datetime, timestamp: str, timezone: str) -> str:
    """'after' for loops that started on or after go-live (a day begins at midnight) in the
    mapping's time zone, or at the go-live's own offset when it has one."""
    moment = "$go_live::TIMESTAMP"  # bound: see ``mapping_params``
    start = (
        moment
        if go_live_utc(go_live) is not None or timezone == "UTC"
        else f"(timezone($timezone, {moment}) AT TIME ZONE 'UTC')"
    )
    return f"CASE WHEN {timestamp} >= {start} THEN 'after' ELSE 'before' END"


def workflow_join(checked_columns: str) -> str:
    """Match workflow ids case-insensitively and keep the stored spelling. The file's spellings
    are few: they are matched once, then joined on the exact text."""
    return (
        f"WITH p AS ({checked_columns}), "
        # One workflow per spelling, the first written, even where case-twins were stored before
        # identities were case-insensitive: a sample is never stored in both.
        "spelled AS (SELECT s.raw, arg_min(w.workflow_id, w.created_at) AS workflow_id, "
        "            arg_min(w.department, w.created_at) AS department "
        "            FROM (SELECT DISTINCT workflow_raw AS raw FROM p) s "
        "            JOIN workflows w ON identity_key(w.workflow_id) = identity_key(s.raw) GROUP BY s.raw) "
        "SELECT p.*, spelled.workflow_id, spelled.department FROM p "
        "LEFT JOIN spelled ON spelled.raw = p.workflow_raw"
    )
