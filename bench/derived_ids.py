"""Deriving workflow ids in SQL (a sheet without an id column) with the Python function itself,
against a pure-SQL pass of the same shape, in the same run.

SQL's ``derive_workflow_id`` is ``aiops.workflow.derive_workflow_id`` registered as an Arrow UDF
(``aiops.store.functions``): one Python call per vector of rows. The baseline is the slug DuckDB
computes alone (``strip_accents``, ``lower``, ``regexp_replace``, ``trim``), the hand-kept SQL twin
the function replaced, which disagreed with Python on ligatures, full-width letters and titlecase
digraphs. Names are ASCII but for ``--non-ascii`` of them (default one in five), which take the
function's NFKD path; each timing is the best of ``--repeat``.

    python -m bench.derived_ids [--rows 100000] [--non-ascii 0.2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

from aiops.store import Store

SQL_ONLY = (
    "coalesce(nullif(trim(left(trim(regexp_replace(lower(strip_accents(department || ' ' || name)),"
    " '[^a-z0-9]+', '-', 'g'), '-'), 120), '-'), ''), 'workflow')"
)
FUNCTION = "derive_workflow_id(name, department)"


def _best(store: Store, expression: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        store.query(f"SELECT count(DISTINCT {expression}) FROM sheet")
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--non-ascii", type=float, default=0.2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    every = max(1, round(1 / args.non_ascii)) if args.non_ascii else args.rows + 1
    with Store(":memory:") as store:
        store.query(
            "CREATE TABLE sheet AS SELECT 'Workflow ' || i || CASE WHEN i % $every = 0 THEN ' Prüfung ﬀ Ｑ'"
            " ELSE ' review' END AS name, 'Department ' || (i % 40) AS department FROM range($rows) r(i)",
            {"every": every, "rows": args.rows},
        )
        function, baseline = _best(store, FUNCTION, args.repeat), _best(store, SQL_ONLY, args.repeat)
    print(
        f"{args.rows:,} rows ({args.non_ascii:.0%} non-ASCII): derive_workflow_id in SQL {function:.3f} s, "
        f"the SQL-only slug {baseline:.3f} s: {function / baseline:.1f}x, "
        f"{(function - baseline) / args.rows * 1e6:.1f} µs more a row"
    )


if __name__ == "__main__":
    main()
