"""Jira issues by JQL through Jira Cloud's REST API v3 search.

``GET /rest/api/3/search?jql=...&startAt=N&maxResults=100&fields=created,resolutiondate,updated``
(developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search): a page is
``{"startAt", "maxResults", "total", "issues": [{"id", "key", "fields": {...}}]}``; the next page
starts at ``startAt + len(issues)`` until ``total``. Timestamps are written ``2024-03-18T10:15:30.000+0000``.

The cursor is the latest ``updated`` seen, in UTC. JQL compares dates to the minute and in the
Jira user's own time zone, which the API does not say: the next pull asks from a day before the
cursor, so no zone can hide an update; records seen again unchanged are not written twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from aiops.sources.connector import Loop, Page, Record, Tool, bearer_or_basic, expect, record_id, text
from aiops.sources.http import Http

PAGE_SIZE = 100
OVERLAP = timedelta(days=1)
FIELDS = "created,resolutiondate,updated"


def check_query(query: str) -> str | None:
    if not query.strip():
        return "the query is a JQL filter, e.g. project = AVRO"
    if "order by" in query.lower():
        return "leave ORDER BY out of the JQL: the pull orders by updated time itself"
    return None


def updated_utc(value: object) -> str | None:
    """Jira's ``2024-03-18T10:15:30.000+0000`` as ISO UTC (None when unreadable)."""
    try:
        moment = datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return None
    return moment.astimezone(UTC).isoformat()


def jql(query: str, cursor: str | None) -> str:
    if cursor is None:
        return f"({query}) ORDER BY updated ASC"
    since = datetime.fromisoformat(cursor) - OVERLAP
    return f'({query}) AND updated >= "{since:%Y-%m-%d %H:%M}" ORDER BY updated ASC'


def _pages(http: Http, base_url: str, query: str, loop: Loop, cursor: str | None) -> Iterator[Page]:
    url = f"{base_url}/rest/api/3/search"
    search, start, newest = jql(query, cursor), 0, cursor
    while True:
        params: dict[str, str | int] = {
            "jql": search,
            "startAt": start,
            "maxResults": PAGE_SIZE,
            "fields": FIELDS,
        }
        body, _ = http.get(url, params)
        body = expect(body, dict, "the page", http.tool)
        issues = expect(body.get("issues"), list, "issues", http.tool)
        records: list[Record] = []
        for issue in issues:
            fields = expect(issue, dict, "an issue", http.tool).get("fields") or {}
            end = fields.get("resolutiondate")
            records.append((record_id(issue.get("key"), http.tool), text(fields.get("created")), text(end)))
        if issues:  # ordered by updated: the page's last issue is its latest (one parse a page)
            latest = updated_utc((issues[-1].get("fields") or {}).get("updated"))
            newest = max(newest or "", latest or "") or None
        yield Page(records, newest)
        start += len(issues)
        total = body.get("total")  # without it, a short page is the last
        if not issues or (start >= total if isinstance(total, int) else len(issues) < PAGE_SIZE):
            return


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
