"""Zendesk tickets through the cursor-based incremental ticket export.

``GET /api/v2/incremental/tickets/cursor.json?start_time=0&include=metric_sets``, then
``?cursor=<after_cursor>`` (developer.zendesk.com/api-reference/ticketing/ticket-management/
incremental_exports/#incremental-ticket-export-cursor-based): a page is ``{"tickets": [...],
"metric_sets": [...], "after_url", "after_cursor", "end_of_stream"}``; the next page is asked
with ``after_cursor`` (and the side-load) until ``end_of_stream``. The side-loaded metric sets
carry ``solved_at`` and ``reply_time_in_minutes.calendar`` per ``ticket_id``. The cursor is the
last ``after_cursor``: the next pull starts exactly where this one ended.

The query filters tickets on their own fields (``group_id=360001 tags=ai-triage``: every pair
must match; a list field matches when it holds the value); empty means every ticket. A page is
decoded into the few fields a record and the filters need.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import msgspec

from aiops.sources.connector import Loop, Page, Tool, bearer_or_basic, page_records, text
from aiops.sources.http import Answer, Asked, Http

_PAIR = re.compile(r"([a-z_]+)=(\S+)")


def filters(query: str) -> dict[str, str]:
    return dict(_PAIR.findall(query))


def check_query(query: str) -> str | None:
    if _PAIR.sub("", query).strip(" ,"):
        return "the query is field=value pairs (group_id=360001 tags=ai-triage), or empty for every ticket"
    return None


class ReplyTime(msgspec.Struct, gc=False):
    calendar: Any = None


class MetricSet(msgspec.Struct, gc=False):
    """A ticket's side-loaded metrics: values stay as served (the import judges them)."""

    ticket_id: Any = None
    solved_at: Any = None
    reply_time_in_minutes: ReplyTime | None = None


TICKET_FIELDS = ("id", "created_at", "status")  # then the fields the query filters on


def page_decoder(wanted: dict[str, str]) -> msgspec.json.Decoder[Any]:
    """A page's decoder: its tickets as tuples of ``TICKET_FIELDS`` and the ``wanted`` fields'
    values (``ticket_fields``), its metric sets and where the stream goes on."""
    names = ticket_fields(wanted)
    ticket = msgspec.defstruct(
        "Ticket",
        [(f"field{i}", Any, None) for i in range(len(names))],  # JSON names need not be identifiers
        rename={f"field{i}": name for i, name in enumerate(names)},
        gc=False,  # decoded JSON holds no cycles: not walked by the garbage collector (http.py)
    )
    page = msgspec.defstruct(
        "TicketPage",
        [
            ("tickets", list[ticket]),  # type: ignore[valid-type]
            ("metric_sets", list[MetricSet] | None, None),
            ("after_cursor", Any, None),
            ("end_of_stream", Any, None),
        ],
        gc=False,
    )
    return msgspec.json.Decoder(page)


def ticket_fields(wanted: dict[str, str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*TICKET_FIELDS, *wanted)))


def _matches(values: tuple[Any, ...], wanted: list[tuple[int, str]]) -> bool:
    """Whether a ticket's values hold every wanted (position, value)."""
    for at, value in wanted:
        held = values[at]
        if not (value in map(str, held) if isinstance(held, list) else str(held) == value):
            return False
    return True


NO_REPLY = ReplyTime()


def _ends(loop: Loop, metric_sets: list[MetricSet]) -> dict[Any, Any]:
    """Each ticket's loop end (or minutes) from its side-loaded metric set, by ticket id."""
    if loop.name == "first-reply":
        return {m.ticket_id: (m.reply_time_in_minutes or NO_REPLY).calendar for m in metric_sets}
    return {m.ticket_id: m.solved_at for m in metric_sets}


def _pages(http: Http, base_url: str, query: str, loop: Loop, cursor: str | None) -> Iterator[Page]:
    url = f"{base_url}/api/v2/incremental/tickets/cursor.json"
    params: dict[str, str | int] = {"include": "metric_sets"}
    params |= {"cursor": cursor} if cursor else {"start_time": 0}
    wanted, names = filters(query), ticket_fields(filters(query))
    positions = [(names.index(field), value) for field, value in wanted.items()]

    def following(answer: Answer) -> Asked | None:
        after = text(answer.body.after_cursor)
        if answer.body.end_of_stream is not False or not after:
            return None
        return http.ask(url, {"include": "metric_sets", "cursor": after})  # as after_url, with the side-load

    for body, _ in http.paged(http.ask(url, params), page_decoder(wanted), following):
        ends = _ends(loop, body.metric_sets or [])
        # the fields by position (TICKET_FIELDS: id, created_at, status, then the filtered ones)
        tickets = [t for t in body.tickets if t.field2 != "deleted"]
        if positions:
            tickets = [t for t in tickets if _matches(msgspec.structs.astuple(t), positions)]
        ids = [t.field0 for t in tickets]
        records = page_records(ids, [t.field1 for t in tickets], [ends.get(i) for i in ids], http.tool)
        cursor = text(body.after_cursor) or cursor
        yield Page(records, cursor)


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
