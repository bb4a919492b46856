"""What every connector gives a pull: the loops its records measure, its auth header, and its pages.

A connector turns one tool's documented API pages into records of three fields: the record's id in
the tool, when its loop started, and when it ended (or its duration in minutes). Those records are
written as a CSV and imported through the same checks as an uploaded file (``aiops.sources.pull``):
a connector never judges a value; a missing end or an unreadable timestamp is a reject there.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import repeat
from typing import Any, Literal
from urllib.parse import urlsplit

from aiops.ingest.mapping import TimeKind
from aiops.sources.http import Http, SourceUnavailable

Record = tuple[str, Any, Any]  # id in the tool, loop start, loop end (or minutes): as served, written as text


@dataclass(frozen=True)
class Loop:
    """One loop a tool's records measure: start → end timestamps, or a duration in minutes."""

    name: str
    label: str
    measure: Literal["span", "minutes"] = "span"
    time_kind: TimeKind = "elapsed"


@dataclass(frozen=True)
class Page:
    """One page of a pull: its records and where a pull that stopped after it would resume."""

    records: list[Record]
    cursor: str | None


@dataclass(frozen=True)
class Tool:
    """A tool a source can pull from."""

    name: str
    title: str
    default_base_url: str
    query_help: str
    loops: tuple[Loop, ...]
    auth_header: Callable[[str], dict[str, str]]
    # (http, base_url, query, loop, cursor) -> pages, in the order the API serves them
    pages: Callable[[Http, str, str, Loop, str | None], Iterator[Page]]
    check_query: Callable[[str], str | None]  # why a query is not valid, or None

    def loop(self, name: str) -> Loop | None:
        return next((loop for loop in self.loops if loop.name == name), None)


def bearer_or_basic(token: str) -> dict[str, str]:
    """``user:secret`` (Jira's email:API token, Zendesk's email/token:API token) is HTTP Basic;
    anything else is an OAuth bearer token."""
    if ":" in token:
        return {"Authorization": "Basic " + base64.b64encode(token.encode()).decode("ascii")}
    return {"Authorization": f"Bearer {token}"}


def same_site(url: str, base_url: str, tool: str) -> str:
    """A next-page URL from the API, refused unless it is on the base URL's site: the token is
    sent with every request and must never go elsewhere."""
    given, base = urlsplit(url), urlsplit(base_url)
    if (given.scheme, given.netloc) != (base.scheme, base.netloc):
        raise SourceUnavailable(
            f"the {tool} API pointed the next page at another site", "nothing was written; check the base URL"
        )
    return url


def first_time(given: set[str], following: str, tool: str) -> str:
    """The next page's URL or token, refused when the API handed it out before in this pull: a
    server doing so would have the pull page forever."""
    if following in given:
        raise SourceUnavailable(
            f"the {tool} API served the same next page twice", "pull again later; nothing was written"
        )
    given.add(following)
    return following


def text(value: Any) -> str | None:
    """A JSON value as CSV text (None stays missing)."""
    return None if value is None else str(value)


def page_records(ids: list[Any], starts: list[Any], ends: list[Any], tool: str) -> list[Record]:
    """A page's records from its columns (one pass each, no call per record: a pull holds 100,000):
    each id as text, the times as served (the CSV writes them as text, a missing one empty). A
    record without its id stops the pull: it could never be replaced when pulled again."""
    if None in ids or "" in ids:
        raise SourceUnavailable(
            f"the {tool} API served a record without its id",
            "check the base URL (the API's); nothing was written",
        )
    return list(zip(map(str, ids), starts, ends, strict=True))


class Resume:
    """Where a pull over a list paged by position (GitHub's page numbers, Jira Data Center's
    ``startAt``), sorted by when each record last changed, resumes. A record changed while the pull
    reads the list moves to its end and every record after it shifts back one place: the one that
    crosses into a page already read is served by neither page. The moved record is served twice,
    which is how the pull sees it happen: the cursor then goes back to where the page it was first
    served on began, so the next pull reads the shifted records again (a record read twice counts
    once: it replaces its earlier sample)."""

    def __init__(self, cursor: str | None) -> None:
        self._before: list[str | None] = [cursor]  # where a pull resumes before each page
        self._first: dict[Any, int] = {}  # a record's id, as served -> the page it was first served on
        self._moved_from: int | None = None

    def after(self, ids: list[Any], newest: str | None) -> str | None:
        """The cursor after a page of records ``ids`` (as the API serves them: GitHub's numbers,
        Jira's keys) whose latest change is ``newest``."""
        page = len(self._before) - 1
        if self._first.keys().isdisjoint(ids):  # as a rule: the page's ids taken in at C speed
            self._first.update(zip(ids, repeat(page)))
        else:
            for record in ids:
                first = self._first.setdefault(record, page)
                if first != page and (self._moved_from is None or first < self._moved_from):
                    self._moved_from = first
        self._before.append(newest)
        return newest if self._moved_from is None else self._before[self._moved_from]
