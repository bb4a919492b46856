"""What each column of a file holds, from its first records: the kind (timestamp, number, text)
and three sample values, so a lead can tell created_at from solved_at; and guesses that put
timestamp columns, not ids, in the start and end roles."""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from aiops.ingest.failures import read_failure
from aiops.ingest.mapping import header_key
from aiops.ingest.reader import sample_csv
from aiops.ingest.sniff import SourceFile
from aiops.sql import quote_ident
from aiops.store import Cursor

SAMPLE_ROWS = 200
START_WORDS = ("created", "create", "opened", "open", "started", "start", "submitted", "received", "begin")
END_WORDS = (
    "resolved", "solved", "closed", "close", "completed", "merged", "ended", "end", "done", "finished",
)  # fmt: skip
STAMP_FIELDS = ("start_column", "end_column", "timestamp_column", "measured_at_column")


@dataclass(frozen=True)
class ColumnProfile:
    kind: str  # "timestamp", "number", "text" or "empty"
    samples: tuple[str, ...]

    def describe(self) -> str:
        shown = ", ".join(s if len(s) <= 24 else s[:23] + "…" for s in self.samples)
        return f"{self.kind}: {shown}" if shown else self.kind


def profile_columns(cursor: Cursor, source: SourceFile) -> dict[str, ColumnProfile]:
    """header -> its kind and up to three distinct sample values from the first records."""
    table = sample_csv(cursor, source, SAMPLE_ROWS)
    try:
        profiles = {}
        for header, column in zip(source.header, source.columns, strict=True):
            c = quote_ident(column)
            values = f"(SELECT DISTINCT trim({c}) AS v FROM {table} WHERE nullif(trim({c}), '') IS NOT NULL)"
            n, stamps, numbers, samples = cursor.execute(
                f"SELECT count(*), count(TRY_CAST(v AS TIMESTAMPTZ)), count(TRY_CAST(v AS DOUBLE)),"
                f" list(v ORDER BY v)[1:3] FROM (SELECT v FROM {values} LIMIT 500)"
            ).fetchall()[0]
            kind = (
                "empty"
                if n == 0
                else "number"
                if numbers == n
                else "timestamp"
                if stamps >= 0.9 * n or _datelike(samples)
                else "text"
            )
            profiles[header] = ColumnProfile(kind, tuple(samples or ()))
        return profiles
    except duckdb.Error as e:
        raise read_failure(e, "the file's columns could not be read", "check that it is a CSV export") from e
    finally:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")


def _datelike(samples: list[str] | None) -> bool:
    """Day-first or month-first dates (03/04/2024 10:00) that DuckDB's cast leaves as text."""
    pattern = r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}([ T]\d{1,2}:\d{2}.*)?"
    return bool(samples) and all(re.fullmatch(pattern, s) for s in samples or ())


def timestamp_guesses(guesses: dict[str, str], profiles: dict[str, ColumnProfile]) -> dict[str, str]:
    """Guesses with start/end/timestamp roles held by timestamp columns only, found by name
    (created/opened… for a start, resolved/solved/closed… for an end) when the name guess failed."""
    out = {f: h for f, h in guesses.items() if f not in STAMP_FIELDS or _is_stamp(profiles, h)}
    stamps = [h for h, p in profiles.items() if p.kind == "timestamp"]
    for field, words in (("start_column", START_WORDS), ("end_column", END_WORDS)):
        if field in out or ("case_column" in out and "timestamp_column" in out):
            continue
        taken = set(out.values())
        found = next(
            (h for w in words for h in stamps if h not in taken and w in header_key(h).split("_")), None
        )
        if found:
            out[field] = found
    return out


def _is_stamp(profiles: dict[str, ColumnProfile], header: str) -> bool:
    profile = profiles.get(header)
    return profile is None or profile.kind in ("timestamp", "empty")
