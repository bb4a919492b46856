"""The one clock: "now" is taken here, in UTC, as a naive timestamp (how every time is stored).

Never ``datetime.now()`` (the machine's local time) or ``date.today()`` elsewhere: a server in
another zone would shift run-rate windows, freshness and checkpoint clocks by hours.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now in UTC, without a zone: stored timestamps are naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)
