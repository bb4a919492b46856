"""A pull against an upload: N records (default 100,000) pulled from a replay server of the tool's
API, against importing the same records from a CSV, in the same run.

Both sides end in the same place: a fresh store with one workflow, the records checked and
committed as one batch. The CSV side imports the file a pull writes (record id, start, end, as the
tool serves them: Jira's keys and its own timestamp format) with the same mapping
(``import_timings``); the pull side adds a source and runs
``pull_source`` against the replay server (tests/sources_replay.py) on 127.0.0.1: every page
fetched over HTTP, decoded, written as that CSV, imported, the batch and the cursor committed. The
server runs in its own process, its pages encoded once before the clock starts (a real API's
rendering is not ours).

Prints each side's best time of ``--repeat`` rounds (a CSV import then a pull each, fresh stores),
the pull's share spent fetching, and the ratio pull speed / CSV speed (target: ≥ 0.5) two ways: of
the best times, and the median of the rounds' own ratios (the two sides of a round ran under the
same load from the machine's other work; best times of each side alone may come from different
loads). The target is met when both are.

``--parts`` says where a pull's time goes instead, each figure the best and the median of
``--repeat`` rounds against the same server: the bare requests (every page asked one at a time on
one kept ``http.client`` connection, read and not decoded: what the server and loopback cost), the
pull's fetch alone (``fetch``: requests, decoding, records; nothing written), the CSV import alone,
and the CSV import run in a second thread while a fetch runs (the wall time until both end, and the
fetch's own): the most a pull could gain by importing while it fetches, in one process.

    python -m bench.pull [--records 100000] [--tool zendesk|jira|github_pulls] [--repeat 5] [--parts]
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import http.client
import json
import multiprocessing
import os
import statistics
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from aiops.auth import Actor
from aiops.ingest.timings import import_timings
from aiops.inventory import save_workflows
from aiops.sources import pull as pull_module
from aiops.sources.model import Source, add_source, find_source, spec_from
from aiops.sources.pull import PullOptions, PullResult, mapping_for, pull_source
from aiops.store import Store
from aiops.workflow import Workflow
from tests.sources_replay import Replay, ToReplay, github_item, jira_issue, zendesk_ticket

ADMIN = Actor(name="bench", role="admin")
WORKFLOW = "bench-pulled"
GO_LIVE = "2025-01-01"
# Records a page: Zendesk's and GitHub's documented maximum. Jira Cloud's search/jql documents 5000
# only for id/key and says it "may return fewer items per page where a large number of fields ...
# are requested" with no number: the pull asks 5000 and follows what it gets; the bench serves 100
# (conservative: what the removed /rest/api/3/search granted with fields).
PAGE_SIZE = {"zendesk": 1000, "jira": 100, "github_pulls": 100}
JIRA_SITE = "https://bench.atlassian.net"  # a Jira Cloud address: the pull uses Cloud's search/jql


def moments(n: int) -> tuple[str, str]:
    """A record's created and resolved times (ISO UTC), spread over 2024-2025."""
    start = 1_704_067_200 + (n * 104_729) % 63_000_000
    end = start + 600 + (n * 7919) % 400_000
    return (
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start)),
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(end)),
    )


def served(tool: str, n: int) -> tuple[str, str, str]:
    """Record ``n`` as the tool serves it: its id and times as text (Jira writes its own
    timestamps), which is also what the pull writes to import, and the CSV side's line."""
    start, end = moments(n)
    if tool == "jira":
        return f"BENCH-{n + 1}", start.replace("Z", ".000+0000"), end.replace("Z", ".000+0000")
    return str(n + 1), start, end


def pages(tool: str, records: int, url: str) -> dict[str, bytes]:
    """Every page the API would serve, keyed by what the pull asks for it, encoded once."""
    size = PAGE_SIZE[tool]
    encoded: dict[str, bytes] = {}
    for first in range(0, records, size):
        chunk = [served(tool, n) for n in range(first, min(first + size, records))]
        body: Any
        if tool == "zendesk":
            pairs = [zendesk_ticket(int(i), s, e, e, None) for i, s, e in chunk]
            after = base64.b64encode(str(first + size).encode()).decode()
            body = {"tickets": [t for t, _ in pairs], "metric_sets": [m for _, m in pairs],
                    "after_url": f"{url}/api/v2/incremental/tickets/cursor.json?cursor={after}",
                    "after_cursor": after, "before_url": None, "before_cursor": None,
                    "end_of_stream": first + size >= records}  # fmt: skip
            key = base64.b64encode(str(first).encode()).decode() if first else "start"
        elif tool == "jira":  # as /rest/api/3/search/jql: an opaque token to the next page, none on the last
            issues = [jira_issue(key, s, e, e) for key, s, e in chunk]
            body = {"issues": issues, "isLast": first + size >= records}
            if first + size < records:
                body["nextPageToken"] = jira_token(first + size)
            key = jira_token(first) if first else "start"
        else:
            body = [github_item(int(i), s, e, e, e, True) for i, s, e in chunk]
            key = str(first // size + 1)
        encoded[key] = json.dumps(body).encode()
    return encoded


def jira_token(position: int) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(str(position).encode()).digest()).decode()


def route_for(tool: str, encoded: dict[str, bytes]):
    size = PAGE_SIZE[tool]

    def route(replay: Replay, path: str, query: dict[str, str]):
        if tool == "zendesk":
            key = query.get("cursor", "start")
        elif tool == "jira":
            key = query.get("nextPageToken", "start")
        else:
            key = query.get("page", "1")
        headers = {}
        if tool == "github_pulls" and int(key) < len(encoded):  # as GitHub: the next page and the last
            here = f"{replay.url}{path}?per_page={size}&page="
            headers["Link"] = f'<{here}{int(key) + 1}>; rel="next", <{here}{len(encoded)}>; rel="last"'
        return 200, headers, encoded[key]

    return route


def serve(tool: str, records: int, pipe: Connection) -> None:
    """The replay server in its own process (its work does not share the pull's interpreter)."""
    replay = Replay(lambda *a: (500, {}, {})).start()
    encoded = pages(tool, records, replay.url)
    replay.route = route_for(tool, encoded)
    pipe.send((replay.url, list(encoded)))  # the pages' keys in order: what ``bare_requests`` asks
    threading.Event().wait()


def fresh_store(path: Path) -> Store:
    store = Store(path)
    workflow = Workflow(workflow_id=WORKFLOW, name="Bench pulled", department="Bench", owner="bench")
    store.write(ADMIN, lambda tx: save_workflows(tx, [workflow], "bench"))
    return store


def source_values(tool: str, url: str) -> dict[str, object]:
    query = {"zendesk": "", "jira": "project = BENCH", "github_pulls": "bench/repo"}[tool]
    base_url = JIRA_SITE if tool == "jira" else url
    return dict(name="bench", tool=tool, base_url=base_url, query=query, workflow_id=WORKFLOW,
                go_live=GO_LIVE, token_ref="env:BENCH_TOKEN")  # fmt: skip


def time_pull(tool: str, url: str, db: Path, records: int) -> tuple[float, float]:
    """(seconds of the whole pull, seconds of it fetching) on a fresh store."""
    fetched = [0.0]
    fetch = pull_module.fetch

    def timed_fetch(*args, **kwargs):  # the bench's own stopwatch around the product's call
        start = time.perf_counter()
        try:
            return fetch(*args, **kwargs)
        finally:
            fetched[0] += time.perf_counter() - start

    # Jira: the Cloud site's requests go to the replay server, over the same http.client transport
    transport = ToReplay(url) if tool == "jira" else None
    with fresh_store(db) as store:
        add_source(store, ADMIN, spec_from(source_values(tool, url)))
        pull_module.fetch = timed_fetch
        try:
            start = time.perf_counter()
            result = pull_source(store, ADMIN, "bench", PullOptions(transport=transport))
            elapsed = time.perf_counter() - start
        finally:
            pull_module.fetch = fetch
            if transport is not None:
                transport.close()
        assert (result.records, result.accepted) == (records, records), result.rejects[:3]
    return elapsed, fetched[0]


def bare_requests(tool: str, url: str, keys: list[str]) -> float:
    """Seconds to ask the replay server for every page, one at a time, on one kept ``http.client``
    connection: no httpx, no decoding (the floor of any fetch one page at a time on loopback)."""
    path, name = {
        "zendesk": ("/api/v2/incremental/tickets/cursor.json", "cursor"),
        "jira": ("/rest/api/3/search/jql", "nextPageToken"),
        "github_pulls": ("/repos/bench/repo/issues", "page"),
    }[tool]
    there = httpx.URL(url)
    connection = http.client.HTTPConnection(there.host, there.port)
    start = time.perf_counter()
    for key in keys:
        connection.request("GET", path if key == "start" else f"{path}?{urlencode({name: key})}")
        connection.getresponse().read()
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed


def time_fetch(tool: str, url: str, source: Source) -> float:
    """Seconds of the pull's fetch alone (the pages read and decoded into records, nothing written)."""
    transport = ToReplay(url) if tool == "jira" else None
    start = time.perf_counter()
    try:
        pull_module.fetch(source, PullOptions(transport=transport), PullResult(source.name))
    finally:
        if transport is not None:
            transport.close()
    return time.perf_counter() - start


def parts(
    tool: str, url: str, keys: list[str], workdir: Path, csv_path: Path, args: argparse.Namespace
) -> None:
    """Where a pull's time goes, and whether its import could run while it fetches: per round, the
    bare requests, the fetch alone, the CSV import alone, then the CSV import in a second thread
    started with a fetch (the wall time until both end, and the fetch's own)."""
    rounds: dict[str, list[float]] = {"bare": [], "fetch": [], "csv": [], "both": [], "fetch_with": []}
    with fresh_store(workdir / "parts.duckdb") as store:
        add_source(store, ADMIN, spec_from(source_values(tool, url)))
        source = find_source(store, "bench")
        for i in range(args.repeat):
            rounds["bare"].append(bare_requests(tool, url, keys))
            rounds["fetch"].append(time_fetch(tool, url, source))
            rounds["csv"].append(time_csv(tool, csv_path, workdir / f"alone{i}.duckdb", args.records))
            importing = threading.Thread(
                target=time_csv, args=(tool, csv_path, workdir / f"both{i}.duckdb", args.records)
            )
            start = time.perf_counter()
            importing.start()
            rounds["fetch_with"].append(time_fetch(tool, url, source))
            importing.join()
            rounds["both"].append(time.perf_counter() - start)
    size = PAGE_SIZE[tool]
    print(f"{args.records:,} records, {tool} ({-(-args.records // size)} pages of {size}),"
          f" best / median of {args.repeat}")  # fmt: skip
    labels = {
        "bare": "bare requests (http.client, no decoding)",
        "fetch": "the pull's fetch alone",
        "csv": "CSV import alone",
        "both": "CSV import in a thread during a fetch",
        "fetch_with": "  of it, the fetch",
    }
    for key, label in labels.items():
        print(f"  {label:42s} {min(rounds[key]):5.2f} / {statistics.median(rounds[key]):5.2f} s")
    print(f"  load average {os.getloadavg()[0]:.1f}")


def write_csv(tool: str, path: Path, records: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(("record_id", "started_at", "ended_at"))
        writer.writerows(served(tool, n) for n in range(records))


def time_csv(tool: str, path: Path, db: Path, records: int) -> float:
    with fresh_store(db) as store:
        source = add_source(store, ADMIN, spec_from(source_values(tool, "https://api.example.com")))
        loop = pull_module.tool_named(tool).loops[0]
        start = time.perf_counter()
        report = import_timings(store, ADMIN, path, mapping_for(source, loop))
        elapsed = time.perf_counter() - start
        assert report.accepted == records, report.rejects.head()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--tool", choices=sorted(PAGE_SIZE), default="zendesk")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--parts", action="store_true", help="where the time goes (see parts())")
    args = parser.parse_args()
    os.environ["BENCH_TOKEN"] = "bench-token"
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("fork").Process(
        target=serve, args=(args.tool, args.records, child), daemon=True
    )
    server.start()
    url, keys = parent.recv()  # the pages are encoded before the server answers
    pulls, uploads = [], []
    with tempfile.TemporaryDirectory(prefix="bench-pull-") as folder:
        workdir = Path(folder)
        csv_path = workdir / "records.csv"
        write_csv(args.tool, csv_path, args.records)
        if args.parts:
            parts(args.tool, url, keys, workdir, csv_path, args)
            server.terminate()
            return 0
        for i in range(args.repeat):
            uploads.append(time_csv(args.tool, csv_path, workdir / f"csv{i}.duckdb", args.records))
            pulls.append(time_pull(args.tool, url, workdir / f"pull{i}.duckdb", args.records))
    server.terminate()
    upload = min(uploads)
    pull, fetching = min(pulls)
    size, ratio = PAGE_SIZE[args.tool], upload / pull
    paired = statistics.median(u / p for u, (p, _) in zip(uploads, pulls, strict=True))
    pages_count = -(-args.records // size)
    met = "met" if min(ratio, paired) >= 0.5 else "NOT met"
    print(f"{args.records:,} records, {args.tool} ({pages_count} pages of {size}), best of {args.repeat}")
    print(f"  CSV import          {upload:6.2f} s")
    print(f"  pull                {pull:6.2f} s  (fetching {fetching:.2f} s, then import and commit)")
    print(f"  pull speed / CSV speed = {ratio:.2f} (best times), {paired:.2f} (median of rounds)")
    print(f"  target >= 0.50 both ways: {met}")
    print(f"  load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
