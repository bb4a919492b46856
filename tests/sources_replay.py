"""A replay server for the source connectors: GitHub, Jira and Zendesk APIs on 127.0.0.1.

Each API serves its records in the response format its public documentation gives:

- GitHub REST, "List repository issues" (docs.github.com/rest/issues/issues#list-repository-issues):
  a JSON array of issues, pull requests among them with a ``pull_request`` object holding
  ``merged_at``; ``since`` keeps items updated at or after it; ``sort=updated&direction=asc``;
  ``per_page``/``page``, and the next page in the ``Link`` header
  (docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api). Rate limits answer
  429 with ``Retry-After``, or 403 with ``X-RateLimit-Remaining: 0`` and ``X-RateLimit-Reset``
  (docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api).
- Jira Cloud REST v3 "Search for issues using JQL enhanced search (GET)", ``/rest/api/3/search/jql``
  (developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/
  #api-rest-api-3-search-jql-get; the legacy ``/rest/api/3/search`` is removed from Jira Cloud:
  Atlassian KB "Run JQL search query using Jira Cloud REST API"): ``{"issues": [{"expand", "id",
  "self", "key", "fields": {...}}], "nextPageToken", "isLast"}`` (the OpenAPI schema
  SearchAndReconcileResults), the token absent on the last page and opaque (here random, held by
  the server); ``maxResults`` defaults to 50 and is honoured up to ``JIRA_CLOUD_CAP``: 5000 when
  only ``id``/``key`` are asked (the documented most), 100 a page with other fields (the docs say only
  "may return fewer items per page where a large number of fields ... are requested"; 100 is what
  the removed search granted with fields). A test may set ``data["cap"]``. An unknown token is a 400.
- Jira Data Center REST v2 "Search for issues using JQL" (docs.atlassian.com/software/jira/docs/api/
  REST/latest/#api/2/search): ``{"expand", "startAt", "maxResults", "total", "issues": [...]}``, 100
  a page at most; a page past the search's result window (``data["window"]``, 10,000 by default) is a
  500 with the message Atlassian's KB "Handling JQL REST API searching exceeding max_result_window in
  Jira" quotes.
  Both write timestamps as ``2018-04-21T15:44:36.749+0000``.
- Zendesk "Incremental Ticket Export, Cursor Based" (developer.zendesk.com/api-reference/ticketing/
  ticket-management/incremental_exports/): ``{"tickets", "metric_sets" (with include=metric_sets),
  "after_url", "after_cursor", "before_url", "before_cursor", "end_of_stream"}``; a changed ticket is
  exported again at the end of the stream.

Record values come from real public data where the repository has it: the Jira issues are the
Apache Avro issues of ``realdata/timings/jira_apache_avro-issues.csv`` (a dump of Jira's REST API:
key, created, updated, resolutiondate as Jira writes them); the GitHub pull requests take their
``created_at``/``closed_at`` from ``realdata/timings/github_prs_top_repos_2025.csv``. Zendesk tickets
are generated in the documented shape (no public ticket export is in the repository).

Faults are set per server: ``fail`` maps a request number (1-based) to a fault: an HTTP status with
headers (a 429 with Retry-After, a 401), or ``DROP`` (the connection closes without an answer).
"""

from __future__ import annotations

import base64
import csv
import functools
import json
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from aiops.sources.transport import StdlibTransport

DROP = "drop"
Answer = tuple[int, dict[str, str], Any]  # status, headers, JSON body (or its bytes, encoded once)


@dataclass
class Replay:
    """One API on a free loopback port; ``requests`` records what was asked (path, query, auth)."""

    route: Callable[[Replay, str, dict[str, str]], Answer]
    fail: dict[int, Any] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str], str | None]] = field(default_factory=list)
    url: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def start(self) -> Replay:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real APIs
            disable_nagle_algorithm = True  # headers and body go out at once (no delayed-ACK stall)

            def do_GET(self) -> None:  # noqa: N802 - the http.server hook's name
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                replay.requests.append((parts.path, query, self.headers.get("Authorization")))
                fault = replay.fail.get(len(replay.requests))
                if fault == DROP:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                status, headers, body = fault if fault else replay.route(replay, parts.path, query)
                payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        # shutdown() waits for the loop to look again: every 0.5 s by default, half a second per test.
        serve = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02})
        serve.daemon = True
        serve.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def rate_limited(seconds: int) -> Answer:
    return 429, {"Retry-After": str(seconds)}, {"message": "API rate limit exceeded"}


UNAUTHORIZED: Answer = (401, {}, {"message": "Bad credentials"})


# -- GitHub ---------------------------------------------------------------------------------------


def github_item(number: int, created: str, updated: str, closed: str | None, merged: str | None, pull: bool):
    """An item of the issues list, with the fields the docs' example response has (trimmed)."""
    item: dict[str, Any] = {
        "url": f"https://api.github.com/repos/octo/repo/issues/{number}",
        "id": 1_000_000 + number,
        "node_id": f"MDU6SXNzdWU{number}",
        "number": number,
        "title": f"Change {number}",
        "user": {"login": "octocat", "id": 1, "type": "User"},
        "labels": [],
        "state": "closed" if closed else "open",
        "locked": False,
        "comments": 0,
        "created_at": created,
        "updated_at": updated,
        "closed_at": closed,
        "author_association": "CONTRIBUTOR",
    }
    if pull:
        item["pull_request"] = {
            "url": f"https://api.github.com/repos/octo/repo/pulls/{number}",
            "html_url": f"https://github.com/octo/repo/pull/{number}",
            "diff_url": f"https://github.com/octo/repo/pull/{number}.diff",
            "patch_url": f"https://github.com/octo/repo/pull/{number}.patch",
            "merged_at": merged,
        }
    return item


def github_prs_from_realdata(path, limit: int) -> list[dict[str, Any]]:
    """Pull requests with the real created/closed times of the GitHub PR dataset (merged ones
    carry merged_at = closed_at), and one plain issue every tenth item (the list serves both)."""
    items = []
    with open(path, newline="", encoding="utf-8") as f:
        for number, row in enumerate(csv.DictReader(f), start=1):
            if number > limit:  # ``limit`` pull requests
                break
            created, closed = row["created_at"], row["closed_at"] or None
            merged = closed if row["status"] == "merged" else None
            items.append(github_item(number, created, closed or created, closed, merged, True))
            if number % 10 == 0:
                items.append(github_item(90_000 + number, created, created, None, None, False))
    return items


def github_route(replay: Replay, path: str, query: dict[str, str]) -> Answer:
    if not re.fullmatch(r"/repos/[^/]+/[^/]+/issues", path):
        return 404, {}, {"message": "Not Found"}
    items = sorted(replay.data["items"], key=lambda i: i["updated_at"])
    if "since" in query:
        items = [i for i in items if i["updated_at"] >= query["since"]]
    per_page, page = int(query.get("per_page", 30)), int(query.get("page", 1))
    chunk = items[(page - 1) * per_page : page * per_page]
    headers = {}
    if page * per_page < len(items):  # as GitHub: next, last and first (the docs' example)
        here = f"{replay.url}{path}"
        following, last = (urlencode(query | {"page": n}) for n in (page + 1, -(-len(items) // per_page)))
        headers["Link"] = (
            f'<{here}?{following}>; rel="next", <{here}?{last}>; rel="last", <{here}?page=1>; rel="first"'
        )
    return 200, headers, chunk


# -- Jira -----------------------------------------------------------------------------------------


def jira_issue(key: str, created: str, updated: str, resolved: str | None) -> dict[str, Any]:
    number = int(key.rpartition("-")[2])
    return {
        "expand": "operations,versionedRepresentations,editmeta,changelog,renderedFields",
        "id": str(10_000 + number),
        "self": f"https://issues.example.net/rest/api/3/issue/{10_000 + number}",
        "key": key,
        "fields": {"created": created, "updated": updated, "resolutiondate": resolved},
    }


def jira_issues_from_realdata(path) -> list[dict[str, Any]]:
    """The Apache Avro issues as Jira's REST API wrote them (NA = null in that dump)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [
        jira_issue(
            r["key"], r["created"], r["updated"], None if r["resolutiondate"] == "NA" else r["resolutiondate"]
        )
        for r in rows
    ]


_SINCE = re.compile(r'updated >= "(\d{4}-\d\d-\d\d \d\d:\d\d)"')


def _jira_search(replay: Replay, query: dict[str, str]) -> list[dict[str, Any]]:
    """The issues the JQL selects, ordered by updated (as ``ORDER BY updated ASC`` asks)."""
    issues = sorted(replay.data["issues"], key=lambda i: jira_utc(i["fields"]["updated"]))
    since = _SINCE.search(query.get("jql", ""))
    if since:  # the JQL date in the (UTC) user's zone, to the minute
        issues = [i for i in issues if jira_utc(i["fields"]["updated"])[:16] >= since[1].replace(" ", "T")]
    return issues


JIRA_CLOUD_CAP = {"ids": 5000, "fields": 100}


def jira_route(replay: Replay, path: str, query: dict[str, str]) -> Answer:
    """Jira Cloud's enhanced search: pages by opaque ``nextPageToken`` (the position it stands for
    is the server's own), at most ``JIRA_CLOUD_CAP`` issues a page whatever is asked."""
    if path != "/rest/api/3/search/jql":
        return 404, {}, {"errorMessages": ["Not found"]}
    issues, tokens = _jira_search(replay, query), replay.data.setdefault("tokens", {})
    start = tokens.get(query["nextPageToken"]) if "nextPageToken" in query else 0
    if start is None:
        return 400, {}, {"errorMessages": ["The provided next page token is invalid or expired."]}
    only_ids = set(query.get("fields", "id").split(",")) <= {"id", "key"}
    cap = replay.data.get("cap", JIRA_CLOUD_CAP["ids" if only_ids else "fields"])
    end = start + min(int(query.get("maxResults", 50)), cap)
    body: dict[str, Any] = {"issues": issues[start:end], "isLast": end >= len(issues)}
    if end < len(issues):
        token = secrets.token_urlsafe(24)
        tokens[token] = end
        body["nextPageToken"] = token
    return 200, {}, body


def jira_dc_route(replay: Replay, path: str, query: dict[str, str]) -> Answer:
    """Jira Data Center's search: pages by ``startAt`` up to ``total``, 100 at most."""
    if path != "/rest/api/2/search":
        return 404, {}, {"errorMessages": ["Not found"]}
    issues = _jira_search(replay, query)
    start, size = int(query.get("startAt", 0)), min(int(query.get("maxResults", 50)), 100)
    window = replay.data.get("window", 10_000)  # the search engine's max_result_window
    if start + size > window:  # as Atlassian's KB quotes it
        message = (
            f"Search limit exceeded. We couldn't complete your search because it requests {start + size:,}"
        )
        return (
            500,
            {},
            {"errorMessages": [f"{message} results which exceeded the search platform limit of {window:,}."]},
        )
    body = {
        "expand": "schema,names",
        "startAt": start,
        "maxResults": size,
        "total": len(issues),
        "issues": issues[start : start + size],
    }
    return 200, {}, body


@functools.cache  # every search sorts all its issues by this: strptime ~10 us each, ~20 ms a page asked
def jira_utc(value: str) -> str:
    from datetime import UTC, datetime

    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC).isoformat()


# -- Zendesk --------------------------------------------------------------------------------------


def zendesk_ticket(ticket_id: int, created: str, updated: str, solved: str | None, reply_minutes: int | None):
    """A ticket and its metric set, trimmed from the docs' examples."""
    ticket = {
        "url": f"https://example.zendesk.com/api/v2/tickets/{ticket_id}.json",
        "id": ticket_id,
        "created_at": created,
        "updated_at": updated,
        "type": "incident",
        "subject": f"Ticket {ticket_id}",
        "status": "solved" if solved else "open",
        "group_id": 360001,
        "tags": ["ai-triage"],
    }
    metrics = {
        "id": 50_000 + ticket_id,
        "ticket_id": ticket_id,
        "created_at": created,
        "updated_at": updated,
        "solved_at": solved,
        "reply_time_in_minutes": {"calendar": reply_minutes, "business": reply_minutes},
        "full_resolution_time_in_minutes": {"calendar": None, "business": None},
    }
    return ticket, metrics


def zendesk_route(replay: Replay, path: str, query: dict[str, str]) -> Answer:
    """The stream is the list of ticket versions in export order; a cursor is a position in it."""
    if path != "/api/v2/incremental/tickets/cursor.json":
        return 404, {}, {"error": "InvalidEndpoint"}
    stream = replay.data["stream"]
    size = replay.data.get("page_size", 1000)
    start = int(base64.b64decode(query["cursor"]).decode()) if "cursor" in query else 0
    chunk = stream[start : start + size]
    end = start + len(chunk)
    after = base64.b64encode(str(end).encode()).decode()
    body = {
        "tickets": [t for t, _ in chunk],
        "after_url": f"{replay.url}{path}?cursor={after}",
        "after_cursor": after,
        "before_url": None,
        "before_cursor": None,
        "end_of_stream": end >= len(stream),
    }
    if query.get("include") == "metric_sets":
        body["metric_sets"] = [m for _, m in chunk]
    return 200, {}, body


class ToReplay(StdlibTransport):
    """Requests to any site answered by a replay server: a Jira Cloud site's own address
    (``https://avro.atlassian.net``) served on loopback, through the pulls' own transport (the
    request unchanged: its URL and Host header still the site's; only the connection goes to the
    replay server, so a pull pays for no rewriting a real one does not do). Tests put it where a
    pull finds its transport (``aiops.sources.http.site_transport``); the bench passes it in
    ``PullOptions``."""

    def __init__(self, replay_url: str) -> None:
        super().__init__()
        there = httpx.URL(replay_url)
        self.replay_site = (there.scheme, there.host, there.port or 80)

    def site(self, url: httpx.URL) -> tuple[str, str, int]:
        return self.replay_site
