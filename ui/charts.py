"""A chart on a page: its Vega-Lite spec built once per content, then drawn from the kept spec.

Building a chart with Altair and validating it against the Vega-Lite schema was most of a cached
page run (the Overview at 1M rows ran in 0.030 s instead of 0.108 s with its charts left out), and
importing Altair costs a new server process 0.18 s more (``python -X importtime``). A spec depends
only on its builder, title, options, the contents of the frames it is built from and the code that
builds it, so it is kept by a digest of those: in this process (a rerun, another session, a view
rebuilt after an upload that left the chart's rows as they were) and, like a period's figures, in
the store (``aiops.store.derived``: a restarted server draws its charts without importing Altair).
Validation still runs once per content (``to_dict``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from aiops.charts import themed
from aiops.clock import utcnow
from aiops.store import derived
from aiops.views.part_store import CODE_HASH
from ui.context import store


def chart(
    build: Callable[..., Any], *inputs: object, title: str, key: str, stored: bool = True, **options: object
) -> None:
    """``build(*inputs, **options)``, themed and titled like the board pack (``theme=None``: not
    Streamlit's theme), from the spec kept for these contents. ``stored=False``: kept in this
    process only, never in the store (a chart of rows, not of figures: an upload not yet committed,
    a sample of timings; the store keeps no row a discard or an undo would leave behind)."""
    digest = content_digest(CODE, build.__module__, build.__qualname__, title, inputs, options)
    built = partial(_built, build, inputs, options, title)
    spec = _spec(digest, partial(_stored_or_built, digest, built) if stored else built)
    st.vega_lite_chart(spec=spec, theme=None, key=key)


@st.cache_data(show_spinner=False, max_entries=64)
def _spec(digest: str, _make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    # Kept by ``digest`` only (Streamlit does not hash arguments named with a leading underscore);
    # each run gets its own copy, so drawing one cannot change the kept spec.
    return _make()


def _stored_or_built(digest: str, built: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    db, key = store(), f"chart:{digest}"
    kept = derived.load(db, key)
    if kept is not None:
        try:
            return dict(json.loads(kept))
        except ValueError:  # a damaged row: built again
            pass
    spec = built()
    if db.keeps_derived:
        db.later(partial(derived.keep, db, key, json.dumps(spec).encode(), utcnow()))  # off the page's path
    return spec


def _built(
    build: Callable[..., Any], inputs: tuple[object, ...], options: dict[str, object], title: str
) -> dict[str, Any]:
    spec: dict[str, Any] = themed(build(*inputs, **options), title).to_dict()
    return spec


def _code() -> str:
    """What builds a spec: the package (its chart builders), this module and Altair's version, read
    when this module is imported (not Altair itself: it is imported only to build a chart)."""
    own = Path(__file__).read_bytes()
    return hashlib.sha256(f"{CODE_HASH} altair {metadata.version('altair')}".encode() + own).hexdigest()


CODE = _code()


def content_digest(*values: object) -> str:
    """A digest of values as a chart reads them: frames by their columns, types and every value
    (all rows: Streamlit's own argument hashing samples frames of 50,000 rows or more), anything
    else by its JSON text."""
    digest = hashlib.blake2b(digest_size=20)
    for value in values:
        _feed(digest, value)
    return digest.hexdigest()


def _feed(digest: Any, value: object) -> None:
    if isinstance(value, tuple | list):
        digest.update(b"[%d" % len(value))
        for item in value:
            _feed(digest, item)
    elif isinstance(value, pd.DataFrame):
        digest.update(json.dumps([list(map(str, value.columns)), list(map(str, value.dtypes))]).encode())
        digest.update(_row_hashes(value).tobytes())
    else:
        digest.update(json.dumps(value, sort_keys=True, default=str).encode())


def _row_hashes(frame: pd.DataFrame) -> Any:
    """pandas' hash of each row, index left out (a chart reads the columns only); a column of
    lists or other unhashable values is hashed by each value's text."""
    try:
        return pd.util.hash_pandas_object(frame, index=False).to_numpy()
    except TypeError:
        texts = {c: frame[c].map(repr) for c in frame.columns if frame[c].dtype == object}
        return pd.util.hash_pandas_object(frame.assign(**texts), index=False).to_numpy()
