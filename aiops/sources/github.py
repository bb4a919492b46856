"""GitHub pull requests and issues through the REST API's issues list.

``GET /repos/{owner}/{repo}/issues?state=all&sort=updated&direction=asc&since=...&per_page=100``
(docs.github.com/rest/issues/issues#list-repository-issues): the one list that takes ``since`` (only
items updated at or after it) and serves pull requests too, each with a ``pull_request`` object
whose ``merged_at`` is the merge time. Pages follow the ``Link`` header's ``rel="next"`` URL
(docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api). The cursor is the
latest ``updated_at`` seen; ``since`` is inclusive, so the next pull sees that record again, and
an unchanged record is not written twice. A page is decoded into the few fields a record needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import msgspec

from aiops.sources.connector import Loop, Page, Record, Tool, record_id, same_site, text
from aiops.sources.http import Http

_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
PER_PAGE = 100


class PullRequest(msgspec.Struct):
    merged_at: Any = None


class Item(msgspec.Struct):
    """An item of the issues list: values stay as served (the import judges them)."""

    number: Any = None
    created_at: Any = None
    updated_at: Any = None
    closed_at: Any = None
    pull_request: PullRequest | None = None  # only pull requests have one


PAGE = msgspec.json.Decoder(list[Item])


def auth_header(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }


def check_query(query: str) -> str | None:
    return None if _REPO.fullmatch(query) else "the query is the repository, as owner/name"


def next_link(link: str | None) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header, if any."""
    match = _NEXT.search(link or "")
    return match[1] if match else None


def _pages(
    pulls: bool, http: Http, base_url: str, query: str, loop: Loop, cursor: str | None
) -> Iterator[Page]:
    url: str | None = f"{base_url}/repos/{query}/issues"
    params: dict[str, str | int] | None = {"state": "all", "sort": "updated", "direction": "asc"}
    params = (params or {}) | {"per_page": PER_PAGE} | ({"since": cursor} if cursor else {})
    newest = cursor
    while url is not None:
        items, headers = http.get(url, params, PAGE)
        records: list[Record] = []
        for item in items:
            newest = max(newest or "", str(item.updated_at or "")) or None
            pull = item.pull_request
            if (pull is not None) != pulls:
                continue  # the list holds both: keep the kind this source measures
            end = pull.merged_at if pull is not None and loop.name == "time-to-merge" else item.closed_at
            records.append((record_id(item.number, http.tool), text(item.created_at), text(end)))
        yield Page(records, newest)
        following = next_link(headers.get("link"))
        url, params = (same_site(following, base_url, http.tool) if following else None), None


def _pulls(http: Http, base_url: str, query: str, loop: Loop, cursor: str | None) -> Iterator[Page]:
    return _pages(True, http, base_url, query, loop, cursor)


def _issues(http: Http, base_url: str, query: str, loop: Loop, cursor: str | None) -> Iterator[Page]:
    return _pages(False, http, base_url, query, loop, cursor)


PULLS = Tool(
    name="github_pulls",
    title="GitHub pull requests",
    default_base_url="https://api.github.com",
    query_help="owner/repository",
    loops=(
        Loop("time-to-merge", "Opened → merged"),
        Loop("time-to-close", "Opened → closed (merged or not)"),
    ),
    auth_header=auth_header,
    pages=_pulls,
    check_query=check_query,
)
ISSUES = Tool(
    name="github_issues",
    title="GitHub issues",
    default_base_url="https://api.github.com",
    query_help="owner/repository",
    loops=(Loop("time-to-close", "Opened → closed"),),
    auth_header=auth_header,
    pages=_issues,
    check_query=check_query,
)
