"""One pass over a timing upload: read, type and check every record in one statement.

DuckDB's ``read_csv`` feeds the projection of ``timing_sql`` directly (no staging copy of the
file's text): the table it fills holds, per record in file order, the typed fields, the first
failing check's column and reason, and for a rejected record its offending value and id. Workflow
ids are matched after, once per spelling (few), and a record naming no registered workflow gets
the last check's reject. The commit copies the accepted rows. Event logs, whose loops span
records, are staged first (``events``).
"""

from __future__ import annotations

import contextlib

import duckdb

from aiops.errors import MappingError
from aiops.ingest.checks import Check, first_failure
from aiops.ingest.guards import check_workflow_column
from aiops.ingest.mapping import TimingMapping
from aiops.ingest.measurement import fixed_phase
from aiops.ingest.reader import Staged, sample_csv, stage_csv
from aiops.ingest.sniff import SourceFile
from aiops.ingest.timestamps import SAMPLE, TimestampFormat, detect_formats
from aiops.ingest.timing_report import row_id_column
from aiops.ingest.timing_sql import (
    NULL_MARKERS,
    Plan,
    cleaned_rows,
    go_live_phase,
    mapping_params,
    role_text,
    row_projection,
    text_stamps,
)
from aiops.sql import quote_ident
from aiops.store import Cursor

ID_TEXT = '"t_row_id"'


def sampled_formats(
    cursor: Cursor, source: SourceFile, mapping: TimingMapping, stamps: dict[str, str]
) -> dict[str, TimestampFormat]:
    """Timestamp formats from the file's first records; only when those are not all ISO (or
    leave the date order open) are the timestamp columns of every record read to decide."""
    if not stamps:
        return {}
    wanted = tuple(dict.fromkeys(stamps.values()))
    for columns in (None, wanted):
        table = sample_csv(cursor, source, SAMPLE * 10, NULL_MARKERS, columns)
        try:
            formats = detect_formats(cursor, table, stamps, mapping.date_order, mapping.timezone)
            if columns or (
                all(f.family == "iso" for f in formats.values()) and _sample_decides(cursor, table, wanted)
            ):
                return formats
        except MappingError:
            if columns:
                raise
        finally:
            with contextlib.suppress(duckdb.Error):
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
    raise AssertionError("unreachable: the second read returns or raises")


def _sample_decides(cursor: Cursor, table: str, columns: tuple[str, ...]) -> bool:
    """Whether the first records decide as the whole file would: they are the whole file, or every
    one of them has each timestamp (so the sample holds each column's first values, which is what
    the format is detected from). A column empty in the first records is read whole."""
    filled = ", ".join(f"count(nullif(trim({quote_ident(c)}), ''))" for c in columns)
    total, *counts = cursor.execute(f"SELECT count(*), {filled} FROM {table}").fetchall()[0]
    return bool(total < SAMPLE * 10 or all(n == total for n in counts))


def read_checked(
    cursor: Cursor,
    source: SourceFile,
    mapping: TimingMapping,
    columns: dict[str, str],
    max_minutes: float,
    record_ids: bool = False,
) -> tuple[Staged, Plan, str, list[Check]]:
    """Read and check the file in one statement; return the checked table (as ``Staged``), the
    plan, the name of the view of its accepted rows (stored workflow ids) and the checks (the
    table keeps each rejected record's check by number: see ``checks.all_rejects``). With
    ``record_ids`` the accepted rows keep each record's id in its tool (``record_id``)."""
    id_column = row_id_column(source, columns)
    if record_ids and id_column is None:
        raise MappingError("the records carry no id column", "pulled records name their id in the tool")
    formats = sampled_formats(cursor, source, mapping, text_stamps(columns))
    plan = Plan(mapping, source, columns, formats)
    projection, checks = row_projection(plan, max_minutes)
    phase_ref = "started_at" if mapping.mode == "span" else "measured_at"
    phase = go_live_phase(mapping.go_live, phase_ref, mapping.timezone) if mapping.go_live else "phase"
    phase = fixed_phase(mapping) or phase
    role_of = {column: role for role, column in columns.items()}
    values = " ".join(
        f"WHEN {k} THEN CAST({role_text(role_of[c.column])} AS VARCHAR)"
        for k, c in enumerate(checks, start=1)
        if c.column in role_of
    )
    # Only what the commit copies and a reject reports is kept, narrow (10M rows stay in memory):
    # the phase as a flag, the failed check's number, the optional fields only when mapped, and
    # a record's id when it is rejected or may be (its workflow is matched after).
    labels: list[str] = [c for c in ("ai_assisted", "segment") if c in columns]
    kept = list(labels)
    keep_id = "TRUE" if mapping.workflow_column or record_ids else "reject_check IS NOT NULL"
    if id_column:
        kept.append(f"CASE WHEN {keep_id} THEN CAST({ID_TEXT} AS VARCHAR) END AS reject_id")
    texts = "".join(f", {role_text(role)}" for role in columns) + (f", {ID_TEXT}" if id_column else "")
    reject_value = f"CASE reject_check {values} END" if values else "NULL::VARCHAR"

    def select(rows: str) -> str:
        cleaned = cleaned_rows(plan, rows, rid="NULL", extra={ID_TEXT: id_column} if id_column else None)
        return (
            "SELECT workflow_raw, final_phase = 'after' AS is_after, measured_at, duration_minutes,"
            " TRY_CAST(loops AS BIGINT) AS loops, rework_minutes, reject_check,"
            f" {reject_value} AS reject_value{''.join(', ' + k for k in kept)}"
            f" FROM (SELECT *, {phase} AS final_phase, {first_failure(checks)} AS reject_check"
            f" FROM (SELECT {projection}{texts} FROM ({cleaned})))"
        )

    params = mapping_params(mapping)
    staged = stage_csv(cursor, source, NULL_MARKERS, select=select, values=params)
    raws = f"{staged.table}_raws"
    cursor.execute(
        f"CREATE TEMP TABLE {raws} AS SELECT DISTINCT workflow_raw AS raw FROM {staged.table}"
        " WHERE workflow_raw IS NOT NULL"
    )
    if "workflow" in columns:
        check_workflow_column(cursor, raws, columns["workflow"], "raw")
    checks.append(Check("", columns.get("workflow", ""), "unknown workflow"))
    accepted = _match_workflows(staged, raws, len(checks), labels, record_ids)
    return staged, plan, accepted, checks


def _match_workflows(staged: Staged, raws: str, unknown: int, labels: list[str], record_ids: bool) -> str:
    """Match each spelling of a workflow id once (case-insensitively; the stored spelling, the
    first written where case-twins were stored before identities were case-insensitive); reject
    records naming none (check number ``unknown``). Returns the view of the accepted rows (their
    stored workflow ids; the ``labels`` of ai_assisted and segment that the file maps)."""
    cursor, table = staged.cursor, staged.table
    spelled, accepted = f"{table}_spelled", f"{table}_accepted"
    cursor.execute(
        f"CREATE TEMP TABLE {spelled} AS SELECT s.raw, arg_min(w.workflow_id, w.created_at) AS workflow_id,"
        " arg_min(w.department, w.created_at) AS department"
        f" FROM {raws} s"
        " JOIN workflows w ON identity_key(w.workflow_id) = identity_key(s.raw) GROUP BY s.raw"
    )
    spellings, matched, renamed = cursor.execute(
        f"SELECT (SELECT count(*) FROM {raws}), count(*), count(*) FILTER (WHERE raw <> workflow_id)"
        f" FROM {spelled}"
    ).fetchall()[0]
    if matched < spellings:
        cursor.execute(
            f"UPDATE {table} SET reject_check = $unknown, reject_value = workflow_raw"
            f" WHERE reject_check IS NULL"
            f" AND NOT EXISTS (SELECT 1 FROM {spelled} s WHERE s.raw = workflow_raw)",
            {"unknown": unknown},
        )
    ai = "c.ai_assisted" if "ai_assisted" in labels else "NULL::BOOLEAN"
    segment = "c.segment" if "segment" in labels else "NULL::VARCHAR"
    # Files mostly spell ids as stored: then the accepted rows are read without a join.
    workflow, join = "c.workflow_raw", ""
    if renamed:
        workflow, join = "s.workflow_id", f" JOIN {spelled} s ON s.raw = c.workflow_raw"
    cursor.execute(
        f"CREATE TEMP VIEW {accepted} AS SELECT {workflow} AS workflow_id,"
        " CASE WHEN c.is_after THEN 'after' WHEN NOT c.is_after THEN 'before' END AS phase,"
        " c.measured_at, c.duration_minutes, c.loops, c.rework_minutes,"
        f" {ai} AS ai_assisted, {segment} AS segment{', c.reject_id AS record_id' if record_ids else ''}"
        f" FROM {table} c{join} WHERE c.reject_check IS NULL"
    )
    return accepted
