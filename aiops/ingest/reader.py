"""Read a sniffed file into a DuckDB staging table, with malformed records kept as rejects.

``read_csv`` runs with explicit options (no auto-detection), every column as text (the caller
parses values in SQL: see ``timing_sql``), and
``store_rejects`` so a record with the wrong number of fields is reported, never dropped.
Line numbers are physical lines of the file (what a text editor shows), computed in SQL only
when some record is rejected.
"""

from __future__ import annotations

import contextlib
import csv
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from aiops.errors import IngestError
from aiops.ingest.failures import read_failure
from aiops.ingest.sniff import SourceFile, allow_long_fields
from aiops.sql import bound, quote_ident
from aiops.store import Cursor

MAX_LINE_BYTES = 8 * 1024 * 1024
# Rejected records whose own text is kept as evidence (the first, by line; parse rejects and failed
# checks each): a wrong mapping rejects every record, and reading back a million records' text (and
# their values from it) took half a minute, longer than the import itself.
EVIDENCE_KEPT = 10_000
_REJECT_REASONS = {
    "TOO MANY COLUMNS": "wrong field count (too many fields)",
    "MISSING COLUMNS": "wrong field count (too few fields)",
    "UNQUOTED VALUE": "malformed quoting",
    "LINE SIZE OVER MAXIMUM": "line too long",
    "INVALID ENCODING": "invalid characters",
    "INVALID STATE": "malformed quoting",
}


@dataclass
class Staged:
    """A staging table: one text row per parsed record, in file order (``rowid``)."""

    cursor: Cursor
    table: str
    source: SourceFile
    parsed: int
    parse_rejects: pd.DataFrame  # line, column, reason, duckdb_byte, csv_line (the record's text)
    # The header and each record on a line of their own (counted by ``unread_records``): record k
    # (from 1) starts on line k + 1, and no pass over the file's text is needed to say so.
    one_line_records: bool = field(default=False, init=False)
    _starts_built: bool = field(default=False, init=False, repr=False)
    _lines_built: bool = field(default=False, init=False, repr=False)

    @property
    def records(self) -> int:
        return self.parsed + len(self.parse_rejects)

    def line_table(self) -> str:
        """A temp table (rowid, line): the physical line each staged row starts on."""
        name = f"{self.table}_lines"
        if not self._lines_built and self.one_line_records:
            self.cursor.execute(
                f"CREATE TEMP TABLE {name} AS SELECT row_number() OVER (ORDER BY line) - 1 AS rowid,"
                f" line FROM range(2, ? + 2) t(line) WHERE line NOT IN (SELECT unnest(?::BIGINT[]))",
                [self.records, self.parse_rejects.line.tolist()],
            )
            self._lines_built = True
        if not self._lines_built:
            starts = _record_starts(self)
            self.cursor.execute(
                f"CREATE TEMP TABLE {name} AS SELECT row_number() OVER (ORDER BY line) - 1 AS rowid,"
                f" line FROM {starts} WHERE ordinal >= 1"
                f" AND line NOT IN (SELECT unnest(?::BIGINT[]))",
                [self.parse_rejects.line.tolist()],
            )
            self._lines_built = True
        return name


def read_options(
    source: SourceFile, null_markers: tuple[str, ...] = (), parallel: bool = True
) -> tuple[str, dict[str, object]]:
    """Explicit read_csv options for a sniffed file (nothing left to DuckDB's own detection), as
    SQL naming parameters and their values (bound, never inlined): ``read_csv($path, {sql})``.
    ``parallel=False``: DuckDB's single-threaded reader (see ``stage_csv``)."""
    values: dict[str, object] = {
        "path": str(source.path),
        "delim": source.dialect.delimiter,
        "quote": source.dialect.quote,
        "columns": {c: "VARCHAR" for c in source.columns},
    }
    options = [
        "delim=$delim",
        "quote=$quote",
        "escape=$quote",
        "header=true",
        "auto_detect=false",
        "columns=$columns",
        f"max_line_size={MAX_LINE_BYTES}",
    ]
    if source.dialect.newline == "\r\n":
        # Said explicitly: DuckDB otherwise takes a line feed inside a quoted header cell as the
        # record terminator of a CRLF file and reads no record at all.
        options.append("new_line='\\r\\n'")
    if source.longest_line > MAX_LINE_BYTES:
        # DuckDB skips a line longer than its buffer without a word: a buffer that holds it makes
        # the line a counted reject ("line too long").
        options.append(f"buffer_size={int(source.longest_line) + (1 << 20)}")
    if source.short_records:
        # Records that omit trailing fields read them as empty (as pandas and Python's csv do);
        # DuckDB pads only with its single-threaded reader when quoted fields span lines.
        options += ["null_padding=true", "parallel=false"]
    else:
        options.append("null_padding=false" + ("" if parallel else ", parallel=false"))
    if null_markers:
        options.append("nullstr=$nullstr")
        values["nullstr"] = list(null_markers)
    return ", ".join(options), values


NOT_CSV, NOT_CSV_HINT = (
    "the file could not be read as CSV",
    "check that it is a CSV export; nothing was written",
)


def stage_csv(
    cursor: Cursor,
    source: SourceFile,
    null_markers: tuple[str, ...] = (),
    select: Callable[[str], str] | None = None,
    values: dict[str, object] | None = None,
) -> Staged:
    """Read the whole file into a staging table, every column as text; a record with the wrong
    number of fields (or malformed quoting, a line too long) is rejected. ``select`` (given the
    file's records as a relation, the SQL over them, with its named ``values``) may type and check
    every record in the same statement: one pass over the file; the table keeps the records'
    order (its ``rowid`` is the record's ordinal). It is a function, not a template, so no header
    can be mistaken for a placeholder.

    Every record is read or rejected: DuckDB 1.5's parallel reader silently stops at a buffer
    boundary (every 8-32 MB) when the record across it and the next are malformed, losing the
    rest of the file with or without a reject recorded (tests/unit/test_rejects_at_scale.py).
    The records read are counted against the file's own (``unread_records``); a short read is
    read again with the single-threaded reader, which loses none; should that fall short too,
    the import stops."""
    table = f"staged_{uuid.uuid4().hex[:12]}"
    read = (cursor, source, null_markers, select, values, table)
    # A file that shows malformed records in its first lines is read single-threaded at once (a
    # file whose every record is malformed would be read twice); short records need that reader.
    parallel = not (source.short_records or source.wide_records)
    staged = _stage(*read, parallel=parallel)
    unread = unread_records(staged)
    if unread and parallel:
        _drop(cursor, table, ("", "_rejects", "_rejects_scan"))  # the record starts stay: same file
        starts_built = staged._starts_built
        staged = _stage(*read, parallel=False)
        staged._starts_built = starts_built
        unread = unread_records(staged)
    if unread:
        drop_staged(staged)
        raise IngestError(
            f"{unread:,} records of the file were neither read nor rejected by the reader",
            "nothing was written; split the file and upload the parts",
        )
    if len(staged.parse_rejects):
        _physical_lines_for_rejects(staged)
    if source.malformed_lines:
        _add_malformed(staged)
    return staged


def _stage(
    cursor: Cursor,
    source: SourceFile,
    null_markers: tuple[str, ...],
    select: Callable[[str], str] | None,
    values: dict[str, object] | None,
    table: str,
    parallel: bool,
) -> Staged:
    """One read of the file into ``table`` (reject lines as DuckDB counts them)."""
    rejects = f"{table}_rejects"
    options, read_values = read_options(source, null_markers, parallel)
    read_values |= {"rejects": rejects, "rejects_scan": rejects + "_scan"} | (values or {})
    rows = (
        f"read_csv($path, {options}, store_rejects=true, rejects_table=$rejects, rejects_scan=$rejects_scan)"
    )
    statement = f"CREATE TEMP TABLE {table} AS " + (select(rows) if select else f"SELECT * FROM {rows}")
    try:
        cursor.execute(statement, bound(statement, read_values))
    except duckdb.Error as e:
        if select is not None and _readable(cursor, source, null_markers):
            raise  # the file reads: the failure is in the checks (the caller names it)
        raise read_failure(e, NOT_CSV, NOT_CSV_HINT) from e
    try:
        parsed = cursor.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        # One reject per record: DuckDB may report several errors for it (even under two line
        # numbers); the byte where the record starts identifies it. Its text only for the first
        # EVIDENCE_KEPT (a million of them held 0.4 GB that no report shows).
        raw = cursor.execute(
            "SELECT line, line_byte_position, column_name, error_type, CASE WHEN row_number()"
            " OVER (ORDER BY line, line_byte_position) <= ? THEN csv_line END AS csv_line"
            f" FROM {rejects} QUALIFY row_number() OVER (PARTITION BY line_byte_position ORDER BY line) = 1"
            " ORDER BY line, line_byte_position",
            [EVIDENCE_KEPT],
        ).df()
    except duckdb.Error as e:
        raise read_failure(e, NOT_CSV, NOT_CSV_HINT) from e
    reasons = [_REJECT_REASONS.get(kind, str(kind).lower()) for kind in raw.error_type]
    rejects_frame = pd.DataFrame(
        {
            "line": raw.line.astype("int64"),
            "column": raw.column_name.fillna("(whole record)"),
            "reason": pd.Series(reasons, dtype=object),
            "duckdb_byte": raw.line_byte_position.astype("int64"),
            "csv_line": raw.csv_line,
        }
    ).reset_index(drop=True)
    return Staged(cursor, table, source, parsed, rejects_frame)


def unread_records(staged: Staged) -> int:
    """How many of the file's records DuckDB neither read nor rejected. One record per physical
    line after the header (most files) is checked by counting line feeds; otherwise (cells over
    several lines, blank lines) the records are counted where they start (``_record_starts``,
    which the reject lines need anyway)."""
    if staged.records + 1 == staged.source.line_count:
        staged.one_line_records = staged.source.json_origin is None  # a JSON record's line is its brace's
        return 0
    starts = _record_starts(staged)
    counted = staged.cursor.execute(f"SELECT count(*) FROM {starts} WHERE ordinal >= 1").fetchall()[0][0]
    return max(0, counted - staged.records)


def _readable(cursor: Cursor, source: SourceFile, null_markers: tuple[str, ...]) -> bool:
    """Whether the file reads with these options at all (rejected records aside)."""
    options, values = read_options(source, null_markers)
    try:
        cursor.execute(f"SELECT count(*) FROM read_csv($path, {options}, store_rejects=true)", values)
    except duckdb.Error:
        return False
    return True


def _add_malformed(staged: Staged) -> None:
    """Records the rewrite of a file with mixed line breaks found malformed (not given to DuckDB):
    rejects, as DuckDB rejects an unclosed quote in an LF file."""
    lines = staged.source.malformed_lines
    malformed = pd.DataFrame(
        {
            "line": pd.Series(lines, dtype="int64"),
            "column": "(whole record)",
            "reason": "malformed quoting",
            "duckdb_byte": pd.Series([-1] * len(lines), dtype="int64"),
            "csv_line": pd.Series([None] * len(lines), dtype=object),
        }
    )
    frames = [f for f in (staged.parse_rejects, malformed) if len(f)]
    staged.parse_rejects = (
        pd.concat(frames, ignore_index=True).sort_values("line", kind="stable").reset_index(drop=True)
    )


def short_record_lines(source: SourceFile) -> list[int]:
    """The physical line where each record that omits trailing fields starts (read as empty), for
    the note that says so. One pass of Python's csv module, only over a file the sniffer saw
    short records in."""
    if not source.short_records:
        return []
    width, lines, line = len(source.header), [], 0
    allow_long_fields()
    with source.path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=source.dialect.delimiter, quotechar=source.dialect.quote)
        for row in reader:
            if line and 1 < len(row) < width:  # a one-cell line is a footer, not a record to pad
                lines.append(line + 1)
            line = reader.line_num
    return lines


def source_notes(source: SourceFile) -> list[str]:
    """What the reader did that the user should know, in plain words."""
    notes = []
    short = short_record_lines(source)
    if short:
        shown = ", ".join(map(str, short[:10])) + (", …" if len(short) > 10 else "")
        notes.append(
            f"{len(short):,} record{'s have' if len(short) > 1 else ' has'} fewer fields than the "
            f"header (as many tools write), on line{'s' if len(short) > 1 else ''} {shown}: "
            "the missing trailing fields were read as empty."
        )
    if source.cr_only:
        notes.append("Old-Mac line endings (CR only) were read as line breaks.")
    if source.mixed_breaks:
        notes.append(
            "Line breaks are mixed (CR, LF, CRLF): each one outside quotes ended a record, "
            "as spreadsheet tools read it."
        )
    return notes


# A rejected record over this many physical lines most likely holds a stray quote: the lines after it
# were read as the text of one cell. (A quoted cell over two lines is common; a legitimate one over
# three that is also rejected is rare, and the note then says only what happened.)
ABSORBED_LINES = 3


def absorbed_lines_notes(staged: Staged, rejects: pd.DataFrame) -> list[str]:
    """A note for each rejected record that runs over ``ABSORBED_LINES`` or more physical lines: a
    quote opened on its first line closes only lines later, or never, so the lines it absorbed are
    neither records nor rejects of their own, and the counts alone do not show it."""
    if rejects.empty or staged.source.json_origin is not None:
        return []
    physical = staged.source.line_count
    if staged.records + 1 >= physical:  # the header and each record on one line: nothing absorbed
        return []
    # The next record's start, by an ASOF join over a registered frame: a correlated subquery per
    # reject was quadratic (750,000 rejects: minutes), and so is an ASOF join over unnest(?) (100,000
    # lines: 90 s on DuckDB 1.5.5); only spans of several lines come back.
    starts = _record_starts(staged)
    staged.cursor.register("reject_lines", rejects[["line"]].drop_duplicates().astype("int64"))
    try:
        spans = staged.cursor.execute(
            f"SELECT r.line, s.line - 1 FROM reject_lines r ASOF LEFT JOIN {starts} s ON r.line < s.line"
            " WHERE s.line IS NULL OR s.line - r.line >= ? ORDER BY 1",
            [ABSORBED_LINES],
        ).fetchall()
    finally:
        staged.cursor.unregister("reject_lines")
    quote, notes = staged.source.dialect.quote, []
    for line, last in spans:
        end = physical if last is None else last
        if end - line + 1 >= ABSORBED_LINES:
            closes = "is never closed" if last is None else f"closes only on line {end}"
            notes.append(
                f"The rejected record on line {line} runs over {end - line + 1} lines, to line {end}: a quote"
                f" ({quote}) opened on line {line} {closes}, so those lines were read as one record. If"
                " the quote is a stray, remove it and upload the file again."
            )
    return notes


def sample_csv(
    cursor: Cursor,
    source: SourceFile,
    rows: int = 2000,
    null_markers: tuple[str, ...] = (),
    columns: tuple[str, ...] | None = None,
) -> str:
    """The first ``rows`` records as text, in a temporary table (reading stops early); with
    ``columns``, only those, from every record (the whole file is read)."""
    table = f"sample_{uuid.uuid4().hex[:12]}"
    try:
        # ignore_errors is safe here: the sample only shows formats; nothing is counted from it.
        options, values = read_options(source, null_markers=null_markers)
        picked = ", ".join(quote_ident(c) for c in columns) if columns else "*"
        limit = "" if columns else f" LIMIT {int(rows)}"
        cursor.execute(
            f"CREATE TEMP TABLE {table} AS SELECT {picked} "
            f"FROM read_csv($path, {options}, ignore_errors=true){limit}",
            values,
        )
    except duckdb.Error as e:
        raise read_failure(e, NOT_CSV, NOT_CSV_HINT) from e
    return table


_RECORD_STARTS = """
CREATE TEMP TABLE {name} AS
WITH raw AS (SELECT string_split(content, chr(10)) AS parts FROM read_text($path)),
numbered AS (SELECT generate_subscripts(parts, 1) AS line, unnest(parts) AS l FROM raw),
measured AS (
    SELECT line, l,
           coalesce(sum(strlen(l) + 1) OVER prior, 0) AS byte_offset,
           coalesce(sum(length(l) - length(replace(l, $quote, ''))) OVER prior, 0) AS quotes_before
    FROM numbered
    WINDOW prior AS (ORDER BY line ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
)
SELECT line, byte_offset, row_number() OVER (ORDER BY line) - 1 AS ordinal
FROM measured
WHERE quotes_before % 2 = 0 AND l NOT IN ('', chr(13))
"""


def _record_starts(staged: Staged) -> str:
    """A table of the physical line (and byte offset) where each record starts; 0 is the header."""
    name = f"{staged.table}_starts"
    if not staged._starts_built:
        staged.cursor.execute(
            _RECORD_STARTS.format(name=name),
            {"path": str(staged.source.path), "quote": staged.source.dialect.quote},
        )
        if staged.source.json_lines is not None:
            _use_json_lines(staged.cursor, name, staged.source.json_lines)
        staged._starts_built = True
    return name


def _use_json_lines(cursor: Cursor, starts: str, json_lines: list[int]) -> None:
    """Record k of the flattened CSV is the k-th object of the JSON the user uploaded."""
    objects = pd.DataFrame({"line": json_lines})
    objects["ordinal"] = objects.index + 1
    cursor.register("json_objects", objects)
    try:
        cursor.execute(f"UPDATE {starts} s SET line = o.line FROM json_objects o WHERE s.ordinal = o.ordinal")
    finally:
        cursor.unregister("json_objects")


RECORD_SHOWN = 200  # characters of a rejected record's own text kept as evidence


def record_texts(staged: Staged, lines: list[int]) -> list[str | None]:
    """The text of the record starting on each physical line (as read, cut at ``RECORD_SHOWN``
    characters; a record's own line breaks kept, its terminator dropped), None where no record
    starts there. Evidence for a reject whatever its reason and the file's line endings."""
    if not lines:
        return []
    query = _LINE_TEXTS if staged.one_line_records else _RECORD_TEXTS.format(starts=_record_starts(staged))
    staged.cursor.register("reject_lines", pd.DataFrame({"line": pd.Series(lines, dtype="int64")}))
    try:
        values = {"path": str(staged.source.path), "shown": RECORD_SHOWN}
        found = staged.cursor.execute(query, values).fetchall()
    finally:
        staged.cursor.unregister("reject_lines")
    texts = dict(found)
    return [texts.get(line) for line in lines]


# A record per line: its text is its line's.
_LINE_TEXTS = """
WITH raw AS (SELECT string_split(content, chr(10)) AS parts FROM read_text($path)),
numbered AS (SELECT generate_subscripts(parts, 1) AS line, unnest(parts) AS l FROM raw)
SELECT line, left(rtrim(l, chr(10) || chr(13)), $shown) FROM numbered
WHERE line IN (SELECT line FROM reject_lines)
"""

# Each physical line belongs to the last record that started on or before it (equi-joins and one
# window over the file's lines: linear, whatever the number of rejects).
_RECORD_TEXTS = """
WITH raw AS (SELECT string_split(content, chr(10)) AS parts FROM read_text($path)),
numbered AS (SELECT generate_subscripts(parts, 1) AS line, unnest(parts) AS l FROM raw),
owned AS (SELECT n.line, n.l, max(s.line) OVER (ORDER BY n.line) AS record
          FROM numbered n LEFT JOIN {starts} s USING (line))
SELECT record, left(rtrim(string_agg(rtrim(l, chr(13)), chr(10) ORDER BY line), chr(10) || chr(13)), $shown)
FROM owned WHERE record IN (SELECT line FROM reject_lines)
GROUP BY record
"""


def _physical_lines_for_rejects(staged: Staged) -> None:
    """DuckDB counts lines its own way; map each reject to the physical line where it starts."""
    starts = _record_starts(staged)
    staged.cursor.register("reject_bytes", staged.parse_rejects[["duckdb_byte"]])
    try:
        # The first record start at or after the byte (an ASOF join: a correlated subquery per
        # reject was quadratic, minutes for a file whose every record is rejected).
        lines = staged.cursor.execute(
            f"SELECT r.duckdb_byte, s.line FROM reject_bytes r "
            f"ASOF LEFT JOIN {starts} s ON r.duckdb_byte - 1 <= s.byte_offset"
        ).df()
    finally:
        staged.cursor.unregister("reject_bytes")
    mapped = dict(zip(lines.duckdb_byte, lines.line, strict=True))
    staged.parse_rejects["line"] = (
        staged.parse_rejects.duckdb_byte.map(mapped).fillna(staged.parse_rejects.line).astype("int64")
    )


def drop_staged(staged: Staged) -> None:
    _drop(staged.cursor, staged.table, ("", "_rejects", "_rejects_scan", "_starts", "_lines"))


def _drop(cursor: Cursor, table: str, suffixes: tuple[str, ...]) -> None:
    for suffix in suffixes:
        with contextlib.suppress(duckdb.Error):  # temporary tables vanish with their cursor anyway
            cursor.execute(f"DROP TABLE IF EXISTS {table}{suffix}")
