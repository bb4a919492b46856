"""A chart on a page: its Vega-Lite spec built once per content, then drawn from the kept spec.

Building a chart with Altair and validating it against the Vega-Lite schema was most of a cached
page run (the Overview at 1M rows ran in 0.030 s instead of 0.108 s with its charts left out). A
spec depends only on its builder, title, options and the contents of the frames it is built from,
so it is kept by a digest of those: a rerun, another session, or a view rebuilt after an upload
that left the chart's rows as they were, draws the kept spec. Validation still runs once per
content (``to_dict``). The builders are code: they cannot change while the process runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import partial
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from aiops.charts import themed


def chart(
    build: Callable[..., alt.TopLevelMixin], *inputs: object, title: str, key: str, **options: object
) -> None:
    """``build(*inputs, **options)``, themed and titled like the board pack (``theme=None``: not
    Streamlit's theme), from the spec kept for these contents."""
    digest = content_digest(build.__module__, build.__qualname__, title, inputs, options)
    spec = _spec(digest, partial(_built, build, inputs, options, title))
    st.vega_lite_chart(spec=spec, theme=None, key=key)


def _built(
    build: Callable[..., alt.TopLevelMixin],
    inputs: tuple[object, ...],
    options: dict[str, object],
    title: str,
) -> dict[str, Any]:
    return themed(build(*inputs, **options), title).to_dict()


@st.cache_data(show_spinner=False, max_entries=64)
def _spec(digest: str, _build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    # Kept by ``digest`` only (Streamlit does not hash arguments named with a leading underscore);
    # each run gets its own copy, so drawing one cannot change the kept spec.
    return _build()


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
