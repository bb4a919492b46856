"""What a view reads of every timing row, carried from one revision to the next over appended batches.

Three figures of a view read every committed timing row: each period's key (``aiops.views.parts``:
the count and hash sum of the rows before the period's end), each workflow's latest timings (the
freshness table) and the data's first and last timing. They are read in one scan, grouped by
workflow. At 1M rows such scans were most of the view's rebuild after an upload (about 25 of
40 ms), though the upload appended a few rows.

Counts and hash sums add, and a latest timing only moves later (a first one earlier) when rows are
appended: so when every write since this process's last build appended batches and changed no other
timing row, the new figures are the last ones plus those of the appended batches' rows (read by
``batch_id``). They are then the very figures a full read gives. The audit log tells which writes
those were: every write that changes which rows ``committed_samples`` shows appends an audit row in
its own transaction, and the writes of one DuckDB file in one process take one lock (``Store``),
so they commit in the order of their audit ids. A write the log does not show as an append (an
undo, a pull that replaced samples, a merge, a restore, any action not listed below) reads every
row; a build at the same audit row (another period's view, a view built again) takes the figures as
they are. An edit of timing rows that appends no audit row (none in the product: a hand edit) is
therefore not seen until a write of another kind or a new process (nor is it by the views, kept per
revision). Only on a DuckDB file, where this process is the only writer; a PostgreSQL server's
tables may be edited by other clients, and there the rows are read every time.

The view's other facts (``aiops.views.facts``) are carried the same way, over the writes that
change none of them (``_KEEPS_FACTS``), and dropped at any other.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import NamedTuple

from aiops.estimates.cache import ROW_HASH, afresh
from aiops.lru import Lru
from aiops.metrics import NO_TIMING, Latest
from aiops.store import Reader, Store
from aiops.views.facts import Facts

Head = tuple[int, datetime | None]  # the last audit row: its id and time


class Sum(NamedTuple):
    """The rows before a period's end: how many, and the sum of their hashes."""

    rows: int
    hashed: int

    def plus(self, other: Sum) -> Sum:
        return Sum(self.rows + other.rows, self.hashed + other.hashed)


Sums = dict[datetime | None, Sum]  # per period end

_PULLED = "source.pulled"  # in the same write as its batch's "upload.committed"
# Audit actions whose writes change no timing row (each listed after reading the code that writes it).
_NO_TIMING_ROW = frozenset(
    {
        "classification.changed",
        "checkpoint.removed",
        "company.settings_saved",
        "database.backup",
        "incident.recorded",
        "policy.applied",
        "preset.renamed",  # migration 012: names keyed anew
        "preset.replaced",
        "preset.saved",
        "source.added",
        _PULLED,  # its rows come with the batch's own "upload.committed"
        "source.removed",  # the source's row; its samples stay
        "source.renamed",  # migration 012
        "user.signed_in",
        "workflow.ai_cost_set",
        "workflow.created",
        "workflow.signed_off",
        "workflow.updated",
    }
)
_APPENDED = "upload.committed"  # entity_id: the batch whose rows it made visible
# Writes that change none of a view's facts (``aiops.views.facts``): an upload's classification
# changes come as their own "classification.changed" rows, and its batch is read by the freshness.
# Every workflow is classified when it is saved, so an upload adds no classification either.
_KEEPS_FACTS = frozenset(
    {
        _APPENDED,
        "database.backup",
        "preset.renamed",
        "preset.replaced",
        "preset.saved",
        "source.added",
        _PULLED,
        "source.removed",
        "source.renamed",
        "user.signed_in",
    }
)

# The last audit row: its id and its time (a third of the time of ORDER BY ... LIMIT 1).
_HEAD = "SELECT max(audit_id), arg_max(recorded_at, audit_id) FROM audit_log"
# Sorted in Python: a handful of rows, and ORDER BY costs DuckDB as much as the read.
_SINCE = "SELECT audit_id, recorded_at, action, entity_id FROM audit_log WHERE audit_id >= ?"
_REPLACED = "SELECT count(*) FROM replaced_samples WHERE replaced_by IN (SELECT unnest($batches))"
_BEFORE = "CAST(${end} AS TIMESTAMP) IS NULL OR measured_at < CAST(${end} AS TIMESTAMP)"
_SUMS = "count(*) FILTER (WHERE {before}), coalesce(sum(hash(workflow_id, {row})) FILTER (WHERE {before}), 0)"
# Per workflow: its first and last timing, its last before go-live, then per end the sums.
_READ = (
    "SELECT workflow_id, min(measured_at), max(measured_at), max(measured_at) FILTER (WHERE phase = 'before')"
    "{sums} FROM {rows} {where} GROUP BY workflow_id"
)
_IN_BATCHES = "WHERE batch_id IN (SELECT unnest($batches))"


@dataclass(frozen=True)
class RowsState:
    """The figures of every committed timing row a view reads, at one audit row (``head``)."""

    head: Head
    before: Sums
    latest: dict[str, Latest]  # per workflow
    first: datetime | None  # the first timing of all
    facts: Facts | None = None  # the view's other facts at ``head``, when known

    def key(self, end: datetime | None) -> str:
        """The rows before ``end`` as a part's key holds them: ``count:hash sum`` (no sum when none)."""
        count, hashed = self.before[end].rows, self.before[end].hashed
        return f"{count}:{hashed if count else ''}"

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The first and the last timing (``aiops.views.build.data_bounds``)."""
        return self.first, max((t.last for t in self.latest.values() if t.last is not None), default=None)


_STATES: Lru[tuple[int, str], RowsState] = Lru(8)
MAX_ENDS = 8  # period ends a state carries: the views of a few periods share one


def rows_state(store: Store, db: Reader, ends: list[datetime | None]) -> RowsState:
    """The figures at ``db``'s moment (the sums for the period ``ends`` only; none when empty):
    carried over the batches appended since this process's last build of ``store`` when it can
    (see the module), else read from every row."""
    if store.postgres or afresh():
        return _read(db, ends, None, (0, None))
    memo = _STATES.get((id(store), store.path))
    head = _head(db)
    holds = memo is not None and set(ends) <= set(memo.before)
    if memo is not None and holds and head == memo.head and head[0] > 0:
        return memo  # the same moment: another period's view, or a view built again
    since = _appended_since(db, memo.head, head) if memo is not None and holds else None
    if memo is not None and since is not None:
        state = _carried(db, memo, head, *since)
    else:
        kept = list(memo.before) if memo else []
        state = read_rows(db, list(dict.fromkeys([*ends, *kept]))[:MAX_ENDS], head)
    _STATES.put((id(store), store.path), state)
    return state


def known_bounds(store: Store, db: Reader) -> tuple[datetime | None, datetime | None] | None:
    """The first and last timing at ``db``'s moment from this process's figures of ``store``,
    brought to that moment (a view's build then finds them there); None before the first build of
    ``store`` in this process (never one on PostgreSQL). Under ``computed_afresh`` they are read
    from every row."""
    if _STATES.get((id(store), store.path)) is None:
        return None
    return rows_state(store, db, []).bounds()


def read_rows(db: Reader, ends: list[datetime | None], head: Head | None = None) -> RowsState:
    """The figures from every committed row, nothing carried (``head``: the audit row ``db``'s
    moment ends at, when already read)."""
    return _read(db, ends, None, head or _head(db))


def _head(db: Reader) -> Head:
    row = db.query_one(_HEAD)
    return (row[0], row[1]) if row and row[0] is not None else (0, None)


def _appended_since(db: Reader, was: Head, head: Head) -> tuple[list[int], bool] | None:
    """The batches the writes after ``was`` appended, when appending them is all those writes did
    to timing rows, and whether they left the view's other facts as they were; None when they did
    anything else to timing rows, or the log no longer holds ``was`` as it was (a restore rewinds
    it)."""
    if was[0] == 0 or head[0] <= was[0]:
        return None
    rows = sorted(db.query(_SINCE, [was[0]]))
    if not rows or (rows[0][0], rows[0][1]) != was:
        return None
    batches = []
    for _, _, action, entity_id in rows[1:]:
        if action == _APPENDED:
            batches.append(int(entity_id))
        elif action not in _NO_TIMING_ROW:
            return None
    actions = {action for _, _, action, _ in rows[1:]}
    # Only a pull replaces earlier samples (``aiops.ingest.replacing``), and it removed rows then.
    if batches and _PULLED in actions and db.query_value(_REPLACED, {"batches": batches}):
        return None
    return batches, actions <= _KEEPS_FACTS


def with_facts(store: Store, state: RowsState, facts: Facts) -> None:
    """Carry ``facts`` (read at ``state``'s moment) with this process's figures of ``store``, when
    ``state`` is still the last of them."""
    _STATES.swap((id(store), store.path), state, replace(state, facts=facts))


def _carried(db: Reader, memo: RowsState, head: Head, batches: list[int], keeps_facts: bool) -> RowsState:
    facts = memo.facts if keeps_facts else None
    if not batches:
        return RowsState(head, memo.before, memo.latest, memo.first, facts)
    added = _read(db, list(memo.before), batches, head)
    before = {end: was.plus(added.before[end]) for end, was in memo.before.items()}
    latest = dict(memo.latest)
    for workflow_id, (last, baseline) in added.latest.items():
        was = latest.get(workflow_id, NO_TIMING)
        latest[workflow_id] = Latest(_later(was.last, last), _later(was.baseline, baseline))
    first = min((t for t in (memo.first, added.first) if t is not None), default=None)
    return RowsState(head, before, latest, first, facts)


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _read(db: Reader, ends: list[datetime | None], batches: list[int] | None, head: Head) -> RowsState:
    """The figures of the committed rows (of ``batches`` only, if given) in one scan: per workflow,
    then added up (the sums are integers: the same in any order)."""
    names = {f"e{i}": end for i, end in enumerate(ends)}
    sums = "".join(", " + _SUMS.format(before=_BEFORE.format(end=name), row=ROW_HASH) for name in names)
    params: dict[str, object] = {**names, **({"batches": batches} if batches is not None else {})}
    # Batches an audit row shows committed are read from the table itself: the view's anti-join of
    # pending batches would read every row's batch id (half the read's time at 1M rows).
    rows_in = ("timing_samples", _IN_BATCHES) if batches is not None else ("committed_samples", "")
    rows = db.query(_READ.format(sums=sums, rows=rows_in[0], where=rows_in[1]), params)
    before = {
        end: Sum(sum(int(row[4 + 2 * i]) for row in rows), sum(int(row[5 + 2 * i]) for row in rows))
        for i, end in enumerate(ends)
    }
    latest = {row[0]: Latest(row[2], row[3]) for row in rows}
    return RowsState(head, before, latest, min((row[1] for row in rows if row[1] is not None), default=None))
