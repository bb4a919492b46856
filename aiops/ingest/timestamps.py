"""Timestamp columns: detect the format from the data, then parse it in SQL to naive UTC.

ISO 8601 (with `Z`, `+00:00` or `+0000` offsets) is tried first. Otherwise the formats of common
exports are tried as families; a day-first versus month-first date is decided from the data
(a day above 12) or asked for, never guessed silently. Values without an offset are read in the
mapping's time zone (Intercom writes it into the header).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal, get_args

import duckdb

from aiops.errors import MappingError
from aiops.sql import bound, quote_ident, sql_literal
from aiops.store import Cursor

DateOrder = Literal["dmy", "mdy"]
DATE_ORDERS: tuple[str, ...] = get_args(DateOrder)
ORDER_WORDS = {"dmy": "day first (dmy, 03/04 = 3 April)", "mdy": "month first (mdy, 03/04 = March 4)"}


@cache
def _zones() -> dict[str, str]:
    """Every time zone the SQL engine reads, by its lower-case name."""
    with duckdb.connect() as con:
        return {
            name.lower(): name for (name,) in con.execute("SELECT name FROM pg_timezone_names()").fetchall()
        }


def known_zone(name: str) -> str:
    """``name`` as the engine spells it (`europe/paris` is Europe/Paris); a ValueError naming it
    when no zone has that name (`Mars/Phobos`, `CET+1`)."""
    found = _zones().get(name.strip().lower())
    if found is None:
        raise ValueError(
            f"time zone '{name}' is not known: give a zone name such as Europe/Paris, America/New_York "
            "or UTC (a fixed offset is written Etc/GMT-1 for UTC+1: the sign is reversed)"
        )
    return found


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
# An offset follows a time of day ("10:00Z", "10:00:00+0200"); a date's "-17" is not one.
_OFFSET = r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|z|[+-]\d{2}(:?\d{2})?)\s*$"
SAMPLE = 2000


@dataclass(frozen=True)
class TimestampFormat:
    """How a column's text becomes a timestamp: ``iso`` or a strptime family."""

    family: str
    timezone: str = "UTC"

    def sql(self, text: str) -> str:
        """A SQL expression turning ``text`` (SQL) into naive UTC, NULL when it does not parse."""
        zone = "$timezone"  # bound: see ``aiops.sql.bound``
        if self.family == "iso":
            # Most exports carry no offset: a plain TIMESTAMP cast is five times faster than
            # TIMESTAMPTZ, so only values that end like an offset (Z, +hh, +hhmm, +hh:mm) take it.
            naive = f"TRY_CAST({text} AS TIMESTAMP)"
            aware = f"(TRY_CAST({text} AS TIMESTAMPTZ) AT TIME ZONE 'UTC')"
            offset = f"regexp_matches({text}, {sql_literal(_OFFSET)})"
            local = naive if self.timezone == "UTC" else f"(timezone({zone}, {naive}) AT TIME ZONE 'UTC')"
            return f"(CASE WHEN {offset} THEN {aware} ELSE {local} END)"
        formats = "[" + ", ".join(sql_literal(f) for f in FAMILIES[self.family]) + "]"
        return f"(timezone({zone}, try_strptime(trim({text}), {formats})) AT TIME ZONE 'UTC')"


def detect_format(
    cursor: Cursor,
    table: str,
    column: str,
    date_order: DateOrder | None = None,
    timezone: str = "UTC",
) -> TimestampFormat | None:
    """The family that parses the most of the column's values, or None when its dates could be
    day-first or month-first alike (no day above 12) and ``date_order`` does not say which."""
    text = f"trim({quote_ident(column)})"
    # The first rows, not the first distinct values of all rows: DISTINCT before LIMIT hashes the
    # whole column. A value the sample missed that does not parse is rejected with its line anyway.
    sample = (
        f"SELECT DISTINCT v FROM (SELECT {text} AS v FROM {table} "
        f"WHERE nullif({text}, '') IS NOT NULL LIMIT {SAMPLE * 10})"
    )
    iso = TimestampFormat("iso", timezone)
    query = f"SELECT count(*), count({iso.sql('v')}) FROM ({sample})"
    total, iso_ok = cursor.execute(query, bound(query, {"timezone": timezone})).fetchall()[0]
    if total == 0 or iso_ok == total:
        return iso
    # Not ISO: count every family over all distinct values, so one day above 12 decides.
    everything = f"SELECT DISTINCT {text} AS v FROM {table} WHERE nullif({text}, '') IS NOT NULL"
    query = (
        f"SELECT count({iso.sql('v')}), "
        + ", ".join(f"count({TimestampFormat(f, timezone).sql('v')})" for f in FAMILIES)
        + f" FROM ({everything})"
    )
    found = cursor.execute(query, bound(query, {"timezone": timezone})).fetchall()[0]
    counts = dict(zip(("iso", *FAMILIES), found, strict=True))
    best = max(counts, key=counts.__getitem__)
    if counts[best] == 0:
        return iso  # nothing parses: every row is reported as an unparseable timestamp
    if date_order and best in DATE_ORDERS and counts[best] > counts[date_order]:
        _refuse_order(cursor, everything, column, best, date_order, timezone)
    if counts["dmy"] == counts["mdy"] == counts[best] and best in ("dmy", "mdy"):
        return TimestampFormat(date_order, timezone) if date_order else None
    return TimestampFormat(best, timezone)


def _refuse_order(cursor: Cursor, values: str, column: str, shown: str, said: str, timezone: str) -> None:
    """The data shows one date order and the mapping says the other: name both, with a value that
    only the data's order reads (never read the file the other way silently)."""
    query = (
        f"SELECT v FROM ({values}) WHERE {TimestampFormat(shown, timezone).sql('v')} IS NOT NULL "
        f"AND {TimestampFormat(said, timezone).sql('v')} IS NULL LIMIT 1"
    )
    (example,) = cursor.execute(query, bound(query, {"timezone": timezone})).fetchall()[0]
    raise MappingError(
        f"the dates in '{column}' are {ORDER_WORDS[shown]}: '{example}' cannot be "
        f"{ORDER_WORDS[said].split(' (')[0]}, as the date order given says",
        f"set the date order to {shown}, or let the data decide",
    )


def detect_formats(
    cursor: Cursor,
    table: str,
    columns: dict[str, str],
    date_order: DateOrder | None = None,
    timezone: str = "UTC",
) -> dict[str, TimestampFormat]:
    """Formats for several timestamp columns of one file (role -> column). A column whose dates
    fit either order takes the order the file's other columns show (a day above 12 anywhere
    decides); when nothing in the file decides, the user is asked."""
    found = {role: detect_format(cursor, table, col, date_order, timezone) for role, col in columns.items()}
    decided = {f.family for f in found.values() if f is not None and f.family in ("dmy", "mdy")}
    undecided = [columns[role] for role, f in found.items() if f is None]
    if undecided and len(decided) != 1:
        raise MappingError(
            f"the dates in '{undecided[0]}' could be day-first or month-first (no day above 12)",
            "say which: --date-order dmy or --date-order mdy",
        )
    if not undecided:
        return {role: f for role, f in found.items() if f is not None}
    (order,) = decided  # exactly one order was decided, else the error above
    return {role: f or TimestampFormat(order, timezone) for role, f in found.items()}
