"""Detect what a file is before DuckDB reads it: encoding, dialect, header.

Detection runs only for what the caller left unset, and the result says what it found, so the
upload preview can show it. Windows-1252 and UTF-16 are transcoded to a temporary UTF-8 copy in
chunks (DuckDB reads UTF-8); a UTF-8 BOM is stripped.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import hashlib
import io
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from aiops.errors import IngestError
from aiops.ingest.tempfiles import ingest_workdir, make_private

CHUNK = 1 << 20
SAMPLE_BYTES = 256 * 1024
DELIMITERS = (",", ";", "\t", "|")
# Bytes Windows-1252 leaves undefined; a file holding them is read as Latin-1 instead.
CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")


@dataclass(frozen=True)
class Dialect:
    delimiter: str = ","
    quote: str = '"'
    decimal_separator: str = "."
    newline: str = "\n"  # the record terminator: "\n" or "\r\n" (CR-only files are read as "\n")

    def describe(self) -> str:
        names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
        return (
            f"{names.get(self.delimiter, repr(self.delimiter))}-separated, decimal '{self.decimal_separator}'"
        )


@dataclass(frozen=True)
class _WholeRead:
    """What only a read of every byte of the uploaded file tells, not needed before DuckDB reads."""

    path: Path
    sha256: str
    lines: int  # physical lines (a last line without a line feed counts)


@dataclass
class SourceFile:
    """A file ready for DuckDB: a UTF-8 path, what was detected, and the original's hash."""

    path: Path
    name: str
    size: int
    encoding: str
    dialect: Dialect
    header: list[str]
    uploaded: Future[_WholeRead]  # read in a thread beside the detection and DuckDB's read
    columns: list[str] = field(default_factory=list)
    json_origin: Path | None = None  # a JSON upload: rejects name lines of this file, not of `path`
    longest_line: int = 0  # bytes; a line above the reader's maximum is rejected, never dropped
    short_records: bool = False  # some records omit trailing fields: read as empty
    wide_records: bool = False  # some of the first records have more fields than the header
    cr_only: bool = False  # old-Mac line endings (read as line feeds)
    mixed_breaks: bool = False  # CR, LF and CRLF mixed: records as Python's csv module reads them
    malformed_lines: list[int] = field(default_factory=list)  # records rejected by the rewrite

    @cached_property
    def json_lines(self) -> list[int] | None:
        """For a JSON upload, the line of each record's opening brace in the file the user uploaded
        (record k of the flattened CSV is its k-th object); None for any other file. Read once, and
        only when a row is rejected, so a reject names a line the user can find."""
        if self.json_origin is None:
            return None
        from aiops.ingest.json_source import object_start_lines  # only JSON uploads need it

        return object_start_lines(self.json_origin)

    @property
    def sha256(self) -> str:
        """The uploaded file's SHA-256."""
        return self.uploaded.result().sha256

    @cached_property
    def line_count(self) -> int:
        """Physical lines of ``path`` (counted again only when it is a converted copy)."""
        uploaded = self.uploaded.result()
        return uploaded.lines if uploaded.path == self.path else _line_count(_chunks(self.path))

    def column_for(self, header_name: str) -> str:
        """The unique column name DuckDB uses for a (possibly repeated) header."""
        return self.columns[self.header.index(header_name)]


@dataclass(frozen=True)
class _Scan:
    """What one pass over the bytes tells before DuckDB reads them: which single-byte reading
    fits, the line endings, and the longest run of bytes without a line feed (exact above one
    chunk)."""

    utf8: bool
    latin1_only: bool
    longest_line: int = 0
    cr_only: bool = False
    mixed_breaks: bool = False  # a bare CR beside line feeds, or a bare LF beside CRLFs, quoted or not


def _scan(path: Path) -> _Scan:
    """One read of the file: UTF-8 validity, bytes Windows-1252 leaves undefined, and whether a
    line is longer than a chunk (DuckDB drops a line longer than its buffer unseen)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8, latin1_only = True, False
    run = longest = 0  # bytes since the last line feed; the longest such run seen
    crs = lfs = crlfs = 0
    ended_cr = False
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            # An ASCII chunk after a complete character is valid UTF-8 and holds no byte that
            # Windows-1252 leaves undefined: checked in C, without decoding (most exports).
            ascii_only = chunk.isascii() and not decoder.getstate()[0]
            if utf8 and not ascii_only:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            if not ascii_only:
                latin1_only = latin1_only or any(byte in chunk for byte in CP1252_UNDEFINED)
            first = chunk.find(b"\n")
            if first < 0:
                run += len(chunk)
            else:
                longest = max(longest, run + first)
                run = len(chunk) - chunk.rfind(b"\n") - 1
            cr = chunk.count(b"\r")
            if cr or ended_cr:  # a file without CR (most) is not counted further
                crs, lfs = crs + cr, lfs + chunk.count(b"\n")
                crlfs += chunk.count(b"\r\n") + (ended_cr and chunk.startswith(b"\n"))
            else:
                lfs += first >= 0  # a lower bound is enough: is there a line feed at all
            ended_cr = chunk.endswith(b"\r")
    longest = max(longest, run)
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    mixed = bool((crs > crlfs and lfs) or (crlfs and lfs > crlfs))
    return _Scan(utf8, latin1_only, longest, bool(crs and not lfs), mixed)


def _chunks(path: Path, digest: hashlib._Hash | None = None) -> Iterator[bytes]:
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            if digest is not None:
                digest.update(chunk)
            yield chunk


def _line_count(chunks: Iterable[bytes]) -> int:
    count, last = 0, b""
    for chunk in chunks:
        count, last = count + chunk.count(b"\n"), chunk[-1:]
    return count + (last not in (b"\n", b""))


def _read_whole(path: Path) -> _WholeRead:
    """SHA-256 and lines in one read. Hashing and reading release the GIL: in a thread, this runs
    beside the detection and DuckDB's read of the file (on 3M rows it was 0.3 s of an import's
    4.3 s, before them)."""
    digest = hashlib.sha256()
    lines = _line_count(_chunks(path, digest))
    return _WholeRead(path, digest.hexdigest(), lines)


def detect_encoding(path: Path, scan: _Scan | None = None) -> str:
    """UTF-8 (with or without BOM), UTF-16 (BOM or NUL pattern), else Windows-1252/Latin-1."""
    with path.open("rb") as f:
        head = f.read(4096)
    if head.startswith(codecs.BOM_UTF8):
        if not (scan or _scan(path)).utf8:  # DuckDB would stop mid-read, past the checks
            raise IngestError(
                "the file starts with a UTF-8 byte-order mark but holds bytes that are not UTF-8",
                "save it again as UTF-8, or without the mark in your tool's own encoding",
            )
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head and head.count(0) > len(head) // 4:
        even_zeros = head[0::2].count(0)
        return "utf-16-be" if even_zeros > len(head) // 4 else "utf-16-le"
    if 0 in head:
        raise IngestError(
            "this looks like a binary file, not a CSV export",
            "export the data as CSV (or JSON) and upload that",
        )
    scan = scan or _scan(path)
    if scan.utf8:
        return "utf-8"
    return "latin-1" if scan.latin1_only else "cp1252"


def _utf8_copy(path: Path, encoding: str, directory: Path, cr_only: bool = False) -> Path:
    """A UTF-8 copy without BOM, transcoded in chunks (not line by line). Old-Mac line endings
    (CR only) become line feeds, so each line keeps its number."""
    target = directory / "source.utf8.csv"
    try:
        with (
            path.open("r", encoding=encoding, newline="") as src,
            target.open("w", encoding="utf-8", newline="") as dst,
        ):
            first = src.read(1)
            if first and first != "\ufeff":
                dst.write("\n" if cr_only and first == "\r" else first)
            if cr_only:
                for chunk in iter(lambda: src.read(CHUNK), ""):
                    dst.write(chunk.replace("\r", "\n"))
            else:
                shutil.copyfileobj(src, dst, CHUNK)
    except UnicodeDecodeError as e:
        raise IngestError(
            f"the file is not valid {encoding}: {e}", "save it as UTF-8, or pick its encoding"
        ) from e
    return target


class _RawLines:
    """The lines a csv reader reads, kept as read until ``take``: one record's own text."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._taken: list[str] = []

    def __iter__(self) -> _RawLines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self._taken.append(line)
        return line

    def take(self) -> str:
        text = "".join(self._taken)
        self._taken.clear()
        return text


def _ending(text: str) -> str:
    return "\r\n" if text.endswith("\r\n") else text[-1:] if text.endswith(("\r", "\n")) else ""


def allow_long_fields() -> None:
    """Let Python's csv module read a field of any size up to 1 GB (its own limit, 128 KB, is no
    limit of an export's or an API's values: a longer one would stop the reader)."""
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))


def breaks_mixed(path: Path, dialect: Dialect) -> bool:
    """Whether some record ends with a line break other than CRLF (outside quotes, as Python's csv
    module splits records), in a file the byte scan saw more than one kind of break in. Records
    all ended by CRLF, with line feeds only inside quoted cells (Excel), DuckDB reads as they are;
    any other mix it misreads."""
    allow_long_fields()
    with path.open("r", encoding="utf-8-sig", newline="") as src:
        lines = _RawLines(src)
        for _ in csv.reader(lines, delimiter=dialect.delimiter, quotechar=dialect.quote):
            if _ending(lines.take()) not in ("\r\n", ""):  # the last record may end the file
                return True
    return False


def _well_quoted(text: str, dialect: Dialect) -> bool:
    """Whether a record's text reads without a quoting error (a quote never closed, or text
    after a closing quote), which Python's lenient csv reader would silently absorb."""
    if dialect.quote not in text:
        return True
    strict = csv.reader(
        io.StringIO(text, newline=""), delimiter=dialect.delimiter, quotechar=dialect.quote, strict=True
    )
    try:
        list(strict)
    except csv.Error:
        return False
    return True


def _write_record(dst: io.TextIOBase, row: list[str], text: str, dialect: Dialect) -> int:
    """Write one record as RFC 4180 with CRLF; a record with malformed quoting becomes blank lines
    (DuckDB skips them), its line breaks kept. The line feeds written, negated if malformed."""
    if not _well_quoted(text, dialect):
        dst.write("\r\n" * max(1, text.count("\n")))
        return -max(1, text.count("\n"))
    # CRLF as the terminator makes the writer quote any cell holding a CR or a LF.
    csv.writer(dst, delimiter=dialect.delimiter, quotechar=dialect.quote, lineterminator="\r\n").writerow(row)
    return 1 + sum(cell.count("\n") for cell in row)


def _records_rewritten(path: Path, dialect: Dialect, directory: Path) -> tuple[Path, Dialect, list[int]]:
    """A copy of a file whose line breaks are mixed, with the records Python's csv module reads
    (and spreadsheet tools show) written as RFC 4180 with CRLF: DuckDB stops at a bare CR in an
    unquoted cell, and reads no record of a CRLF file where one ends with a bare LF. Each record
    keeps its line (a break inside quotes stays in its cell); only files with mixed breaks pay this.

    A record with malformed quoting (read strictly: leniently, an unclosed quote swallows the rest
    of the file into one cell) is not written; its line is returned, to be counted as a reject,
    as DuckDB rejects it in an LF file."""
    target, malformed, line = directory / "source.records.csv", [], 1
    allow_long_fields()
    with (
        path.open("r", encoding="utf-8-sig", newline="") as src,
        target.open("w", encoding="utf-8", newline="") as dst,
    ):
        lines = _RawLines(src)
        for row in csv.reader(lines, delimiter=dialect.delimiter, quotechar=dialect.quote):
            text = lines.take()
            written = _write_record(dst, row, text if line > 1 else "", dialect)  # the header as read
            malformed += [line] if written < 0 else []
            line += abs(written)
    return target, dataclasses.replace(dialect, newline="\r\n"), malformed


def _is_json(path: Path) -> bool:
    """Whether the file starts as JSON does: an object's first key is a string (``{"``, ``{}``), an
    array's first value starts ``{ [ " ] -``, a digit, ``true``, ``false`` or ``null``. A CSV header
    such as ``{rows},...`` or ``[id],...`` does not."""
    with path.open("rb") as f:
        head = f.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    rest = head[1:].lstrip(b" \t\r\n")
    if head[:1] == b"{":
        return rest[:1] in (b'"', b"}")
    if head[:1] == b"[":
        return rest[:1] in b'{["]-0123456789' or rest.startswith((b"true", b"false", b"null"))
    return False


def _sample_text(path: Path) -> str:
    with path.open("rb") as f:
        raw = f.read(SAMPLE_BYTES)
    return raw.decode("utf-8", errors="replace").lstrip("\ufeff")


def sniff_dialect(sample: str) -> Dialect:
    """The delimiter that splits the header into 2+ fields and the most records into as many.

    DuckDB's sniffer can misread small semicolon files; this looks at whole records instead. The
    header sets the width: quoted cells holding tabs in every row must not make a tab file.
    """
    best, best_score = ",", (-1.0, 0)
    for delimiter in DELIMITERS:
        counts = _field_counts(sample, delimiter)
        if not counts:
            continue
        width = counts[0]
        score = (counts.count(width) / len(counts) if width > 1 else 0.0, width)
        if score > best_score:
            best, best_score = delimiter, score
    return Dialect(
        delimiter=best, decimal_separator=_decimal_separator(sample, best), newline=record_terminator(sample)
    )


def record_terminator(sample: str, quote: str = '"') -> str:
    """The first line break outside quotes: a quoted header cell may hold a bare line feed in a
    CRLF file (Excel), which must not decide how records end."""
    quoted = False
    for i, char in enumerate(sample):
        if char == quote:
            quoted = not quoted
        elif not quoted and char in "\r\n":
            return "\r\n" if sample[i : i + 2] == "\r\n" else "\n"
    return "\n"


def _records(sample: str, delimiter: str) -> list[list[str]]:
    # The sample may end mid-record: drop its last (possibly partial) line.
    text = sample.rsplit("\n", 1)[0] if len(sample) >= SAMPLE_BYTES - 4 else sample
    allow_long_fields()  # a 128 KB field is no empty file
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    while len(rows) < 200:
        try:
            row = next(reader)
        except (StopIteration, csv.Error):  # the end, or a record cut by the sample's end
            break
        if row:
            rows.append(row)
    return rows


def _field_counts(sample: str, delimiter: str) -> list[int]:
    return [len(r) for r in _records(sample, delimiter)]


def _decimal_separator(sample: str, delimiter: str) -> str:
    """`12,5` in a semicolon file is a decimal comma; never for a comma-separated file."""
    if delimiter == ",":
        return "."
    cells = [c.strip() for r in _records(sample, delimiter)[1:] for c in r]
    comma = sum(1 for c in cells if _looks_numeric(c, ","))
    dot = sum(1 for c in cells if _looks_numeric(c, "."))
    return "," if comma > dot else "."


def _looks_numeric(cell: str, separator: str) -> bool:
    whole, sep, frac = cell.lstrip("-").partition(separator)
    return bool(sep) and whole.isdigit() and frac.isdigit()


def read_header(sample: str, dialect: Dialect) -> list[str]:
    records = _records(sample, dialect.delimiter)
    if not records:
        raise IngestError("the file is empty", "upload an export with a header row and data")
    return [h.strip() for h in records[0]]


def unique_columns(header: list[str]) -> list[str]:
    """Column names DuckDB can use: blanks named by position, repeats numbered."""
    seen: Counter[str] = Counter()
    columns = []
    for position, name in enumerate(header, start=1):
        base = name or f"column_{position}"
        seen[base.casefold()] += 1
        columns.append(base if seen[base.casefold()] == 1 else f"{base} ({seen[base.casefold()]})")
    return columns


JSON_LINES = (".jsonl", ".ndjson")


@contextmanager
def open_source(
    path: str | Path,
    name: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    max_bytes: int | None = None,
) -> Iterator[SourceFile]:
    """Detect the file's encoding and dialect; yield a UTF-8 view of it; clean up after.
    A file above ``max_bytes`` is refused before it is read (the upload cap, checked here too)."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"no such file: {path}", "check the path")
    if Path(name or path.name).suffix.lower() in JSON_LINES:
        raise IngestError(
            f"{name or path.name} is JSON Lines (one object per line), which is not read",
            "upload a CSV export, or a JSON array of objects (e.g. `gh pr list --json ...`); "
            "`jq -s . FILE` turns JSON Lines into an array",
        )
    size = path.stat().st_size
    if size == 0:
        raise IngestError("the file is empty", "upload an export with a header row and data")
    if max_bytes is not None and size > max_bytes:
        raise IngestError(
            f"the file is {size / 1e6:,.1f} MB, above the upload limit of {max_bytes / 1e6:,.0f} MB",
            "split the export, or raise AIOPS_MAX_UPLOAD_MB (and server.maxUploadSize)",
        )
    # The pool's exit waits for the read of the uploaded file; a converted copy (in ``tmp``) is
    # counted in this thread, when asked for.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="aiops-read") as pool, ingest_workdir() as tmp:
        uploaded = pool.submit(_read_whole, path)
        scan = _scan(path)
        if _is_json(path):
            from aiops.ingest.json_source import json_to_csv  # only JSON uploads need it

            readable, encoding = json_to_csv(path, Path(tmp) / "source.json.csv"), "json"
        else:
            encoding = encoding or detect_encoding(path, scan)
            readable = (
                path
                if encoding in ("utf-8", "utf-8-sig", "ascii") and not scan.cr_only
                else _utf8_copy(path, encoding, Path(tmp), scan.cr_only)
            )
        sample = _sample_text(readable)
        dialect = sniff_dialect(sample)
        if delimiter:
            dialect = Dialect(
                delimiter=delimiter,
                decimal_separator=_decimal_separator(sample, delimiter),
                newline=record_terminator(sample),
            )
        mixed = scan.mixed_breaks and encoding != "json" and breaks_mixed(readable, dialect)
        malformed: list[int] = []
        if mixed:
            readable, dialect, malformed = _records_rewritten(readable, dialect, Path(tmp))
            sample = _sample_text(readable)
        header = read_header(sample, dialect)
        widths = _field_counts(sample, dialect.delimiter)
        make_private(tmp)
        yield SourceFile(
            path=readable,
            name=name or path.name,
            size=size,
            encoding=encoding,
            dialect=dialect,
            header=header,
            uploaded=uploaded,
            columns=unique_columns(header),
            json_origin=path if encoding == "json" else None,
            longest_line=scan.longest_line,
            short_records=any(1 < w < len(header) for w in widths[1:]),  # not a one-cell footer
            wide_records=any(w > len(header) for w in widths[1:]),
            cr_only=scan.cr_only,
            mixed_breaks=mixed,
            malformed_lines=malformed,
        )
