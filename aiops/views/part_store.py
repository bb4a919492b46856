"""A period's part kept in the store (``aiops.store.derived``), so that a new process starts warm.

A restarted server or a command used to compute its periods' figures again (0.2 s for 300
workflows, with every estimate kept); reading a kept part back takes a few milliseconds. The key is
the in-process key (``aiops.views.parts``: what the part read of the store and its other inputs)
with the code that computed it (every module of the package and the libraries' versions): a
matching key was computed from the same inputs by the same code.

A part is stored as Arrow IPC (its frames: their types and every value as they were) with its
totals as JSON; object columns (lists of codes, missing ids) as JSON text. Before a part is
stored it is read back and compared with itself, value by value and type by type: one that would
not come back exactly (a value JSON cannot hold) is not stored, and is computed again next time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import pandas as pd
import pyarrow as pa

from aiops.estimates.cache import CODE
from aiops.store import Reader, derived
from aiops.views.totals import Totals

# The code (every module of the package and the estimates' libraries: ``CODE``) and Arrow, which
# stores the part.
CODE_HASH = hashlib.sha256(f"{CODE} pyarrow {pa.__version__}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class PartFields:
    """What is stored of a part (``aiops.views.parts.Part``, built back from them by name)."""

    frame: pd.DataFrame
    adoption: pd.DataFrame
    weeks: pd.DataFrame
    company: Totals
    departments: tuple[Totals, ...]


Built = TypeVar("Built")


def stored_key(key: str) -> str:
    return "part:" + hashlib.sha256(f"{key}|{CODE_HASH}".encode()).hexdigest()


def load(db: Reader, key: str, build: Callable[..., Built]) -> Built | None:
    """The part stored under ``key`` (``build`` called with its fields by name: frame, adoption,
    weeks, company, departments), or None."""
    payload = derived.load(db, stored_key(key))
    if payload is None:
        return None
    try:
        back = decoded(payload)
    except (ValueError, KeyError, TypeError, pa.ArrowException):  # a damaged row: computed again
        return None
    return build(
        frame=back.frame,
        adoption=back.adoption,
        weeks=back.weeks,
        company=back.company,
        departments=back.departments,
    )


def keep(db: Reader, key: str, fields: PartFields, now: datetime) -> bool:
    """Store a part's fields when they come back exactly; False when they would not, or the store
    keeps no derived data."""
    if not db.keeps_derived:
        return False
    try:
        payload = encoded(fields)
    except (TypeError, ValueError, pa.ArrowException):  # a value JSON or Arrow cannot hold
        return False
    if not same_fields(decoded(payload), fields):
        return False
    return derived.keep(db, stored_key(key), payload, now)


# -- the payload: frames as Arrow IPC streams, totals as JSON -----------------------------------------


def encoded(fields: PartFields) -> bytes:
    totals = json.dumps([_totals_json(t) for t in (fields.company, *fields.departments)]).encode()
    frames = [_frame_bytes(fields.frame), _frame_bytes(fields.adoption), _frame_bytes(fields.weeks)]
    blobs = [*frames, totals]
    header = json.dumps([len(b) for b in blobs]).encode()
    return len(header).to_bytes(4, "big") + header + b"".join(blobs)


def decoded(payload: bytes) -> PartFields:
    size = int.from_bytes(payload[:4], "big")
    blobs, at = [], 4 + size
    for length in json.loads(payload[4 : 4 + size]):
        blobs.append(payload[at : at + length])
        at += length
    frame, adoption, weeks, totals = blobs  # as ``encoded`` writes them
    company, *departments = [_totals_from(t) for t in json.loads(totals)]
    return PartFields(
        frame=_frame_from(frame),
        adoption=_frame_from(adoption),
        weeks=_frame_from(weeks),
        company=company,
        departments=tuple(departments),
    )


def _frame_bytes(frame: pd.DataFrame) -> bytes:
    """The frame's typed columns as an Arrow table; its object columns (lists of codes, missing
    ids) as one JSON text in the table's metadata, with the columns' order."""
    objects = {c: frame[c].tolist() for c in frame.columns if frame[c].dtype == object}
    table = pa.Table.from_pandas(frame.drop(columns=list(objects)), preserve_index=False)
    layout = json.dumps({"columns": list(frame.columns), "objects": objects}, allow_nan=True)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"layout": layout.encode()})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as out:
        out.write_table(table)
    return bytes(sink.getvalue())


def _frame_from(blob: bytes) -> pd.DataFrame:
    table = pa.ipc.open_stream(blob).read_all()
    layout = json.loads(table.schema.metadata[b"layout"])
    frame = table.to_pandas()
    objects = {
        c: pd.Series(values, index=frame.index, dtype=object) for c, values in layout["objects"].items()
    }
    return pd.concat([frame, pd.DataFrame(objects, index=frame.index)], axis=1)[layout["columns"]]


def _totals_json(totals: Totals) -> dict[str, Any]:
    return {
        name: {"datetime": value.isoformat()} if isinstance(value, datetime) else value
        for name, value in dataclasses.asdict(totals).items()
    }


def _totals_from(fields: dict[str, Any]) -> Totals:
    values: dict[str, Any] = {
        name: datetime.fromisoformat(value["datetime"]) if isinstance(value, dict) else value
        for name, value in fields.items()
    }
    return Totals(**values)


# -- the check that a stored part comes back as it was --------------------------------------------


def same_fields(back: PartFields, fields: PartFields) -> bool:
    frames = (
        _same_frame(back.frame, fields.frame)
        and _same_frame(back.adoption, fields.adoption)
        and _same_frame(back.weeks, fields.weeks)
    )
    company = _same_totals(back.company, fields.company)
    departments = len(back.departments) == len(fields.departments) and all(
        _same_totals(a, b) for a, b in zip(back.departments, fields.departments, strict=True)
    )
    return frames and company and departments


def _same_frame(back: pd.DataFrame, frame: pd.DataFrame) -> bool:
    if list(back.columns) != list(frame.columns) or list(back.dtypes) != list(frame.dtypes):
        return False
    if not back.index.equals(frame.index) or not back.equals(frame):
        return False
    objects = [c for c in frame.columns if frame[c].dtype == object]
    return all(_same_value(a, b) for c in objects for a, b in zip(back[c], frame[c], strict=True))


def _same_totals(back: Totals, totals: Totals) -> bool:
    return all(
        _same_value(getattr(back, f.name), getattr(totals, f.name)) for f in dataclasses.fields(Totals)
    )


def _same_value(back: Any, value: Any) -> bool:
    """Equal, and of the same type (a float may come back as the float it was computed as: numpy's
    float64 is one); lists item by item."""
    if isinstance(value, float) and isinstance(back, float):
        return back == value or (math.isnan(back) and math.isnan(value))
    if type(back) is not type(value):
        return False
    if isinstance(value, list):
        return len(back) == len(value) and all(_same_value(a, b) for a, b in zip(back, value, strict=True))
    return bool(back == value)
