"""Timestamp columns: detect the format from the data, then parse it in SQL to naive UTC.

ISO 8601 (with `Z`, `+00:00` or `+0000` offsets) is tried first. Otherwise the formats of common
exports are tried as families; a day-first versus month-first date is decided from the data
(a day above 12) or asked for, never guessed silently. Values without an offset are read in the
mapping's time zone (Intercom writes it into the header).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import duckdb

from aiops.errors import MappingError
from aiops.ingest.reader import quote_ident, sql_literal

DateOrder = Literal["dmy", "mdy"]
_TIMES = ("%H:%M:%S.%f", "%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p")


def _with_times(dates: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{d} {t}" for d in dates for t in _TIMES) + dates


FAMILIES: dict[str, tuple[str, ...]] = {
    # Unambiguous: a month name, or the year first.
    "named": _with_times(
        (
            "%d/%b/%y",
            "%d/%b/%Y",
            "%d-%b-%Y",
            "%d-%b-%y",
            "%d %b %Y",
            "%b %d, %Y",
            "%d %B %Y",
            "%B %d, %Y",
            "%Y/%m/%d",
            "%Y.%m.%d",
        )
    ),
    "dmy": _with_times(("%d/%m/%Y", "%d/%m/%y", "%d.%m.%Y", "%d.%m.%y", "%d-%m-%Y")),
    "mdy": _with_times(("%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y")),
}
_OFFSET = r"(Z|z|[+-]\d{2}:?\d{2})$"
SAMPLE = 2000


@dataclass(frozen=True)
class TimestampFormat:
    """How a column's text becomes a timestamp: ``iso`` or a strptime family."""

    family: str
    timezone: str = "UTC"

    def sql(self, text: str) -> str:
        """A SQL expression turning ``text`` (SQL) into naive UTC, NULL when it does not parse."""
        zone = sql_literal(self.timezone)
        if self.family == "iso":
            naive = f"TRY_CAST({text} AS TIMESTAMP)"
            aware = f"TRY_CAST({text} AS TIMESTAMPTZ)"
            if self.timezone == "UTC":
                local = aware
            else:
                local = (
                    f"CASE WHEN regexp_matches({text}, {sql_literal(_OFFSET)}) THEN {aware} "
                    f"ELSE timezone({zone}, {naive}) END"
                )
        else:
            formats = "[" + ", ".join(sql_literal(f) for f in FAMILIES[self.family]) + "]"
            local = f"timezone({zone}, try_strptime({text}, {formats}))"
        return f"(({local}) AT TIME ZONE 'UTC')"


def detect_format(
    cursor: duckdb.DuckDBPyConnection,
    table: str,
    column: str,
    date_order: DateOrder | None = None,
    timezone: str = "UTC",
) -> TimestampFormat:
    """The family that parses the most of the column's values; day/month order from the data."""
    text = f"trim({quote_ident(column)})"
    sample = f"SELECT DISTINCT {text} AS v FROM {table} WHERE nullif({text}, '') IS NOT NULL LIMIT {SAMPLE}"
    iso = TimestampFormat("iso", timezone)
    total, iso_ok = cursor.execute(f"SELECT count(*), count({iso.sql('v')}) FROM ({sample})").fetchall()[0]
    if total == 0 or iso_ok == total:
        return iso
    # Not ISO: count every family over all distinct values, so one day above 12 decides.
    everything = f"SELECT DISTINCT {text} AS v FROM {table} WHERE nullif({text}, '') IS NOT NULL"
    counts = dict(
        zip(
            ("iso", *FAMILIES),
            cursor.execute(
                f"SELECT count({iso.sql('v')}), "
                + ", ".join(f"count({TimestampFormat(f, timezone).sql('v')})" for f in FAMILIES)
                + f" FROM ({everything})"
            ).fetchall()[0],
            strict=True,
        )
    )
    best = max(counts, key=counts.__getitem__)
    if counts[best] == 0:
        return iso  # nothing parses: every row is reported as an unparseable timestamp
    if counts["dmy"] == counts["mdy"] == counts[best] and best in ("dmy", "mdy"):
        if date_order is None:
            raise MappingError(
                f"the dates in '{column}' could be day-first or month-first (no day above 12)",
                "say which: --date-order dmy or --date-order mdy",
            )
        best = date_order
    return TimestampFormat(best, timezone)
