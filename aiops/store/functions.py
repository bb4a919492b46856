"""The Python functions SQL calls by name, registered on every DuckDB connection the store opens:
a DuckDB file's, and the in-memory engine that attaches PostgreSQL (every statement runs in DuckDB,
over the server's tables or over staged uploads; none of these functions runs on the server). One
definition each, so SQL gives exactly the Python result (tests/unit/test_identity.py pins it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pyarrow as pa
from duckdb.func import ARROW

from aiops.identity import identity_key
from aiops.workflow import derive_workflow_id

VARCHAR = duckdb.sqltype("VARCHAR")


def _derived_ids(names: pa.Array, departments: pa.Array) -> pa.Array:
    """``derive_workflow_id`` over a vector of rows: one Python call per vector rather than per
    row (an import of a sheet without an id column derives every row's id); NULL in, NULL out."""
    pairs = zip(names.to_pylist(), departments.to_pylist(), strict=True)
    ids = [None if n is None or d is None else derive_workflow_id(n, d) for n, d in pairs]
    return pa.array(ids, pa.string())


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Make ``identity_key(text)`` and ``derive_workflow_id(name, department)`` callable in SQL on
    ``con`` and its cursors."""
    with _unless_registered():
        con.create_function("identity_key", identity_key, [VARCHAR], VARCHAR)
    with _unless_registered():
        con.create_function("derive_workflow_id", _derived_ids, [VARCHAR, VARCHAR], VARCHAR, type=ARROW)


@contextmanager
def _unless_registered() -> Iterator[None]:
    """Connections to one file in one process share its database (DuckDB's instance cache), and
    with it the functions another connection registered."""
    try:
        yield
    except duckdb.CatalogException as e:
        if "already exists" not in str(e):
            raise
