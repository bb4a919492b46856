"""Periods: the one place that knows quarters, weeks, "to date" and which period to show by default.

A period is half-open ``[start, end)``; ``None`` is unbounded. Weeks start on Monday. "Complete"
is judged against the data, not the calendar: a quarter whose timings run only to the 16th of its
last month is shown "to date", and a run rate counts the last complete weeks *of data*.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

DAYS_PER_MONTH = 365.25 / 12


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def complete_weeks_end(last_measured: date | datetime) -> date:
    """The Monday after the last complete week of data: a week is complete when the data reaches its
    Sunday. (Data ending on a Wednesday: its week is not complete, the week before is.)"""
    day = last_measured.date() if isinstance(last_measured, datetime) else last_measured
    return week_start(day + timedelta(days=1))


@dataclass(frozen=True)
class Period:
    """Half-open ``[start, end)``; ``None`` is unbounded. The saving uses all samples before end."""

    start: date | None = None
    end: date | None = None

    # -- naming ---------------------------------------------------------------------------------------

    @property
    def label(self) -> str:
        if self.start is None and self.end is None:
            return "all time"
        start = self.start.isoformat() if self.start else "the start"
        end = (self.end - timedelta(days=1)).isoformat() if self.end else "today"
        return f"{start} to {end}"

    @property
    def quarter_number(self) -> int | None:
        """1-4 when this period is exactly a calendar quarter, else None."""
        if self.start is None or self.start.day != 1 or self.start.month % 3 != 1:
            return None
        q = (self.start.month + 2) // 3
        return q if Period.quarter(self.start.year, q) == self else None

    @property
    def name(self) -> str:
        """`2026 Q3` for a calendar quarter, otherwise the period's label."""
        q = self.quarter_number
        return f"{self.start.year} Q{q}" if q and self.start else self.label

    # -- construction ---------------------------------------------------------------------------------

    @classmethod
    def quarter(cls, year: int, q: int) -> Period:
        start = date(year, 3 * q - 2, 1)
        end = date(year + (q == 4), (3 * q) % 12 + 1, 1)
        return cls(start, end)

    @classmethod
    def quarter_of(cls, day: date) -> Period:
        return cls.quarter(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def parse_quarter(cls, text: str) -> Period:
        """``2026Q3`` (or ``2026-Q3``) to that quarter."""
        cleaned = text.upper().replace("-", "").replace(" ", "")
        year, _, q = cleaned.partition("Q")
        if not (year.isdigit() and q in {"1", "2", "3", "4"}):
            raise ValueError(f"not a quarter: {text!r} (expected e.g. 2026Q3)")
        return cls.quarter(int(year), int(q))

    # -- arithmetic -----------------------------------------------------------------------------------

    def previous(self) -> Period | None:
        """The period to compare with: the quarter before a quarter (a board compares Q3 with Q2, not
        with the 92 days before 1 July), otherwise the period of the same length just before."""
        if self.start is None or self.end is None:
            return None
        q = self.quarter_number
        if q:
            return Period.quarter(self.start.year - (q == 1), q - 1 or 4)
        return Period(self.start - (self.end - self.start), self.start)

    @property
    def days(self) -> int | None:
        return (self.end - self.start).days if self.start and self.end else None

    def is_complete(self, data_through: date | datetime | None) -> bool:
        """The data reaches the period's last day (an unbounded end is never complete)."""
        if self.end is None or data_through is None:
            return self.end is not None and data_through is not None
        day = data_through.date() if isinstance(data_through, datetime) else data_through
        return day + timedelta(days=1) >= self.end

    def covered_days(self, first: date | None, data_through: date | datetime | None) -> float:
        """Days of the period the data covers: from max(start, first) to min(end, the day after
        ``data_through``). Used for per-week rates and for AI cost "to date"."""
        if data_through is None:
            return 0.0
        through = data_through.date() if isinstance(data_through, datetime) else data_through
        stop = through + timedelta(days=1)
        if self.end is not None:
            stop = min(stop, self.end)
        begin = max(d for d in (self.start, first) if d is not None) if (self.start or first) else None
        if begin is None:
            return 0.0
        return float(max((stop - begin).days, 0))

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """Start and end as midnight timestamps (for SQL parameters)."""
        return (
            datetime.combine(self.start, datetime.min.time()) if self.start else None,
            datetime.combine(self.end, datetime.min.time()) if self.end else None,
        )


def recent_quarters(latest: date, count: int = 8) -> list[Period]:
    """The quarter holding ``latest`` and the ones before it, newest first."""
    quarter = Period.quarter_of(latest)
    found = [quarter]
    for _ in range(count - 1):
        previous = found[-1].previous()
        assert previous is not None
        found.append(previous)
    return found


def default_period(first: date | datetime | None, last: date | datetime | None) -> tuple[Period, str]:
    """The period every surface opens on — the last complete quarter with data — and why.

    Falls back to the quarter the data is in ("to date") when no quarter with data is complete,
    and to all time when there is no data."""
    if first is None or last is None:
        return Period(), "all time: no timings yet"
    first_day = first.date() if isinstance(first, datetime) else first
    for quarter in recent_quarters(last.date() if isinstance(last, datetime) else last, 12):
        if quarter.is_complete(last) and quarter.end is not None and quarter.end > first_day:
            return quarter, f"{quarter.name}: the last complete quarter with data"
        if quarter.end is not None and quarter.end <= first_day:
            break
    current = Period.quarter_of(last.date() if isinstance(last, datetime) else last)
    return current, f"{current.name} to date: no complete quarter with data yet"
