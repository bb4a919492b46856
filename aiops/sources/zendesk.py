"""Zendesk tickets through the cursor-based incremental ticket export.

``GET /api/v2/incremental/tickets/cursor.json?start_time=0&include=metric_sets``, then
``?cursor=<after_cursor>`` (developer.zendesk.com/api-reference/ticketing/ticket-management/
incremental_exports/#incremental-ticket-export-cursor-based): a page is ``{"tickets": [...],
"metric_sets": [...], "after_url", "after_cursor", "end_of_stream"}``; the next page is asked
with ``after_cursor`` (and the side-load) until ``end_of_stream``. The side-loaded metric sets
carry ``solved_at`` and ``reply_time_in_minutes.calendar`` per ``ticket_id``. The cursor is the
last ``after_cursor``: the next pull starts exactly where this one ended.

The query filters tickets on their own fields (``group_id=360001 tags=ai-triage``: every pair
must match; a list field matches when it holds the value); empty means every ticket.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from aiops.sources.connector import Loop, Page, Record, Tool, bearer_or_basic, expect, record_id, text
from aiops.sources.http import Http

_PAIR = re.compile(r"([a-z_]+)=(\S+)")


def filters(query: str) -> dict[str, str]:
    return dict(_PAIR.findall(query))


def check_query(query: str) -> str | None:
    if _PAIR.sub("", query).strip(" ,"):
        return "the query is field=value pairs (group_id=360001 tags=ai-triage), or empty for every ticket"
    return None


def _matches(ticket: dict[str, Any], wanted: dict[str, str]) -> bool:
    for field, value in wanted.items():
        held = ticket.get(field)
        if not (value in map(str, held) if isinstance(held, list) else str(held) == value):
            return False
    return True


def _ends(loop: Loop, metric_sets: list[Any]) -> dict[Any, str | None]:
    """Each ticket's loop end (or minutes) from its side-loaded metric set, by ticket id."""
    sets = [m for m in metric_sets if isinstance(m, dict)]
    if loop.name == "first-reply":
        minutes = [(m.get("reply_time_in_minutes") or {}).get("calendar") for m in sets]
        return {m.get("ticket_id"): text(value) for m, value in zip(sets, minutes, strict=True)}
    return {m.get("ticket_id"): text(m.get("solved_at")) for m in sets}


def _pages(http: Http, base_url: str, query: str, loop: Loop, cursor: str | None) -> Iterator[Page]:
    url = f"{base_url}/api/v2/incremental/tickets/cursor.json"
    params: dict[str, str | int] = {"include": "metric_sets"}
    params |= {"cursor": cursor} if cursor else {"start_time": 0}
    wanted = filters(query)
    while True:
        body, _ = http.get(url, params)
        body = expect(body, dict, "the page", http.tool)
        ends = _ends(loop, expect(body.get("metric_sets") or [], list, "metric_sets", http.tool))
        records: list[Record] = []
        for ticket in expect(body.get("tickets"), list, "tickets", http.tool):
            if not isinstance(ticket, dict):
                expect(ticket, dict, "a ticket", http.tool)
            if ticket.get("status") == "deleted" or (wanted and not _matches(ticket, wanted)):
                continue
            ticket_id = ticket.get("id")
            records.append(
                (record_id(ticket_id, http.tool), text(ticket.get("created_at")), ends.get(ticket_id))
            )
        after = text(body.get("after_cursor"))
        cursor = after or cursor
        yield Page(records, cursor)
        if body.get("end_of_stream") is not False or not after:
            return
        params = {"include": "metric_sets", "cursor": after}  # as after_url, with the side-load kept


ZENDESK = Tool(
    name="zendesk",
    title="Zendesk tickets",
    default_base_url="https://your-subdomain.zendesk.com",
    query_help="field=value filters (group_id=360001 tags=ai-triage), or empty for every ticket",
    loops=(
        Loop("full-resolution", "Created → solved (calendar time)"),
        Loop("first-reply", "First reply time (minutes, calendar)", measure="minutes"),
    ),
    auth_header=bearer_or_basic,
    pages=_pages,
    check_query=check_query,
)
