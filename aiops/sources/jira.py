"""Jira issues by JQL through Jira Cloud's REST API v3 search.

``GET /rest/api/3/search?jql=...&startAt=N&maxResults=100&fields=created,resolutiondate,updated``
(developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search): a page is
``{"startAt", "maxResults", "total", "issues": [{"id", "key", "fields": {...}}]}``; the next page
starts at ``startAt + len(issues)`` until ``total``: known ahead, so a few pages are asked at once.
Timestamps are written ``2024-03-18T10:15:30.000+0000``.

The cursor is the latest ``updated`` seen, in UTC. JQL compares dates to the minute and in the
Jira user's own time zone, which the API does not say: the next pull asks from a day before the
cursor, so no zone can hide an update; records seen again unchanged are not written twice.
A page is decoded into the few fields a record needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from aiops.sources.connector import Loop, Page, Record, Tool, bearer_or_basic, page_records
from aiops.sources.http import Http, asked_ahead

PAGE_SIZE = 100
OVERLAP = timedelta(days=1)
FIELDS = "created,resolutiondate,updated"


class Fields(msgspec.Struct, gc=False):
    """An issue's fields: values stay as served (the import judges them)."""

    created: Any = None
    updated: Any = None
    resolutiondate: Any = None


class Issue(msgspec.Struct, gc=False):
    key: Any = None
    fields: Fields | None = None


class SearchPage(msgspec.Struct, gc=False):
    issues: list[Issue]
    total: Any = None


PAGE = msgspec.json.Decoder(SearchPage)


def check_query(query: str) -> str | None:
    if not query.strip():
        return "the query is a JQL filter, e.g. project = AVRO"
    if "order by" in query.lower():
        return "leave ORDER BY out of the JQL: the pull orders by updated time itself"
    return None


def updated_utc(value: object) -> str | None:
    """Jira's ``2024-03-18T10:15:30.000+0000`` as ISO UTC (None when unreadable or without its zone)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment.astimezone(UTC).isoformat() if moment.tzinfo is not None else None


def jql(query: str, cursor: str | None) -> str:
    if cursor is None:
        return f"({query}) ORDER BY updated ASC"
    since = datetime.fromisoformat(cursor) - OVERLAP
    return f'({query}) AND updated >= "{since:%Y-%m-%d %H:%M}" ORDER BY updated ASC'


NO_FIELDS = Fields()


def _records(issues: list[Issue], tool: str) -> list[Record]:
    fields = [issue.fields or NO_FIELDS for issue in issues]
    return page_records(
        [issue.key for issue in issues], [f.created for f in fields], [f.resolutiondate for f in fields], tool
    )


def _pages(http: Http, base_url: str, query: str, loop: Loop, cursor: str | None) -> Iterator[Page]:
    url = f"{base_url}/rest/api/3/search"
    search, newest = jql(query, cursor), cursor

    def page_at(start: int) -> SearchPage:
        params: dict[str, str | int] = {
            "jql": search,
            "startAt": start,
            "maxResults": PAGE_SIZE,
            "fields": FIELDS,
        }
        return http.get(url, params, PAGE)[0]

    for body in _in_order(page_at):
        issues = body.issues
        if issues:  # ordered by updated: the page's last issue is its latest (one parse a page)
            latest = updated_utc((issues[-1].fields or NO_FIELDS).updated)
            newest = max(newest or "", latest or "") or None
        yield Page(_records(issues, http.tool), newest)


def _in_order(page_at: Callable[[int], SearchPage]) -> Iterator[SearchPage]:
    """The search's pages in order. Once a page tells the total and the page size Jira grants,
    the pages up to the total are asked ahead (``asked_ahead``); a page shorter than that size
    before the end (the results moved) drops those asked past it, and the pull asks on from where
    it ended, as one page at a time would."""
    start, step, total = 0, 0, None
    while True:
        starts = range(start, total, step) if total is not None and step else range(start, start + 1)
        with closing(asked_ahead(page_at, starts)) as bodies:
            for planned, body in zip(starts, bodies, strict=False):
                yield body
                start = planned + len(body.issues)
                total = body.total if isinstance(body.total, int) else None
                if not body.issues or (start >= total if total is not None else len(body.issues) < PAGE_SIZE):
                    return  # without a total, a short page is the last
                step = step or len(body.issues)
                if len(body.issues) != step:
                    break


JIRA = Tool(
    name="jira",
    title="Jira issues (JQL)",
    default_base_url="https://your-site.atlassian.net",
    query_help="a JQL filter, e.g. project = AVRO AND issuetype = Bug",
    loops=(Loop("resolution", "Created → resolved"),),
    auth_header=bearer_or_basic,
    pages=_pages,
    check_query=check_query,
)
