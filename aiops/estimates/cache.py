"""Each workflow's estimate, kept by what it was computed from: a read recomputes only the workflows
whose inputs changed (an upload touches its own workflows, and those that use them as a comparison).

A workflow's inputs are its timing rows before the period's end (a fingerprint: how many, and the sum
of a hash of each row: order-free, and any added, removed or changed row moves it), its comparison
workflow's rows, the period, the run-rate window (as the cells query clips it to the workflow's own
last complete week), the policy's evidence rules and the code (every module of the package,
``aiops.code_hash``, and the libraries' versions: a change of method is a change of inputs). The
key is content only: a key that matches was computed from the same rows by the same code, so a
kept entry is what computing afresh gives (to the last bits of floating point: DuckDB adds doubles
in no fixed order). The fingerprints and the cells are read in one transaction (the caller's
snapshot), so a write that commits meanwhile cannot file one set of rows' estimate under another's key.

Two layers: a bounded in-process map (every store), and on a DuckDB file a table (``estimate_cache``,
one row per workflow and period) so that a new process starts warm. On PostgreSQL each process keeps
its own map: a read never writes to the server.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import metadata

from aiops.clock import utcnow
from aiops.code_hash import PACKAGE
from aiops.estimates.record import Estimate, from_json, to_json
from aiops.lru import Lru
from aiops.period import week_start
from aiops.policy import EvidenceRules
from aiops.store import Reader

# A timing row's hash: every column an estimate or a weekly cell reads.
ROW_HASH = (
    "hash(phase, measured_at, duration_minutes, loops, rework_minutes, time_kind, ai_assisted, segment)"
)
# Rows before the period's end, per workflow: count, a hash sum and the last timing.
_FINGERPRINTS = f"""
SELECT workflow_id, count(*) AS n, CAST(sum({ROW_HASH}) AS VARCHAR) AS hashed, max(measured_at) AS last
FROM {{samples}}
WHERE (CAST($end AS TIMESTAMP) IS NULL OR measured_at < CAST($end AS TIMESTAMP))
  AND ($scope IS NULL OR workflow_id IN (SELECT unnest($scope)))
GROUP BY workflow_id
"""

_LOAD = "SELECT inputs_key, record FROM estimate_cache WHERE inputs_key IN (SELECT unnest($keys))"
# Replaces the workflows' rows for this period, and forgets any row computed more than 30 days ago
# (periods nobody reads again, workflows since removed): the table stays about one row per
# workflow and period in use.
_DELETE = (
    "DELETE FROM estimate_cache WHERE (period_key = $period AND workflow_id IN (SELECT unnest($ids)))"
    " OR computed_at < CAST($now AS TIMESTAMP) - INTERVAL 30 DAY"
)
# Lists unnested side by side (DuckDB zips them): one statement for every workflow.
_INSERT = (
    "INSERT INTO estimate_cache"
    " SELECT unnest($ids), $period, unnest($keys), CAST($now AS TIMESTAMP), unnest($records)"
)


@dataclass(frozen=True)
class Window:
    """What a period's estimates read: rows before ``end``; ``start`` for the period's loops; the
    run-rate window ``[recent_end - recent_days, recent_end)``."""

    start: datetime | None
    end: datetime | None
    recent_end: datetime
    recent_days: int
    samples: str = "committed_samples"

    @property
    def key(self) -> str:
        return f"{self.samples}|{self.start}|{self.end}"


def _code_hash() -> str:
    """The code (every module of the package: ``aiops.code_hash``) and the versions of the
    libraries that compute the estimates (DuckDB's sums and quantiles, the fits)."""
    digest = hashlib.sha256(PACKAGE.encode())
    for library in ("duckdb", "numpy", "pandas", "scipy", "statsmodels"):
        digest.update(f"{library} {metadata.version(library)}".encode())
    return digest.hexdigest()[:16]


CODE = _code_hash()


def _own_recent_end(window: Window, last: datetime) -> datetime:
    """The run-rate window's end as the cells query clips it: the end of the workflow's own last
    complete week when that is earlier."""
    own = week_start(last.date() + timedelta(days=1))
    return min(window.recent_end, datetime.combine(own, datetime.min.time()))


MEMORY: Lru[str, Estimate] = Lru(20_000)  # inputs key -> record
_AFRESH: ContextVar[bool] = ContextVar("estimates_afresh", default=False)


def afresh() -> bool:
    """Whether this thread is inside ``computed_afresh`` (derived figures are not kept either)."""
    return _AFRESH.get()


@contextmanager
def computed_afresh() -> Iterator[None]:
    """Inside the block (this thread), every estimate is computed from its rows: nothing is read
    from either layer or kept. For checks that compare two ways of computing the same figures."""
    token = _AFRESH.set(True)
    try:
        yield
    finally:
        _AFRESH.reset(token)


def inputs_keys(
    db: Reader, rules: EvidenceRules, window: Window, comparisons: dict[str, str], scope: list[str] | None
) -> dict[str, str]:
    """workflow id -> the key of its estimate's inputs, for every workflow with rows in ``scope``."""
    wanted = None if scope is None else sorted({*scope, *(comparisons.get(w, "") for w in scope)} - {""})
    rows = db.query(_FINGERPRINTS.replace("{samples}", window.samples), {"end": window.end, "scope": wanted})
    prints = {w: f"{n}:{hashed}:{_own_recent_end(window, last)}" for w, n, hashed, last in rows}
    shared = json.dumps(
        [CODE, rules.model_dump(mode="json"), window.key, window.start, window.recent_days], default=str
    )
    return {
        w: hashlib.sha256(f"{shared}|{w}|{fp}|{prints.get(comparisons.get(w, ''), '')}".encode()).hexdigest()
        for w, fp in prints.items()
        if scope is None or w in scope
    }


def cached(
    db: Reader,
    keys: dict[str, str],
    compute: Callable[[list[str]], Iterable[Estimate]],
    window: Window,
    writer: Reader | None,
) -> dict[str, Estimate]:
    """Every workflow's record: from memory, then the store's table, then ``compute(missing ids)``
    (whose results are kept in both)."""
    if afresh():
        return {r.workflow_id: r for r in compute(sorted(keys)) if r.workflow_id in keys}
    found: dict[str, Estimate] = {}
    for workflow_id, key in keys.items():
        record = MEMORY.get(key)
        if record is not None:
            found[workflow_id] = record
    missing = {key: w for w, key in keys.items() if w not in found}
    if missing and writer is not None:
        for key, text in db.query(_LOAD, {"keys": sorted(missing)}):
            record = from_json(json.loads(text))
            MEMORY.put(key, record)
            found[missing.pop(key)] = record
    if not missing:
        return found
    computed = {r.workflow_id: r for r in compute(sorted(missing.values()))}
    kept = {key: computed[w] for key, w in missing.items() if w in computed}
    for key, record in kept.items():
        MEMORY.put(key, record)
        found[record.workflow_id] = record
    if writer is not None and kept:
        ids = [r.workflow_id for r in kept.values()]
        records = [json.dumps(to_json(r)) for r in kept.values()]
        period, now = window.key, utcnow()
        writer.keep_derived(
            [
                (_DELETE, {"period": period, "ids": ids, "now": now}),
                (
                    _INSERT,
                    {"period": period, "ids": ids, "keys": list(kept), "now": now, "records": records},
                ),
            ]
        )
    return found
