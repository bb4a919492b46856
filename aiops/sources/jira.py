"""Jira issues by JQL: Jira Cloud's enhanced search, or Jira Data Center's search, by the site.

A base URL on ``*.atlassian.net`` (every Jira Cloud site's address) or ``api.atlassian.com`` (Cloud
through OAuth 2.0 apps: ``/ex/jira/{cloudId}``) is Jira Cloud; any other is a self-hosted Jira Data
Center or Server. The two have different search APIs and neither serves the other's.

**Jira Cloud**: ``GET /rest/api/3/search/jql?jql=...&maxResults=5000&fields=...``
then ``&nextPageToken=...`` (developer.atlassian.com/cloud/jira/platform/rest/v3/
api-group-issue-search/#api-rest-api-3-search-jql-get). The legacy ``/rest/api/3/search`` with
``startAt``/``total`` "is deprecated and has been fully removed from Jira Cloud" (Atlassian KB
"Run JQL search query using Jira Cloud REST API",
confluence.atlassian.com/display/JIRAKB/Run+JQL+search+query+using+Jira+Cloud+REST+API;
deprecation announced 31 Oct 2024). A page is ``{"issues": [{"id", "key", "self", "fields"}],
"nextPageToken", "isLast"}``: no total, no ``startAt``; the token is "not included in the response
for the last page" (the endpoint's OpenAPI text). ``maxResults``: "To manage page size, API may
return fewer items per page where a large number of fields or properties are requested. The
greatest number of items returned per page is achieved when requesting id or key only. It returns
max 5000 issues. Default value: 50." So the pull asks 5000 and takes what it is given: it follows
the token until there is none, and an empty page ends it too (a page shorter than asked is not the
end). A token is known only from the page before it, so these pages come one at a time ("a more
sequential approach": Atlassian's "Avoiding Pitfalls: A Guide to Smooth Migration to Enhanced JQL
APIs", community.atlassian.com/forums/Jira-articles/Avoiding-Pitfalls-A-Guide-to-Smooth-Migration-
to-Enhanced-JQL/ba-p/2985433).

**Jira Data Center / Server** (self-hosted; Atlassian still sells and documents Data Center):
``GET /rest/api/2/search?jql=...&startAt=N&maxResults=100&fields=...``
(docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/search; Data Center has no REST v3):
a page is ``{"startAt", "maxResults", "total", "issues"}``; the next starts at ``startAt +
len(issues)`` until ``total``, known ahead, so a few pages are asked at once. The search engine
refuses a page past its result window (startAt + maxResults over 10,000 by default: Atlassian KB
"Handling JQL REST API searching exceeding max_result_window in Jira", support.atlassian.com/jira/
kb/handling-jql-rest-api-searching-exceeding-max_result_window-in-jira): a pull stops at the window
and the next goes on from its cursor, the results being in updated order (several pulls catch up
a large project); more than the window's issues changed within the day of overlap is refused.

Both write timestamps as ``2024-03-18T10:15:30.000+0000``. The cursor is the latest ``updated``
seen, in UTC. JQL compares dates to the minute and in the Jira user's own time zone, which the API
does not say, and Cloud's search is eventually consistent ("recent updates might not be
immediately visible"): the next pull asks from a day before the cursor, so neither can hide an
update; records seen again unchanged are not written twice. A page is decoded into the few fields
a record needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import msgspec

from aiops.sources.connector import Loop, Page, Resume, Tool, bearer_or_basic, first_time, page_records
from aiops.sources.http import Answer, Asked, Http, SourceUnavailable, asked_ahead

CLOUD_MAX_RESULTS = 5000  # the documented most a page returns (with id or key only; fewer with fields)
DC_PAGE_SIZE = 100
DC_RESULT_WINDOW = 10_000  # Data Center's search engine's max_result_window, by default
OVERLAP = timedelta(days=1)
FIELDS = "created,resolutiondate,updated"


class Fields(msgspec.Struct, gc=False):
    """An issue's fields: values stay as served (the import judges them)."""

    created: Any = None
    updated: Any = None
    resolutiondate: Any = None


class Issue(msgspec.Struct, gc=False):
    key: str | int | None = None  # an id: a JSON string (or number); anything else is not an issue
    fields: Fields | None = None


class CloudPage(msgspec.Struct, gc=False):
    issues: list[Issue]
    nextPageToken: Any = None  # noqa: N815 - the API's name


class DataCenterPage(msgspec.Struct, gc=False):
    issues: list[Issue]
    total: Any = None


CLOUD_PAGE = msgspec.json.Decoder(CloudPage)
DC_PAGE = msgspec.json.Decoder(DataCenterPage)


def check_query(query: str) -> str | None:
    if not query.strip():
        return "the query is a JQL filter, e.g. project = AVRO"
    if "order by" in query.lower():
        return "leave ORDER BY out of the JQL: the pull orders by updated time itself"
    return None


def is_cloud(base_url: str) -> bool:
    host = urlsplit(base_url).hostname or ""
    return host.endswith(".atlassian.net") or host == "api.atlassian.com"


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


def _page(issues: list[Issue], newest: str | None, tool: str) -> Page:
    """A page's records, and the cursor after it: ordered by updated, the page's last issue is
    its latest (one timestamp parsed a page)."""
    if issues:
        latest = updated_utc((issues[-1].fields or NO_FIELDS).updated)
        newest = max(newest or "", latest or "") or None
    fields = [issue.fields or NO_FIELDS for issue in issues]
    records = page_records(
        [issue.key for issue in issues], [f.created for f in fields], [f.resolutiondate for f in fields], tool
    )
    return Page(records, newest)


# -- Jira Cloud: /rest/api/3/search/jql, pages by nextPageToken ------------------------------------


def _cloud_pages(http: Http, base_url: str, query: str, loop: Loop, cursor: str | None) -> Iterator[Page]:
    url = f"{base_url}/rest/api/3/search/jql"
    params: dict[str, str | int] = {
        "jql": jql(query, cursor),
        "maxResults": CLOUD_MAX_RESULTS,
        "fields": FIELDS,
    }
    given = set[str]()

    def following(answer: Answer) -> Asked | None:
        body: CloudPage = answer.body
        token = body.nextPageToken
        if not body.issues or not token:
            return None
        # What a token stands for is Jira's own: a record served twice rewinds the cursor here too.
        return http.ask(url, params | {"nextPageToken": first_time(given, str(token), http.tool)})

    newest, resume = cursor, Resume(cursor)
    for body, _ in http.paged(http.ask(url, params), CLOUD_PAGE, following):
        page = _page(body.issues, newest, http.tool)
        newest = page.cursor
        yield Page(page.records, resume.after([issue.key for issue in body.issues], newest))


# -- Jira Data Center: /rest/api/2/search, pages by startAt up to total ----------------------------


def _data_center_pages(
    http: Http, base_url: str, query: str, loop: Loop, cursor: str | None
) -> Iterator[Page]:
    url = f"{base_url}/rest/api/2/search"
    search, newest = jql(query, cursor), cursor

    def page_at(start: int) -> DataCenterPage:
        params: dict[str, str | int] = {
            "jql": search,
            "startAt": start,
            "maxResults": DC_PAGE_SIZE,
            "fields": FIELDS,
        }
        return http.get(url, params, DC_PAGE)[0]

    total, resume = None, Resume(cursor)
    for body in _in_order(page_at):
        page = _page(body.issues, newest, http.tool)
        newest, total = page.cursor, body.total
        yield Page(page.records, resume.after([issue.key for issue in body.issues], newest))
    if isinstance(total, int) and total > DC_RESULT_WINDOW and (newest or "") <= (cursor or ""):
        raise SourceUnavailable(  # the window's issues all changed within the overlap: no progress
            f"the {http.tool} API's search stops at {DC_RESULT_WINDOW:,} results, and more issues than"
            " that changed within a day of the last pull",
            "split the source's JQL (e.g. by created date) into several sources; nothing was written",
        )


def _in_order(page_at: Callable[[int], DataCenterPage]) -> Iterator[DataCenterPage]:
    """The search's pages in order. Once a page tells the total and the page size Jira grants,
    the pages up to the total are asked ahead (``asked_ahead``); a page shorter than that size
    before the end (the results moved) drops those asked past it, and the pull asks on from where
    it ended, as one page at a time would. No page reaches past the search's result window: a
    pull stops there, and the next one goes on from its cursor (the results are in updated order)."""
    last = DC_RESULT_WINDOW - DC_PAGE_SIZE  # the last start whose page fits in the window
    start, step, total = 0, 0, None
    while True:
        if total is not None and step:
            starts = range(start, min(total, last + 1), step)
        else:
            starts = range(start, start + 1)
        with closing(asked_ahead(page_at, starts)) as bodies:
            for planned, body in zip(starts, bodies, strict=False):
                yield body
                start = planned + len(body.issues)
                total = body.total if isinstance(body.total, int) else None
                if (
                    not body.issues
                    or start > last
                    or (start >= total if total is not None else len(body.issues) < DC_PAGE_SIZE)
                ):
                    return  # without a total, a short page is the last
                step = step or len(body.issues)
                if len(body.issues) != step:
                    break


def _pages(http: Http, base_url: str, query: str, loop: Loop, cursor: str | None) -> Iterator[Page]:
    pages = _cloud_pages if is_cloud(base_url) else _data_center_pages
    return pages(http, base_url, query, loop, cursor)


JIRA = Tool(
    name="jira",
    title="Jira issues (JQL)",
    default_base_url="https://your-site.atlassian.net",
    query_help="a JQL filter, e.g. project = AVRO AND issuetype = Bug (Jira Cloud or Data Center)",
    loops=(Loop("resolution", "Created → resolved"),),
    auth_header=bearer_or_basic,
    pages=_pages,
    check_query=check_query,
)
