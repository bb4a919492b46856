"""GitHub pull requests and issues through the REST API's issues list.

``GET /repos/{owner}/{repo}/issues?state=all&sort=updated&direction=asc&since=...&per_page=100``
(docs.github.com/rest/issues/issues#list-repository-issues): the one list that takes ``since`` (only
items updated at or after it) and serves pull requests too, each with a ``pull_request`` object
whose ``merged_at`` is the merge time. Pages follow each page's ``Link`` header's ``rel="next"``
URL (docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api), one request at a
time, as GitHub asks of its clients (see ``_answers``). The cursor is the
latest ``updated_at`` seen; ``since`` is inclusive, so the next pull sees that record again, and
an unchanged record is not written twice. A page is decoded into the few fields a record needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec

from aiops.sources.connector import (
    Loop,
    Page,
    Record,
    Resume,
    Tool,
    first_time,
    page_records,
    same_site,
)
from aiops.sources.http import Answer, Asked, Http

_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?(\w+)"?')
PER_PAGE = 100


class PullRequest(msgspec.Struct, gc=False):
    merged_at: Any = None


class Item(msgspec.Struct, gc=False):
    """An item of the issues list: values stay as served (the import judges them); the number,
    an id, is a JSON number or string (anything else is not an answer of this list)."""

    number: int | str | None = None
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


def linked(link: str | None, rel: str) -> str | None:
    """The URL of a ``Link`` header's ``rel`` (``next``), if any."""
    return next((url for url, name in _LINK.findall(link or "") if name == rel), None)


Served = tuple[list[Item], httpx.Headers]  # a page's items and its headers


def _answers(http: Http, url: str, params: dict[str, str | int], base_url: str) -> Iterator[Served]:
    """The list's pages in order, one request at a time: each next page is the ``rel="next"`` URL
    of the page before, asked as soon as that page is read (``Http.paged``). GitHub
    asks for serial requests ("To avoid exceeding secondary rate limits, you should make requests
    serially instead of concurrently", docs.github.com/rest/guides/best-practices-for-using-the-
    rest-api), so no page is asked ahead of that. A next URL served twice stops the pull (a
    faulty server would have it page forever)."""
    followed = set[str]()

    def following(answer: Answer) -> Asked | None:  # from the headers: asked before the page is decoded
        next_url = linked(answer.headers.get("link"), "next")
        if next_url is None:
            return None
        return http.ask(same_site(first_time(followed, next_url, http.tool), base_url, http.tool))

    return http.paged(http.ask(url, params), PAGE, following)


def _pages(
    pulls: bool, http: Http, base_url: str, query: str, loop: Loop, cursor: str | None
) -> Iterator[Page]:
    url = f"{base_url}/repos/{query}/issues"
    params: dict[str, str | int] = {"state": "all", "sort": "updated", "direction": "asc"}
    params |= {"per_page": PER_PAGE} | ({"since": cursor} if cursor else {})
    newest, merged, resume = cursor, loop.name == "time-to-merge", Resume(cursor)
    for items, _ in _answers(http, url, params, base_url):
        if items:  # sorted by updated: the page's last item is its latest
            newest = max(newest or "", str(items[-1].updated_at or "")) or None
        kept = [item for item in items if (item.pull_request is not None) == pulls]  # the list holds both
        yield Page(_records(kept, merged, http.tool), resume.after([item.number for item in items], newest))


def _records(items: list[Item], merged: bool, tool: str) -> list[Record]:
    ends = [
        item.pull_request.merged_at if merged and item.pull_request is not None else item.closed_at
        for item in items
    ]
    return page_records([item.number for item in items], [item.created_at for item in items], ends, tool)


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
