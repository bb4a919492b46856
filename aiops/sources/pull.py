"""A pull: a source's new and changed records, fetched page by page, imported as one batch.

The records are fetched first (nothing is written while the API is read: a pull interrupted there
leaves the database as it was), each page's becoming CSV lines as it arrives; then written as a
CSV of three columns and imported through the same path as an uploaded file (the same checks,
rejects with reasons, one undoable batch). The batch, the replaced samples and the source's new
cursor are written in one transaction: a pull stopped at any point leaves the cursor where the
last committed pull put it, and the next one resumes there. A pull that finds nothing new writes
nothing (running it twice is harmless).
"""

from __future__ import annotations

import contextlib
import csv
import io
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

import httpx

from aiops.auth import Actor
from aiops.errors import AiopsError, IngestError
from aiops.ingest.mapping import TimingMapping, parse_go_live
from aiops.ingest.replacing import NothingNew, PulledRecords
from aiops.ingest.sniff import allow_long_fields
from aiops.ingest.tempfiles import upload_root
from aiops.ingest.timings import open_timing_import
from aiops.sources.connector import Loop, Record
from aiops.sources.http import DEFAULT_MAX_WAIT_S, Http
from aiops.sources.model import Source, find_source, list_sources, tool_named
from aiops.sources.tokens import parse_token_ref
from aiops.store import Store, Tx, utcnow

COLUMNS = {"span": ("record_id", "started_at", "ended_at"), "minutes": ("record_id", "started_at", "minutes")}
Progress = Callable[[str], None]


@dataclass
class PullResult:
    """What one pull did: pages and records fetched, the import's counts, what it wrote."""

    source: str
    pages: int = 0
    records: int = 0
    accepted: int = 0
    rejected: int = 0
    new_or_changed: int = 0
    replaced: int = 0
    batch_id: int | None = None
    cursor_before: str | None = None
    cursor_after: str | None = None
    waited_s: float = 0.0
    rejects: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PullOptions:
    """How to reach the APIs: the transport (tests inject one), the longest rate-limit wait, the
    sleep, and where each page's progress line goes."""

    transport: httpx.BaseTransport | None = None
    max_wait_s: float = DEFAULT_MAX_WAIT_S
    sleep: Callable[[float], None] = time.sleep
    progress: Progress = lambda line: None


def mapping_for(source: Source, loop: Loop) -> TimingMapping:
    """The mapping of a pull's CSV: the source's workflow, go-live and time kind."""
    fields: dict[str, object] = {
        "workflow": source.workflow_id,
        "go_live": parse_go_live(source.go_live),
        "time_kind": source.time_kind,
    }
    if loop.measure == "minutes":
        fields |= {"duration_column": "minutes", "unit": "minutes", "measured_at_column": "started_at"}
    else:
        fields |= {"start_column": "started_at", "end_column": "ended_at"}
    return TimingMapping.model_validate(fields)


class Fetched:
    """A pull's records as the CSV lines each page makes, written as its page arrives, and their
    ids. Kept as Python tuples and a dict of them by id until the last page, 100,000 records cost
    a GitHub or Jira pull 0.05-0.13 s more CPU than lines of text do (README, pull speed). A
    record served again (changed while the pull read the list) keeps its last served values at
    its first place, as a dict by id would: its earlier lines are dropped when the text is asked
    for."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self._lines: list[str] = []  # a page's lines each
        self._again = False  # some record was served twice

    def add(self, records: list[Record]) -> None:
        before = len(self.ids)
        self.ids.update(map(itemgetter(0), records))
        self._again = self._again or len(self.ids) - before != len(records)
        self._lines.append(csv_lines(records))

    def csv_text(self, columns: tuple[str, ...]) -> str:
        lines = "".join(self._lines)
        if self._again:  # rare: the lines read back (as written), the last of each id kept
            allow_long_fields()  # an API's value may be long
            latest = {i: (i, start, end) for i, start, end in csv.reader(io.StringIO(lines, newline=""))}
            lines = csv_lines(list(latest.values()))
        return ",".join(columns) + "\n" + lines


def fetch(source: Source, options: PullOptions, result: PullResult) -> Fetched:
    """Every record changed since the source's cursor (a record served twice while it changed
    during the pull is kept as last served); sets the result's pages and cursor."""
    tool = tool_named(source.tool)
    loop = tool.loop(source.loop) or tool.loops[0]
    fetched = Fetched()
    token = parse_token_ref(source.token_ref)
    with Http(
        tool.title,
        token,
        tool.auth_header,
        transport=options.transport,
        max_wait_s=options.max_wait_s,
        sleep=options.sleep,
    ) as http:
        for page in tool.pages(http, source.base_url, source.query, loop, source.cursor):
            result.pages += 1
            fetched.add(page.records)
            result.cursor_after = page.cursor
            options.progress(
                f"{source.name}: page {result.pages}, {len(page.records)} records ({len(fetched.ids)} in all)"
            )
        result.waited_s = http.waited_s
    return fetched


@contextmanager
def _records_csv(fetched: Fetched, columns: tuple[str, ...], name: str) -> Iterator[Path]:
    """The records as a CSV in a private temporary directory, removed after."""
    directory = Path(tempfile.mkdtemp(prefix="pull-", dir=upload_root()))
    path = directory / name
    try:
        path.write_text(fetched.csv_text(columns), encoding="utf-8", newline="")
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def csv_lines(records: list[Record]) -> str:
    """The records as CSV lines, as the csv module writes them (a missing value empty). Values
    from an API seldom hold a comma, a quote or a line break: then each line is its values joined,
    in a third of the csv module's time, and counting the separators proves that none did;
    otherwise the csv module quotes them."""
    text = "".join(
        [f"{i},{'' if start is None else start},{'' if end is None else end}\n" for i, start, end in records]
    )
    count = len(records)
    if text.count(",") == 2 * count and text.count("\n") == count and '"' not in text and "\r" not in text:
        return text
    quoted = io.StringIO()
    csv.writer(quoted, lineterminator="\n").writerows(records)
    return quoted.getvalue()


def pull_source(store: Store, actor: Actor, name: str, options: PullOptions | None = None) -> PullResult:
    """Pull one source (see the module's docstring); raises on a failure, nothing written then."""
    options = options or PullOptions()
    source = find_source(store, name)
    actor.require_write(source.department, "pull sources")
    result = PullResult(source.name, cursor_before=source.cursor, cursor_after=source.cursor)
    fetched = fetch(source, options, result)
    result.records = len(fetched.ids)
    if fetched.ids:
        _import(store, actor, source, fetched, result)
    if result.batch_id is None and result.cursor_after != source.cursor:
        store.write(actor, lambda tx: _save_cursor(tx, source, result, None))
    return result


def _import(store: Store, actor: Actor, source: Source, fetched: Fetched, result: PullResult) -> None:
    loop = tool_named(source.tool).loop(source.loop) or tool_named(source.tool).loops[0]

    def saved(tx: Tx, batch_id: int, written: int, replaced: int) -> None:
        result.batch_id, result.new_or_changed, result.replaced = batch_id, written, replaced
        _save_cursor(tx, source, result, batch_id)

    pulled = PulledRecords(source.source_id, source.namespace, saved)
    stamp = f"{utcnow():%Y%m%dT%H%M%S}"
    with (
        _records_csv(fetched, COLUMNS[loop.measure], f"{source.tool}-{stamp}.csv") as path,
        open_timing_import(
            store,
            path,
            mapping_for(source, loop),
            name=f"pull {source.name} {stamp}",
            actor=actor,
            pulled=pulled,
        ) as upload,
    ):
        report = upload.report
        result.accepted, result.rejected = report.accepted, report.rejected
        result.rejects = report.to_json()["rejects"]
        if report.problems:
            raise IngestError(report.problems[0], "nothing was written")
        if report.accepted:
            with contextlib.suppress(NothingNew):  # every accepted record stored already: no batch
                upload.commit(actor)


def _save_cursor(tx: Tx, source: Source, result: PullResult, batch_id: int | None) -> None:
    """The source's cursor after this pull (and, with a batch, where that pull started from)."""
    tx.actor.require_write(source.department, "pull sources")
    tx.execute(
        "UPDATE sources SET pull_cursor = ?, last_pull_at = ? WHERE source_id = ?",
        [result.cursor_after, tx.now, source.source_id],
    )
    if batch_id is not None:
        tx.execute(
            "INSERT INTO source_pulls (batch_id, source_id, cursor_before, cursor_after) VALUES (?, ?, ?, ?)",
            [batch_id, source.source_id, result.cursor_before, result.cursor_after],
        )
    detail = {k: v for k, v in result.to_json().items() if k not in ("rejects", "error")}
    tx.audit("source.pulled", "source", str(source.source_id), detail)


def pull_all(store: Store, actor: Actor, options: PullOptions | None = None) -> list[PullResult]:
    """Pull every source the actor may pull; one failing source does not stop the others (its
    result carries the error)."""
    results = []
    for source in list_sources(store, actor):
        try:
            results.append(pull_source(store, actor, source.name, options))
        except AiopsError as e:
            results.append(PullResult(source.name, cursor_before=source.cursor, error=str(e)))
    return results
