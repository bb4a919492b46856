"""Sources: each connector against a replay server of its API (tests/sources_replay.py says where
each response format and record comes from), pulls as batches through the upload's checks."""

from __future__ import annotations

import csv
import io
import itertools
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from aiops.auth import Actor
from aiops.errors import Conflict, MappingError, PermissionDenied
from aiops.ingest.batches import undo_batch
from aiops.ingest.timings import import_timings
from aiops.sources import http as http_module
from aiops.sources import jira as jira_module
from aiops.sources import pull as pull_module
from aiops.sources.connector import bearer_or_basic
from aiops.sources.http import AuthRefused, Http, SourceUnavailable, asked_ahead, rate_limit_wait
from aiops.sources.jira import is_cloud
from aiops.sources.model import add_source, find_source, spec_from
from aiops.sources.pull import COLUMNS, Fetched, PullOptions, pull_source
from aiops.sources.tokens import TokenError, parse_token_ref
from aiops.store import Store
from tests.conftest import ADMIN, cli_text, realdata, rows_state_now, run_cli
from tests.sources_replay import (
    DROP,
    UNAUTHORIZED,
    Replay,
    ToReplay,
    github_item,
    github_prs_from_realdata,
    github_route,
    jira_dc_route,
    jira_issue,
    jira_issues_from_realdata,
    jira_route,
    jira_utc,
    rate_limited,
    zendesk_route,
    zendesk_ticket,
)

TOKEN = "s3cr3t-token-value-never-shown"
WORKFLOW = "eng-pr-review-prep"


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPLAY_TOKEN", TOKEN)


@pytest.fixture
def replays():
    started: list[Replay] = []

    def start(route, **data) -> Replay:
        replay = Replay(route, data=data).start()
        started.append(replay)
        return replay

    yield start
    for replay in started:
        replay.stop()


CLOUD = "https://avro.atlassian.net"  # a Jira Cloud site's address: the pull uses Cloud's search


@pytest.fixture
def jira_cloud(replays, monkeypatch: pytest.MonkeyPatch):
    """A replay of Jira Cloud's search, reached at ``CLOUD`` (the transport a pull opens for any
    site goes to the replay server)."""

    def start(issues: list[dict], **data) -> Replay:
        replay = replays(jira_route, issues=issues, **data)
        monkeypatch.setattr(http_module, "site_transport", lambda url: ToReplay(replay.url))
        return replay

    return start


def add(store: Store, replay: Replay, tool: str, query: str, *, name: str = "src", **fields) -> None:
    values = dict(name=name, tool=tool, base_url=replay.url, query=query, workflow_id=WORKFLOW)
    add_source(
        store, ADMIN, spec_from(values | {"go_live": "2016-01-01", "token_ref": "env:REPLAY_TOKEN"} | fields)
    )


def pull(store: Store, name: str = "src", **options) -> pull_module.PullResult:
    waits: list[float] = []
    result = pull_source(store, ADMIN, name, PullOptions(sleep=waits.append, **options))
    result.waits = waits  # type: ignore[attr-defined]
    return result


def pulled_samples(store: Store) -> list[tuple]:
    return store.query(
        "SELECT source_record_id, batch_id, duration_minutes FROM timing_samples"
        " WHERE source_record_id IS NOT NULL ORDER BY 1"
    )


def counts(store: Store) -> tuple[int, int, int]:
    return store.query_one(
        "SELECT (SELECT count(*) FROM timing_samples), (SELECT count(*) FROM upload_batches),"
        " (SELECT count(*) FROM audit_log)"
    )


# -- each connector: pages, counts as the upload's -------------------------------------------------


def avro_issues() -> list[dict]:
    return jira_issues_from_realdata(realdata("timings", "jira_apache_avro-issues.csv"))


def upload_of_avro(store: Store):
    """The same 2,166 issues uploaded as the CSV export (a dry run)."""
    return import_timings(
        store,
        ADMIN,
        realdata("timings", "jira_apache_avro-issues.csv"),
        preset="jira-issues-api",
        answers={"workflow": WORKFLOW, "go_live": "2016-01-01"},
        dry_run=True,
    )


def test_jira_cloud_pull_follows_next_page_tokens_and_counts_as_the_csv_upload_of_the_same_issues(
    demo, jira_cloud
):
    jira = jira_cloud(avro_issues())
    add(demo, jira, "jira", "project = AVRO", base_url=CLOUD)
    lines: list[str] = []
    result = pull(demo, progress=lines.append)
    # asked 5000 a page (the documented most), granted 100 with fields: 22 pages, one at a time
    assert result.pages == 22 and len(lines) == 22 and lines[0] == "src: page 1, 100 records (100 in all)"
    assert {path for path, _, _ in jira.requests} == {"/rest/api/3/search/jql"}
    asked = [query for _, query, _ in jira.requests]
    assert all(q["maxResults"] == "5000" and q["fields"] == "created,resolutiondate,updated" for q in asked)
    assert all("startAt" not in q for q in asked) and "nextPageToken" not in asked[0]
    issued = list(jira.data["tokens"])  # each page asked with the token the page before handed out
    assert [q["nextPageToken"] for q in asked[1:]] == issued
    upload = upload_of_avro(demo)  # the same checks give the same counts
    assert (result.records, result.accepted, result.rejected) == (
        upload.rows,
        upload.accepted,
        upload.rejected,
    )
    assert (result.accepted, result.rejected) == (1515, 651)
    assert result.rejects[0]["reason"] == "missing value (no end: not finished?)"
    assert result.rejects[0]["id"].startswith("AVRO-")  # a reject names the issue by its key
    assert len(pulled_samples(demo)) == 1515
    batch = demo.query_one(
        "SELECT rows_total, accepted, rejected FROM upload_batches WHERE batch_id = ?", [result.batch_id]
    )
    assert batch == (2166, 1515, 651)


def test_jira_cloud_takes_whatever_page_size_the_server_grants(demo, jira_cloud):
    jira = jira_cloud(avro_issues(), cap=1000)
    add(demo, jira, "jira", "project = AVRO", base_url=CLOUD)
    lines: list[str] = []
    result = pull(demo, progress=lines.append)
    assert (result.pages, result.records) == (3, 2166)
    assert [line.split(", ")[1].split(" (")[0] for line in lines] == [
        "1000 records",
        "1000 records",
        "166 records",
    ]


def test_jira_cloud_stops_at_an_empty_page_and_refuses_a_token_handed_out_twice(demo, jira_cloud):
    jira = jira_cloud(avro_issues())

    def empty_second_page(replay, path, query):
        status, headers, body = jira_route(replay, path, query)
        return status, headers, body | ({"issues": []} if "nextPageToken" in query else {})

    jira.route = empty_second_page
    add(demo, jira, "jira", "project = AVRO", base_url=CLOUD)
    assert (pull(demo).pages, len(jira.requests)) == (2, 2)  # the empty page's token not followed

    def same_token(replay, path, query):  # the first page again, and again, with the same token
        status, headers, body = jira_route(replay, path, {"jql": query["jql"], "maxResults": "100"})
        return status, headers, body | {"nextPageToken": "again"}

    jira.route = same_token
    before = counts(demo)
    with pytest.raises(SourceUnavailable, match="same next page twice"):
        pull(demo)
    assert counts(demo) == before


def test_github_refuses_a_next_page_url_served_twice_with_nothing_written(demo, replays):
    created = "2025-03-01T10:00:00Z"
    items = [github_item(n, created, f"2025-05-01T10:{n // 60:02d}:{n % 60:02d}Z", None, None, True)
             for n in range(1, 251)]  # fmt: skip

    def back_to_page_two(replay, path, query):  # page 3 links to page 2 again (a faulty server)
        status, headers, body = github_route(replay, path, query)
        if query.get("page") == "3" and len(replay.requests) < 20:  # unguarded: loops 20 requests, ends
            headers = {"Link": f'<{replay.url}{path}?{urlencode(query | {"page": 2})}>; rel="next"'}
        return status, headers, body

    github = replays(back_to_page_two, items=items)
    add(demo, github, "github_pulls", "octo/repo", go_live="2025-04-01")
    before = counts(demo)
    with pytest.raises(SourceUnavailable, match="same next page twice"):
        pull(demo)
    assert counts(demo) == before and len(github.requests) == 3  # pages 1, 2, 3; page 2 not again


def test_jira_cloud_waits_out_a_429_and_asks_the_same_page_again(demo, jira_cloud):
    jira = jira_cloud(avro_issues())
    jira.fail[3] = rate_limited(5)
    add(demo, jira, "jira", "project = AVRO", base_url=CLOUD)
    result = pull(demo)
    assert result.waits == [5.0] and (result.pages, result.records) == (22, 2166)
    assert jira.requests[2][1]["nextPageToken"] == jira.requests[3][1]["nextPageToken"]


def test_jira_cloud_dropped_mid_pull_writes_nothing_and_the_next_pull_resumes_from_the_committed_cursor(
    demo, jira_cloud
):
    issues = avro_issues()
    jira = jira_cloud(issues)
    add(demo, jira, "jira", "project = AVRO", base_url=CLOUD)
    first = pull(demo)
    committed, cursor = counts(demo), find_source(demo, "src").cursor
    updated = [f"2019-03-{1 + n // 60:02d}T10:{n % 60:02d}:00.000+0000" for n in range(250)]
    resolved, created = "2019-03-05T10:00:00.000+0000", "2019-02-01T10:00:00.000+0000"
    issues.extend(jira_issue(f"AVRO-{9000 + n}", created, at, resolved) for n, at in enumerate(updated))
    jira.fail[len(jira.requests) + 2] = DROP  # the second page of the next pull
    with pytest.raises(SourceUnavailable, match="could not be read"):
        pull(demo)
    assert counts(demo) == committed and find_source(demo, "src").cursor == cursor == first.cursor_after
    resumed = pull(demo)
    since = f"{datetime.fromisoformat(cursor) - timedelta(days=1):%Y-%m-%d %H:%M}"
    assert f'updated >= "{since}"' in jira.requests[-resumed.pages][1]["jql"]
    assert resumed.new_or_changed == 250 and len(pulled_samples(demo)) == first.accepted + 250


def test_a_reopened_jira_issue_replaces_its_sample(demo, jira_cloud):
    resolved = [f"2024-05-0{n}T10:00:00.000+0000" for n in range(1, 6)]
    issues = [jira_issue(f"RE-{n}", "2024-04-01T09:00:00.000+0000", at, at) for n, at in enumerate(resolved)]
    jira = jira_cloud(issues)
    add(demo, jira, "jira", "project = RE", go_live="2024-01-01", base_url=CLOUD)
    pull(demo)
    earlier = dict((r[0], r[2]) for r in pulled_samples(demo))
    later = "2024-06-20T10:00:00.000+0000"  # RE-2 reopened, resolved again weeks later
    issues[2] = jira_issue("RE-2", "2024-04-01T09:00:00.000+0000", later, later)
    second = pull(demo)
    assert (second.new_or_changed, second.replaced) == (1, 1)
    now = dict((r[0], r[2]) for r in pulled_samples(demo))
    (key,) = [k for k in now if k.endswith("#RE-2")]
    assert len(now) == len(earlier) == 5 and now[key] > earlier[key]
    assert now[key] == pytest.approx(
        (datetime.fromisoformat(later) - datetime(2024, 4, 1, 9, tzinfo=UTC)).total_seconds() / 60
    )


def test_jira_data_center_pull_pages_through_startat_asked_ahead(demo, replays):  # any site not Cloud
    jira = replays(jira_dc_route, issues=avro_issues())
    add(demo, jira, "jira", "project = AVRO")
    result = pull(demo)
    assert result.pages == 22 and {path for path, _, _ in jira.requests} == {"/rest/api/2/search"}
    starts = [int(q["startAt"]) for _, q, _ in jira.requests]
    assert sorted(starts) == list(range(0, 2200, 100))  # asked ahead, a few at once: each page once
    upload = upload_of_avro(demo)
    assert (result.records, result.accepted, result.rejected) == (
        upload.rows,
        upload.accepted,
        upload.rejected,
    )


def test_jira_cloud_is_told_by_its_site_and_anything_else_is_data_center():
    assert is_cloud("https://acme.atlassian.net") and is_cloud("https://api.atlassian.com/ex/jira/1a2b")
    assert not is_cloud("https://jira.acme.com") and not is_cloud("https://acme.atlassian.net.evil.example")
    assert not is_cloud("http://127.0.0.1:8080")


def test_github_pull_follows_link_headers_and_keeps_pull_requests_only(demo, replays):
    items = github_prs_from_realdata(realdata("timings", "github_prs_top_repos_2025.csv"), 300)
    github = replays(github_route, items=items)
    add(demo, github, "github_pulls", "octo/repo", go_live="2025-04-01")
    result = pull(demo)
    pulls = [i for i in items if "pull_request" in i]
    merged = [i for i in pulls if i["pull_request"]["merged_at"]]
    assert result.pages == 4  # 330 items (300 pull requests, 30 issues), 100 a page
    # each page's rel="next", one request at a time (GitHub asks for serial requests)
    assert [q.get("page", "1") for _, q, _ in github.requests] == ["1", "2", "3", "4"]
    assert all(auth == f"Bearer {TOKEN}" for _, _, auth in github.requests)
    assert (result.records, result.accepted) == (len(pulls), len(merged))
    assert result.rejected == len(pulls) - len(merged)  # closed unmerged: no merge time
    assert result.cursor_after == max(i["updated_at"] for i in items)


def test_github_issues_source_measures_issues_not_pull_requests(demo, replays):
    closed = "2025-05-01T10:00:00Z"
    items = [github_item(n, "2025-03-01T10:00:00Z", closed, closed, None, n > 3) for n in range(1, 8)]
    github = replays(github_route, items=items)
    add(demo, github, "github_issues", "octo/repo", go_live="2025-03-01T09:00:00Z")
    result = pull(demo)
    assert (result.records, result.accepted) == (3, 3)


def test_zendesk_pull_follows_the_cursor_until_end_of_stream_and_resumes_from_it(demo, replays):
    stream = [
        zendesk_ticket(n, f"2024-0{1 + n % 6}-10T08:00:00Z", "2024-07-01T00:00:00Z", None, 30 + n)
        for n in range(1, 121)
    ]
    zendesk = replays(zendesk_route, stream=stream, page_size=50)
    add(demo, zendesk, "zendesk", "group_id=360001", loop="first-reply", go_live="2024-04-01")
    first = pull(demo)
    assert (first.pages, first.records, first.accepted) == (3, 120, 120)
    minutes = demo.query(
        "SELECT sum(duration_minutes) FROM timing_samples WHERE source_record_id IS NOT NULL"
    )
    assert minutes[0][0] == sum(30 + n for n in range(1, 121))
    stream.append(zendesk_ticket(500, "2024-06-10T08:00:00Z", "2024-07-02T00:00:00Z", None, 12))
    second = pull(demo)
    assert (second.pages, second.records, second.new_or_changed) == (1, 1, 1)
    assert zendesk.requests[-1][1]["cursor"] == first.cursor_after  # resumed where the first ended


# -- rate limits ---------------------------------------------------------------------------------------


def test_a_429_with_retry_after_is_waited_out_and_the_pull_completes(demo, replays):
    items = github_prs_from_realdata(realdata("timings", "github_prs_top_repos_2025.csv"), 250)
    github = replays(github_route, items=items)
    github.fail[2] = rate_limited(7)
    add(demo, github, "github_pulls", "octo/repo", go_live="2025-04-01")
    result = pull(demo)
    assert result.waits == [7.0] and result.waited_s == 7.0
    assert result.pages == 3 and result.batch_id is not None
    asked = [query.get("page", "1") for _, query, _ in github.requests]  # one at a time
    assert asked == ["1", "2", "2", "3"]  # the refused page asked again, after the wait


def test_a_rate_limit_longer_than_the_bound_stops_the_pull_with_nothing_written(demo, replays):
    github = replays(
        github_route,
        items=github_prs_from_realdata(realdata("timings", "github_prs_top_repos_2025.csv"), 250),
    )
    github.fail[3] = rate_limited(3600)
    add(demo, github, "github_pulls", "octo/repo", go_live="2025-04-01")
    before = counts(demo)
    with pytest.raises(SourceUnavailable, match="rate limited for 3600 s"):
        pull(demo, max_wait_s=60)
    assert counts(demo) == before and find_source(demo, "src").cursor is None


def test_rate_limit_waits_read_retry_after_or_github_reset():
    def response(status: int, **headers: str) -> httpx.Response:
        return httpx.Response(status, headers=headers)

    assert rate_limit_wait(response(200)) is None
    assert rate_limit_wait(response(403)) is None  # forbidden, not limited
    assert rate_limit_wait(response(429, **{"Retry-After": "30"})) == 30
    assert rate_limit_wait(response(429, **{"Retry-After": "Thu, 01 Jan 1970 00:01:40 GMT"}), now=40) == 60
    limited = response(403, **{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1000"})
    assert rate_limit_wait(limited, now=990) == 11


# -- failures: nothing written, the cursor where it was ------------------------------------------------


def test_a_401_names_the_token_reference_never_the_token(demo, jira_cloud, capsys):
    jira = jira_cloud(jira_issues_from_realdata(realdata("timings", "jira_apache_avro-issues.csv")))
    jira.fail[1] = UNAUTHORIZED
    add(demo, jira, "jira", "project = AVRO", base_url=CLOUD)
    before = counts(demo)
    with pytest.raises(AuthRefused) as refused:
        pull(demo)
    assert "env:REPLAY_TOKEN" in str(refused.value) and "401" in str(refused.value)
    assert TOKEN not in str(refused.value)
    assert counts(demo) == before


def test_a_connection_dropped_mid_pull_writes_nothing_and_the_next_pull_resumes_from_the_committed_cursor(
    demo, replays
):
    items = github_prs_from_realdata(realdata("timings", "github_prs_top_repos_2025.csv"), 250)
    github = replays(github_route, items=items)
    add(demo, github, "github_pulls", "octo/repo", go_live="2025-04-01")
    first = pull(demo)
    committed = counts(demo)
    cursor = find_source(demo, "src").cursor
    merged_at = [f"2025-07-{1 + n // 60:02d}T10:{n % 60:02d}:00Z" for n in range(250)]
    items.extend(
        github_item(5000 + n, "2025-06-01T10:00:00Z", at, at, at, True) for n, at in enumerate(merged_at)
    )
    github.fail[len(github.requests) + 2] = DROP  # the second page of the next pull
    with pytest.raises(SourceUnavailable, match="could not be read"):
        pull(demo)
    assert counts(demo) == committed and find_source(demo, "src").cursor == cursor == first.cursor_after
    resumed = pull(demo)
    assert github.requests[-resumed.pages][1]["since"] == cursor
    assert resumed.new_or_changed == 250 and len(pulled_samples(demo)) == first.accepted + 250


def test_a_pull_that_fails_inside_its_transaction_leaves_the_database_and_cursor_as_they_were(
    demo, replays, monkeypatch
):
    github = replays(
        github_route,
        items=github_prs_from_realdata(realdata("timings", "github_prs_top_repos_2025.csv"), 120),
    )
    add(demo, github, "github_pulls", "octo/repo", go_live="2025-04-01")
    before = counts(demo)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the process stopped after the samples were inserted

    monkeypatch.setattr(pull_module, "_save_cursor", killed)
    with pytest.raises(KeyboardInterrupt):
        pull(demo)
    assert counts(demo) == before and find_source(demo, "src").cursor is None
    assert demo.query_value("SELECT count(*) FROM replaced_samples") == 0


# -- overlap, reopened records, undo -----------------------------------------------------------------


def test_an_overlapping_re_pull_writes_nothing_and_counts_nothing_twice(demo, jira_cloud, capsys):
    jira = jira_cloud(jira_issues_from_realdata(realdata("timings", "jira_apache_avro-issues.csv")))
    add(demo, jira, "jira", "project = AVRO", base_url=CLOUD)
    first = pull(demo)
    after_first = counts(demo)
    again = pull(demo)  # JQL asks from a day before the cursor: the latest issues come again
    assert again.records > 0 and again.new_or_changed == 0 and again.batch_id is None
    assert counts(demo) == after_first and len(pulled_samples(demo)) == first.accepted
    code, out, err = run_cli(capsys, "pull", "src", "--db", demo.location, "--json")
    assert code == 0 and out["batch_id"] is None and "page 1" in err


@pytest.mark.both_stores
def test_a_reopened_record_replaces_its_sample_and_undo_puts_the_earlier_one_back(store_kind, demo, replays):
    items = [github_item(n, "2025-03-01T10:00:00Z", f"2025-05-0{n}T10:00:00Z", f"2025-05-0{n}T10:00:00Z",
                         f"2025-05-0{n}T10:00:00Z", True) for n in range(1, 6)]  # fmt: skip
    items.append(github_item(9, "2025-05-01T10:00:00Z", "2025-05-02T10:00:00Z", "2025-05-02T10:00:00Z",
                             "2025-05-02T10:00:00Z", True))  # fmt: skip
    github = replays(github_route, items=items)
    add(demo, github, "github_pulls", "octo/repo", go_live="2025-04-01")
    first = pull(demo)
    earlier = pulled_samples(demo)
    # PR 2 reopened, then merged again two weeks later: a new updated_at, a new merge time.
    items[1] = github_item(2, "2025-03-01T10:00:00Z", "2025-05-20T10:00:00Z", "2025-05-20T10:00:00Z",
                           "2025-05-20T10:00:00Z", True)  # fmt: skip
    second = pull(demo)
    assert (second.new_or_changed, second.replaced) == (1, 1)
    now = pulled_samples(demo)
    assert len(now) == len(earlier) == 6  # replaced, not added
    changed = {r[0]: r for r in now if r[1] == second.batch_id}
    assert len(changed) == 1 and next(iter(changed)).endswith("#2")
    assert next(iter(changed.values()))[2] > dict((r[0], r[2]) for r in earlier)[next(iter(changed))]
    assert undo_batch(demo, ADMIN, second.batch_id) == 1
    assert pulled_samples(demo) == earlier
    assert find_source(demo, "src").cursor == first.cursor_after  # rewound: the next pull fetches it again
    again = pull(demo)
    assert (again.new_or_changed, again.replaced) == (1, 1) and len(pulled_samples(demo)) == 6


@pytest.mark.estimate_cache  # a view's rows state is carried only outside ``computed_afresh``
def test_a_view_reads_every_row_again_after_a_pull_that_replaced_a_sample(demo, replays):
    """A pull that only appended is carried; one that replaced a sample removed rows too."""
    items = [github_item(n, "2025-03-01T10:00:00Z", f"2025-05-0{n}T10:00:00Z", f"2025-05-0{n}T10:00:00Z",
                         f"2025-05-0{n}T10:00:00Z", True) for n in range(1, 4)]  # fmt: skip
    github = replays(github_route, items=items)
    add(demo, github, "github_pulls", "octo/repo", go_live="2025-04-01")
    rows_state_now(demo)
    pull(demo)
    carried, full, scans = rows_state_now(demo)
    assert (scans, carried) == (0, full)
    items[1] = github_item(2, "2025-03-01T10:00:00Z", "2025-05-20T10:00:00Z", "2025-05-20T10:00:00Z",
                           "2025-05-20T10:00:00Z", True)  # fmt: skip
    assert pull(demo).replaced == 1
    after, full, scans = rows_state_now(demo)
    assert (scans, after) == (1, full) and after.before != carried.before


def test_undoing_the_earlier_batch_keeps_the_later_replacement(demo, replays):
    items = [github_item(1, "2025-03-01T10:00:00Z", "2025-05-01T10:00:00Z", "2025-05-01T10:00:00Z",
                         "2025-05-01T10:00:00Z", True)]  # fmt: skip
    github = replays(github_route, items=items)
    add(demo, github, "github_pulls", "octo/repo", go_live="2025-04-01")
    first = pull(demo)
    items[0] = github_item(1, "2025-03-01T10:00:00Z", "2025-05-09T10:00:00Z", "2025-05-09T10:00:00Z",
                           "2025-05-09T10:00:00Z", True)  # fmt: skip
    second = pull(demo)
    undo_batch(demo, ADMIN, first.batch_id)
    assert [r[1] for r in pulled_samples(demo)] == [second.batch_id]
    undo_batch(demo, ADMIN, second.batch_id)  # the first batch is undone too: nothing comes back
    assert pulled_samples(demo) == []


# -- tokens and permissions ------------------------------------------------------------------------------


def test_the_token_is_never_stored_audited_or_printed(demo, replays, capsys):
    jira = replays(
        jira_dc_route,
        issues=jira_issues_from_realdata(realdata("timings", "jira_apache_avro-issues.csv"))[:150],
    )
    code, _, _ = cli_text(capsys, "sources", "add", "avro", "--tool", "jira", "--base-url", jira.url,
                         "--query", "project = AVRO", "--workflow", WORKFLOW, "--go-live", "2016-01-01",
                         "--token-ref", "env:REPLAY_TOKEN", "--db", demo.location)  # fmt: skip
    assert code == 0
    code, out, err = run_cli(capsys, "pull", "--all", "--db", demo.location, "--json")
    assert code == 0 and out[0]["batch_id"] is not None
    assert TOKEN not in str(out) + err
    for table in ("sources", "audit_log", "upload_batches", "source_pulls"):
        dump = str(demo.query(f"SELECT * FROM {table}"))
        assert TOKEN not in dump, table
    assert "env:REPLAY_TOKEN" in str(demo.query("SELECT token_ref FROM sources"))


def test_a_pasted_token_is_refused_as_a_reference_without_echoing_it():
    with pytest.raises(MappingError) as refused:
        parse_token_ref("ghp_abc123secret")
    assert "ghp_abc123secret" not in str(refused.value)


def test_a_token_file_readable_by_others_is_refused_and_a_private_one_read(tmp_path: Path):
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o644)
    with pytest.raises(TokenError, match="readable by others"):
        parse_token_ref(f"file:{path}").read()
    path.chmod(0o600)
    assert parse_token_ref(f"file:{path}").read() == TOKEN


def test_the_base_url_must_be_https_except_on_loopback(demo):
    values = dict(name="x", tool="jira", query="project = A", workflow_id=WORKFLOW, go_live="2024-01-01")
    with pytest.raises(MappingError, match="https"):
        add_source(
            demo, ADMIN, spec_from(values | {"base_url": "http://jira.example.com", "token_ref": "env:T"})
        )


def test_a_next_page_on_another_site_is_refused(demo, replays):
    github = replays(
        github_route,
        items=github_prs_from_realdata(realdata("timings", "github_prs_top_repos_2025.csv"), 150),
    )
    add(demo, github, "github_pulls", "octo/repo", go_live="2025-04-01")
    original = github.route

    def elsewhere(replay, path, query):
        status, headers, body = original(replay, path, query)
        return status, {"Link": '<https://evil.example/repos/o/r/issues?page=2>; rel="next"'}, body

    github.route = elsewhere
    with pytest.raises(SourceUnavailable, match="another site"):
        pull(demo)
    assert len(github.requests) == 1


def test_a_lead_adds_and_pulls_sources_of_their_departments_only(demo, replays):
    github = replays(github_route, items=[])
    lead = Actor(name="lead@test", role="lead", departments=("Finance",))
    values = dict(name="x", tool="github_pulls", base_url=github.url, query="o/r", workflow_id=WORKFLOW)
    spec = spec_from(values | {"go_live": "2025-01-01", "token_ref": "env:REPLAY_TOKEN"})
    with pytest.raises(PermissionDenied):
        add_source(demo, lead, spec)
    add_source(demo, ADMIN, spec)
    with pytest.raises(PermissionDenied):
        pull_source(demo, lead, "x")
    assert github.requests == []  # refused before the token was used


def test_a_source_name_and_its_workflow_id_match_whatever_their_width_case_and_spacing(demo, replays):
    """Source names and the workflow id compare by ``identity_key`` (issue 23), not ``lower(trim())``."""
    github = replays(github_route, items=[])
    values = dict(tool="github_pulls", base_url=github.url, query="o/r", go_live="2025-01-01")
    values |= {"token_ref": "env:REPLAY_TOKEN", "workflow_id": "ＥＮＧ-pr-Review-prep"}
    source = add_source(demo, ADMIN, spec_from(values | {"name": "PR  Review"}))
    assert source.workflow_id == WORKFLOW
    assert find_source(demo, "ｐｒ review").source_id == source.source_id
    assert find_source(demo, " pr\u3000REVIEW ").source_id == source.source_id
    with pytest.raises(Conflict, match="exists"):
        add_source(demo, ADMIN, spec_from(values | {"name": "ＰＲ review"}))


def test_cli_pull_exit_codes(demo, replays, capsys):
    assert run_cli(capsys, "pull", "--db", demo.location)[0] == 2
    code, _, err = run_cli(capsys, "pull", "nope", "--db", demo.location)
    assert code == 1 and err.startswith("aiops: error: no source 'nope'")
    os.environ.pop("REPLAY_TOKEN")
    github = replays(github_route, items=[])
    add(demo, github, "github_pulls", "o/r", go_live="2025-01-01")
    code, out, err = run_cli(capsys, "pull", "--all", "--db", demo.location, "--json")
    assert code == 1 and out[0]["error"] and "env:REPLAY_TOKEN is not set" in err


def test_a_re_pull_that_fetches_exactly_what_a_batch_holds_is_not_refused_as_a_duplicate_file(
    demo, jira_cloud
):
    issues = [jira_issue(f"NEW-{n}", "2024-05-01T09:00:00.000+0000", f"2024-05-02T10:0{n}:00.000+0000",
                         f"2024-05-02T10:0{n}:00.000+0000") for n in range(5)]  # fmt: skip
    jira = jira_cloud(issues)
    add(demo, jira, "jira", "project = NEW", go_live="2024-01-01", base_url=CLOUD)
    first = pull(demo)
    again = pull(demo)  # the day of overlap serves the same five issues: the same CSV as the batch's
    assert first.batch_id is not None and again.records == 5
    assert (again.new_or_changed, again.batch_id, again.error) == (0, None, None)


def test_a_record_without_its_id_stops_the_pull_with_nothing_written(demo, replays):
    item = github_item(1, "2025-03-01T10:00:00Z", "2025-05-01T10:00:00Z", None, None, True) | {"number": None}
    github = replays(github_route, items=[item])
    add(demo, github, "github_pulls", "octo/repo", go_live="2025-04-01")
    before = counts(demo)
    with pytest.raises(SourceUnavailable, match="without its id"):
        pull(demo)
    assert counts(demo) == before
    github.data["items"] = [item | {"number": {"id": 1}}]  # an id that is no JSON number or string
    with pytest.raises(SourceUnavailable, match="unexpected shape"):
        pull(demo)
    assert counts(demo) == before


@pytest.mark.parametrize(
    "pages",
    [
        [[("1", "2025-03-01T10:00:00Z", None), ("2", "2025-03-01T10:00:00Z", "")]],  # joined
        # quoted, on two pages
        [[("A,1", 'say "hi"', "two\nlines"), ("2", 5, 1.5)], [("3", "a\rb", None), ("4", True, "x")]],
    ],
)
def test_pulled_records_are_written_as_the_csv_module_writes_them(pages):
    fetched = Fetched()
    for records in pages:
        fetched.add(records)
    expected = io.StringIO()
    csv.writer(expected, lineterminator="\n").writerows([COLUMNS["span"], *itertools.chain(*pages)])
    assert fetched.csv_text(COLUMNS["span"]) == expected.getvalue()
    assert fetched.ids == {records[0] for records in itertools.chain(*pages)}


@pytest.mark.parametrize(
    "odd",
    ["2025-03-02T10:00:00Z", 'March 2, 2025 "10:00"', "x" * 200_000],  # past the csv module's field limit
    ids=["joined", "quoted", "long"],
)
def test_a_record_served_again_is_written_once_with_its_last_values_at_its_first_place(odd):
    """As a dict of the records by id would: a record changed while the pull read the list is
    served on a later page (or twice on one), and only its last served values are imported."""
    was = csv.field_size_limit(131_072)  # the csv module's own limit, whatever ran before
    first = [("A,1", "2025-03-01T10:00:00Z", None), ("2", "2025-03-01T11:00:00Z", "two\nlines")]
    later = [("3", 5, 1.5), ("A,1", "2025-03-01T10:00:00Z", odd)]
    last = [("2", "2025-03-01T11:00:00Z", None), ("4", None, ""), ("4", True, odd)]
    fetched = Fetched()
    for records in (first, later, last):
        fetched.add(records)
    kept = {record[0]: record for record in [*first, *later, *last]}
    expected = io.StringIO()
    csv.writer(expected, lineterminator="\n").writerows([COLUMNS["span"], *kept.values()])
    try:
        assert fetched.csv_text(COLUMNS["span"]) == expected.getvalue()
    finally:
        csv.field_size_limit(was)
    assert fetched.ids == {"A,1", "2", "3", "4"}


def test_a_value_holding_a_comma_or_a_quote_is_rejected_with_that_value(demo, replays):
    odd, may, later = 'March 1, 2025 "10:00"', "2025-05-01T10:00:00Z", "2025-05-02T10:00:00Z"
    items = [github_item(1, odd, may, may, may, True), github_item(2, may, later, later, later, True)]
    github = replays(github_route, items=items)
    add(demo, github, "github_pulls", "octo/repo", go_live="2025-04-01")
    result = pull(demo)
    assert (result.records, result.accepted, result.rejected) == (2, 1, 1)
    assert (result.rejects[0]["id"], result.rejects[0]["value"]) == ("1", odd)


def test_jira_data_center_pulls_stop_at_the_search_window_and_the_next_pulls_catch_up(
    demo, replays, monkeypatch
):
    monkeypatch.setattr(jira_module, "DC_RESULT_WINDOW", 500)  # 10,000 by default: 500 here
    jira = replays(jira_dc_route, issues=avro_issues(), window=500)
    add(demo, jira, "jira", "project = AVRO")
    first = pull(demo)
    assert (first.pages, first.records) == (5, 500)
    assert max(int(q["startAt"]) for _, q, _ in jira.requests) == 400  # none past the window
    for _ in range(10):  # each pull goes on from the last one's cursor
        if pull(demo).new_or_changed == 0:
            break
    assert len(pulled_samples(demo)) == upload_of_avro(demo).accepted == 1515


def test_jira_data_center_refuses_a_window_of_issues_changed_within_the_overlap(demo, replays, monkeypatch):
    monkeypatch.setattr(jira_module, "DC_RESULT_WINDOW", 500)
    at = "2024-05-02T10:00:00.000+0000"  # a bulk edit: 600 issues changed in the same minute
    issues = [jira_issue(f"BULK-{n}", "2024-05-01T09:00:00.000+0000", at, at) for n in range(600)]
    jira = replays(jira_dc_route, issues=issues, window=500)
    add(demo, jira, "jira", "project = BULK", go_live="2024-01-01")
    assert pull(demo).records == 500
    committed = counts(demo)
    with pytest.raises(SourceUnavailable, match="stops at 500 results") as refused:
        pull(demo)  # the same 500 again: the cursor cannot move
    assert "split the source's JQL" in str(refused.value) and counts(demo) == committed


def test_jira_data_center_pages_without_a_total_end_at_the_first_short_page(demo, replays):
    jira = replays(jira_dc_route, issues=avro_issues())

    def without_total(replay, path, query):
        status, headers, body = jira_dc_route(replay, path, query)
        return status, headers, {k: v for k, v in body.items() if k != "total"}

    jira.route = without_total
    add(demo, jira, "jira", "project = AVRO")
    result = pull(demo)
    assert (result.pages, result.records) == (22, 2166)


# -- pages asked ahead ----------------------------------------------------------------------------------


@pytest.mark.parametrize("cloud", [True, False], ids=["cloud", "data-center"])
def test_pages_are_taken_in_order_and_a_record_served_twice_keeps_its_later_version(
    demo, replays, jira_cloud, cloud
):
    issues = avro_issues()
    jira = jira_cloud(issues) if cloud else replays(jira_dc_route, issues=issues)
    route, site = (jira_route, {"base_url": CLOUD}) if cloud else (jira_dc_route, {})
    ordered = sorted(issues, key=lambda i: jira_utc(i["fields"]["updated"]))  # as the search serves them
    early = ordered[150]  # on the second page (Data Center: asked ahead with the third to fifth)
    assert early["fields"]["resolutiondate"] is not None
    # resolved again later (reopened): served again on the last page, with its later resolution
    later = "2019-01-01T00:00:00.000+0000"  # after every Avro issue's update
    issues.append(jira_issue(early["key"], early["fields"]["created"], later, later))

    def second_page_answers_last(replay, path, query):
        if query.get("startAt") == "100":
            time.sleep(0.3)  # the pages asked with it answer first
        return route(replay, path, query)

    jira.route = second_page_answers_last
    add(demo, jira, "jira", "project = AVRO", **site)
    lines: list[str] = []
    result = pull(demo, progress=lines.append)
    assert result.pages == 22 and result.records == 2166  # the key served twice counts once
    assert [line.split(",")[0] for line in lines] == [f"src: page {n}" for n in range(1, 23)]
    # served twice, it was changed while the pull read the list (issues after it shifted back a
    # place): the next pull goes on from where the page it was first served on began
    assert result.cursor_after == jira_module.updated_utc(ordered[99]["fields"]["updated"])
    (duration,) = demo.query_one(
        "SELECT duration_minutes FROM timing_samples WHERE source_record_id LIKE ?", [f"%#{early['key']}"]
    )
    created = datetime.fromisoformat(early["fields"]["created"])
    assert duration == pytest.approx((datetime.fromisoformat(later) - created).total_seconds() / 60)


def test_a_page_asked_ahead_that_fails_stops_the_pull_with_nothing_written(demo, replays):
    jira = replays(jira_dc_route, issues=avro_issues())
    jira.fail[4] = DROP  # one of the pages asked ahead after the first
    add(demo, jira, "jira", "project = AVRO")
    before = counts(demo)
    with pytest.raises(SourceUnavailable, match="could not be read"):
        pull(demo)
    assert counts(demo) == before and find_source(demo, "src").cursor is None
    assert len(jira.requests) < 22  # the pages not yet asked were not asked


def test_a_jira_data_center_page_shorter_than_granted_asks_on_from_where_it_ended(demo, replays):
    jira = replays(jira_dc_route, issues=avro_issues())

    def moved(replay, path, query):  # issues moved while the pull read: the second page came short
        status, headers, body = jira_dc_route(replay, path, query)
        if query["startAt"] == "100":
            body = body | {"issues": body["issues"][:50]}
        return status, headers, body

    jira.route = moved
    add(demo, jira, "jira", "project = AVRO")
    result = pull(demo)
    starts = {int(q["startAt"]) for _, q, _ in jira.requests}
    assert 150 in starts and result.records == 2166  # none skipped past the short page


def test_github_without_a_last_link_follows_next_one_page_at_a_time(demo, replays):
    items = github_prs_from_realdata(realdata("timings", "github_prs_top_repos_2025.csv"), 300)
    github = replays(github_route, items=items)

    def next_only(replay, path, query):
        status, headers, body = github_route(replay, path, query)
        links = headers.get("Link", "").split(", ")
        return status, {"Link": ", ".join(link for link in links if 'rel="last"' not in link)}, body

    github.route = next_only
    add(demo, github, "github_pulls", "octo/repo", go_live="2025-04-01")
    result = pull(demo)
    assert [q.get("page", "1") for _, q, _ in github.requests] == ["1", "2", "3", "4"]
    assert result.records == 300


def test_a_rate_limit_pauses_every_request_in_flight_and_is_waited_once(monkeypatch):
    both_asked = threading.Barrier(2, timeout=10)
    pages: list[int] = []
    during_wait: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        pages.append(int(request.url.params["page"]))
        if len(pages) <= 2:  # the first two, in flight together, are both refused
            both_asked.wait()
            return httpx.Response(429, headers={"Retry-After": "7"})
        return httpx.Response(200, json=[len(pages)])

    def wait(seconds: float) -> None:
        asked = len(pages)
        time.sleep(0.2)  # a real wait: no request may go out meanwhile
        during_wait.append(len(pages) - asked)

    http = Http("Test", parse_token_ref("env:REPLAY_TOKEN"), bearer_or_basic,
                transport=httpx.MockTransport(answer), sleep=wait)  # fmt: skip
    with http:
        answers = list(asked_ahead(lambda n: http.get("https://api.example.com/x", {"page": n})[0], [1, 2]))
    assert sorted(answers) == [[3], [4]] and sorted(pages[2:]) == [1, 2]  # each refused page asked again
    assert during_wait == [0] and http.waited_s == 7.0  # one wait, for both, with nothing sent meanwhile


def test_a_record_changed_during_a_pull_is_pulled_again_with_the_one_it_shifted(demo, replays):
    """Found in review: GitHub's list is sorted by update and paged by number. A record changed while
    the pull reads the list moves to its end, and the record after the first page's boundary
    shifts into that page, already read: no page serves it. The pull sees the moved record twice and
    resumes from where the page it was first on began, so the next pull reads the shifted one."""
    items = [
        github_item(n, "2025-05-01T08:00:00Z", f"2025-06-{1 + n // 24:02d}T{n % 24:02d}:00:00Z",
                    "2025-06-30T00:00:00Z", "2025-06-30T00:00:00Z", True)
        for n in range(1, 251)
    ]  # fmt: skip
    github = replays(github_route, items=items)

    def changed_after_the_first_page(replay, path, query):
        answer = github_route(replay, path, query)
        if query.get("page", "1") == "1" and items[4]["updated_at"] < "2025-07":
            items[4]["updated_at"] = "2025-07-01T00:00:00Z"  # number 5: on the first page, read already
        return answer

    github.route = changed_after_the_first_page
    add(demo, github, "github_pulls", "octo/repo", go_live="2025-04-01")
    first = pull(demo)
    pulled = {record.rpartition("#")[2] for record, _, _ in pulled_samples(demo)}
    assert "101" not in pulled and len(pulled) == 249  # shifted onto the first page after it was read
    assert first.cursor_after is None  # back to where the first page began: the start
    pull(demo)
    pulled = {record.rpartition("#")[2] for record, _, _ in pulled_samples(demo)}
    assert pulled == {str(n) for n in range(1, 251)} and len(pulled_samples(demo)) == 250


def test_github_is_asked_one_request_at_a_time(demo, replays):
    """GitHub's REST API best practices: "make requests serially instead of concurrently" (its
    secondary rate limits); a rel="last" far ahead is not a list of pages to ask at once."""
    items = github_prs_from_realdata(realdata("timings", "github_prs_top_repos_2025.csv"), 300)
    github = replays(github_route, items=items)
    in_flight, most = [0], [0]
    lock = threading.Lock()

    def serial(replay, path, query):
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.05)  # long enough for a second request to arrive meanwhile, if one were sent
        status, headers, body = github_route(replay, path, query)
        with lock:
            in_flight[0] -= 1
        return (
            status,
            {"Link": headers.get("Link", "").replace('page=4>; rel="last"', 'page=900>; rel="last"')},
            body,
        )

    github.route = serial
    add(demo, github, "github_pulls", "octo/repo", go_live="2025-04-01")
    result = pull(demo)
    assert result.records == 300 and len(github.requests) == 4 and most[0] == 1


def test_zendesk_filters_read_any_ticket_field_through_the_typed_page(demo, replays):
    def ticket(n: int, solved: str | None, tags: list[str], status: str | None = None):
        t, metrics = zendesk_ticket(n, "2024-05-10T08:00:00Z", "2024-07-01T00:00:00Z", solved, 30 + n)
        return t | {"tags": tags} | ({"status": status} if status else {}), metrics

    stream = [
        ticket(1, None, ["vip", "ai-triage"]),  # open, tagged: kept
        ticket(2, None, ["ai-triage"]),  # not tagged
        ticket(3, "2024-06-01T00:00:00Z", ["vip"]),  # solved: the query asks open ones
        ticket(4, None, ["vip"], status="deleted"),
        ticket(5, None, ["vip"]),  # kept
    ]
    zendesk = replays(zendesk_route, stream=stream, page_size=2)
    add(demo, zendesk, "zendesk", "status=open tags=vip", loop="first-reply", go_live="2024-04-01")
    result = pull(demo)
    assert (result.pages, result.records, result.accepted) == (3, 2, 2)
    assert [row[0].rpartition("#")[2] for row in pulled_samples(demo)] == ["1", "5"]
