"""The embedded store (a DuckDB file) against PostgreSQL (attached by DuckDB), measured in one run.

1. The Overview page (Streamlit AppTest, in-process) at N timing rows / 500 workflows (default
   1,000,000) on each store: uncached (Streamlit's data cache cleared, every query runs) and
   cached (a rerun the cache answers), the best of 5 runs each, the two stores' runs interleaved.
   Targets: PostgreSQL uncached ≤ 2× embedded; cached equal.
2. A canonical timings file of N rows imported through the product's path into each store.
   Target: PostgreSQL ≤ 2× embedded.

PostgreSQL is ``AIOPS_BENCH_PG`` (a server URL; a database is created in it and dropped), or a
throwaway cluster started for the run (like the tests').

    python -m bench.store_pg [--rows 1000000] [--statements]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from aiops.ingest.timings import import_timings
from bench.ingest import ADMIN, _register, write_canonical
from bench.pages import build, measure_side_by_side, statements
from tests import pg_cluster

ROOT = Path(__file__).resolve().parent.parent


def time_import(location: str, csv: Path) -> tuple[float, int]:
    from aiops.store import Store

    with Store(location) as store:
        store.write(ADMIN, _register)
        start = time.perf_counter()
        report = import_timings(store, ADMIN, csv)
        elapsed = time.perf_counter() - start
        assert report.rejected == 0, report.rejects.head()
        rows = store.query_one("SELECT count(*) FROM timing_samples")[0]
        return elapsed, rows


def verdict(ratio: float, limit: float) -> str:
    return "MET" if ratio <= limit else "NOT MET"


def print_statements(location: str | Path, label: str) -> None:
    log = statements(location)
    total = sum(s.seconds for s in log)
    print(f"  SQL of one uncached Overview run ({label}): {len(log)} statements, {total:.2f} s")
    for statement in log:
        print(f"    {statement.seconds:6.3f} s  {' '.join(statement.sql.split())[:110]}")


def run(server: str, rows: int, tmp: Path, show_statements: bool = False) -> bool:
    overview_pg = pg_cluster.create_database(server)
    import_pg = pg_cluster.create_database(server)
    try:
        embedded_db = tmp / "overview.duckdb"
        for label, location in (("embedded", str(embedded_db)), ("postgres", overview_pg)):
            start = time.perf_counter()
            build(location, rows)
            took = time.perf_counter() - start
            print(f"built {rows:,} timing rows / 500 workflows ({label}) in {took:.1f} s")
        # Interleaved runs (embedded, postgres, embedded, ...): the machine's load hits both alike.
        pages = measure_side_by_side({"embedded": embedded_db, "postgres": overview_pg}, repeats=5)
        for label, r in pages.items():
            print(
                f"  Overview ({label}): cold {r['cold']:.2f} s, uncached {r['uncached']:.2f} s, "
                f"cached {r['cached']:.3f} s"
            )
        if show_statements:
            print_statements(embedded_db, "embedded")
            print_statements(overview_pg, "postgres")
        csv = tmp / "timings.csv"
        write_canonical(csv, rows)
        imports = {
            "embedded": time_import(str(tmp / "import.duckdb"), csv),
            "postgres": time_import(import_pg, csv),
        }
        for label, (seconds, stored) in imports.items():
            print(f"  import of {rows:,} rows ({label}): {seconds:.2f} s ({stored:,} rows stored)")
    finally:
        pg_cluster.drop_database(server, overview_pg)
        pg_cluster.drop_database(server, import_pg)
    uncached = pages["postgres"]["uncached"] / pages["embedded"]["uncached"]
    cached = pages["postgres"]["cached"] / pages["embedded"]["cached"]
    imported = imports["postgres"][0] / imports["embedded"][0]
    head = "ratio PostgreSQL / embedded,"
    print(f"{head} Overview uncached: {uncached:.2f}x (target <= 2x: {verdict(uncached, 2)})")
    # "equal" within noise: a cached rerun touches the database once (the revision query)
    print(f"{head} Overview cached:   {cached:.2f}x (target ~1x, <= 1.5x: {verdict(cached, 1.5)})")
    print(f"{head} import:            {imported:.2f}x (target <= 2x: {verdict(imported, 2)})")
    return uncached <= 2 and cached <= 1.5 and imported <= 2


def load_average() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--statements", action="store_true", help="also list each SQL statement of one uncached run"
    )
    args = parser.parse_args()
    print(f"load average (1/5/15 min) at the start: {load_average()} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="aiops-store-pg-") as tmp:
        server = os.environ.get("AIOPS_BENCH_PG")
        cluster = None
        if not server:
            cluster = tempfile.mkdtemp(prefix="aiops-bench-pg-")
            server = pg_cluster.start(cluster)
        try:
            ok = run(server, args.rows, Path(tmp), args.statements)
        finally:
            if cluster:
                pg_cluster.stop(cluster)
    print(f"load average at the end: {load_average()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
