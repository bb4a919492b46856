"""The read path and the upload path against raw DuckDB, as whole processes, in one run.

1. The company summary (`aiops report summary --period all --json`) over N timing rows / W
   workflows (default 1,000,000 / 300, data as in ``bench.pages``) as a whole process, against a
   raw DuckDB process computing the same weekly cells (count, loops, sum, sum of squares and
   quartiles per workflow × phase × week). Target: ≤ 3×. The summary reads the figures the run
   before it kept in the store (``aiops.views.part_store``); it is also timed with those forgotten
   (the first command after an upload changed them: estimates kept) and with nothing kept.
2. Confirm of a previewed upload of C rows (default 1,000,000; ``bench.ingest``'s canonical file):
   the preview writes the pending batch, Confirm flips it. With ``--before REV`` the same upload is
   confirmed by that git revision's code too (its Confirm read the file again and copied every row
   in the transaction). Target: ≤ 1 s.
3. A whole-process CLI import (`aiops timings import FILE`) of M rows (default 3,000,000) against a
   process that only runs DuckDB's `read_csv` of the same file into a table. Target: ≤ 2×.

Each figure is the best of ``--repeat`` runs (default 3), the two sides of a ratio interleaved.
The processes run as ``make`` runs them (without PYTHONDONTWRITEBYTECODE: compiled modules are
cached, as in production).

    python -m bench.read_path [--rows 1000000] [--workflows 300] [--confirm-rows 1000000]
                              [--import-rows 3000000] [--repeat 3] [--before 6cd5c74]
                              [--only summary|confirm|import]

``--only`` runs that part alone (e.g. ``--only import`` while working on the upload path).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiops.settings import Settings
from aiops.workspace import open_store
from bench.ingest import _RAW_CHILD, _child, fresh_store, write_canonical
from bench.pages import build

ROOT = Path(__file__).resolve().parent.parent
AIOPS = [sys.executable, "-c", "import sys; from aiops.cli import command; sys.exit(command())"]

# The weekly cells the estimates start from, computed by DuckDB alone.
_RAW_CELLS = """
import duckdb, sys
con = duckdb.connect({db!r}, read_only=True)
cells = con.execute('''
    SELECT workflow_id, phase, date_trunc('week', measured_at) AS week, count(*) AS samples,
           sum(loops) AS loops, sum(duration_minutes + rework_minutes) AS minutes,
           sum((duration_minutes + rework_minutes) ^ 2) AS squares,
           quantile_cont(duration_minutes + rework_minutes, [0.25, 0.5, 0.75]) AS quartiles
    FROM timing_samples GROUP BY ALL''').fetchall()
assert cells
"""

# Preview (read, check, write the pending batch), then Confirm, timed apart; run with the tree's code.
_CONFIRM_NOW = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from bench.ingest import ADMIN, fresh_store
from aiops.ingest.timings import confirm_upload, open_timing_import
with fresh_store(Path({db!r})) as store:
    start = time.perf_counter()
    with open_timing_import(store, {csv!r}, preview=True) as upload:
        upload.stage(ADMIN)
    previewed = time.perf_counter()
    report = confirm_upload(store, ADMIN, upload.report)
    assert report.accepted > 0 and report.rejected == 0
print(json.dumps({{"preview": previewed - start, "confirm": time.perf_counter() - previewed}}))
"""

# Before pending batches, the dashboard's Confirm read the file again and committed (import_timings).
_CONFIRM_BEFORE = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from bench.ingest import ADMIN, fresh_store
from aiops.ingest.timings import import_timings
with fresh_store(Path({db!r})) as store:
    start = time.perf_counter()
    report = import_timings(store, ADMIN, {csv!r})
    assert report.accepted > 0 and report.rejected == 0
print(json.dumps({{"confirm": time.perf_counter() - start}}))
"""


# As `make` runs every command (it unexports the variable): compiled modules are cached.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

# What the store keeps of earlier reads: every period's part (its figures) and each estimate.
_FORGET = """
import duckdb
con = duckdb.connect({db!r})
for table in {tables!r}:
    con.execute(f"DELETE FROM {{table}}")
"""
_PARTS, _EVERYTHING = ("derived_cache",), ("derived_cache", "estimate_cache")


def _process(command: list[str], env: dict[str, str] | None = None) -> float:
    """Wall seconds of one process, start to exit (it must succeed)."""
    start = time.perf_counter()
    subprocess.run(command, capture_output=True, text=True, check=True, env=env or ENV, cwd=ROOT)
    return time.perf_counter() - start


def summary_against_raw(rows: int, workflows: int, workdir: Path, repeat: int) -> dict[str, float]:
    """Best seconds of: the summary process (the figures kept by the run before: the periods'
    parts), the raw cells process, the summary with the parts forgotten (the first command after
    an upload changed them: the estimates kept, every figure built again) and with nothing kept
    (every estimate computed too); interleaved."""
    db = workdir / "summary.duckdb"
    start = time.perf_counter()
    build(db, rows, workflows)
    print(f"built {rows:,} timing rows / {workflows} workflows in {time.perf_counter() - start:.1f} s")
    summary = [*AIOPS, "report", "summary", "--period", "all", "--json", "--db", str(db)]
    raw = [sys.executable, "-c", _RAW_CELLS.format(db=str(db))]
    found: dict[str, list[float]] = {"product": [], "engine": [], "parts_forgotten": [], "afresh": []}
    for _ in range(repeat):
        found["product"].append(_process(summary))
        found["engine"].append(_process(raw))
        for label, tables in (("parts_forgotten", _PARTS), ("afresh", _EVERYTHING)):
            subprocess.run([sys.executable, "-c", _FORGET.format(db=str(db), tables=tables)], check=True)
            found[label].append(_process(summary))
        _process(summary)  # keeps the parts again for the next round's first measure
    return {label: min(times) for label, times in found.items()}


def confirm_times(rows: int, workdir: Path, repeat: int, before: Path | None) -> dict[str, float]:
    """Best preview and Confirm seconds now, and Confirm with the ``before`` tree's code."""
    csv = workdir / "confirm.csv"
    write_canonical(csv, rows)
    found: dict[str, list[float]] = {"preview": [], "confirm": [], "confirm_before": []}
    trees = [(ROOT, _CONFIRM_NOW, "")] + ([(before, _CONFIRM_BEFORE, "_before")] if before else [])
    for i in range(repeat):
        for tree, code, suffix in trees:
            db = workdir / f"confirm{suffix}{i}.duckdb"
            env = {**os.environ, "PYTHONPATH": str(tree)}
            result = subprocess.run(
                [sys.executable, "-c", code.format(root=str(tree), db=str(db), csv=str(csv))],
                capture_output=True,
                text=True,
                check=True,
                env=env,
                cwd=tree,
            )
            for key, seconds in json.loads(result.stdout.strip().splitlines()[-1]).items():
                found[key + suffix].append(seconds)
            for file in workdir.glob(f"confirm{suffix}{i}.duckdb*"):
                file.unlink()
    csv.unlink()
    return {key: min(values) for key, values in found.items() if values}


def cli_import_against_raw(rows: int, workdir: Path, repeat: int) -> tuple[float, float]:
    """(best seconds of `aiops timings import`, of a raw read_csv process), interleaved. The
    import's database has the file's workflows registered beforehand and has been opened as every
    command opens it (``open_store``: the policy recorded, the workflows classified), as any
    database the product set up has (not timed): the policy's first adoption is once per database,
    not part of an import."""
    csv = workdir / "import.csv"
    write_canonical(csv, rows)
    template = workdir / "registered.duckdb"
    fresh_store(template).close()
    open_store(Settings(db=str(template))).close()
    product, engine = [], []
    for i in range(repeat):
        db = workdir / f"import{i}.duckdb"
        shutil.copy(template, db)
        product.append(_process([*AIOPS, "timings", "import", str(csv), "--db", str(db)]))
        start = time.perf_counter()
        _child(_RAW_CHILD.format(db=str(workdir / f"raw{i}.duckdb"), csv=str(csv)))
        engine.append(time.perf_counter() - start)
        for file in [*workdir.glob(f"import{i}.duckdb*"), *workdir.glob(f"raw{i}.duckdb*")]:
            file.unlink()
    return min(product), min(engine)


def extract(revision: str, target: Path) -> Path:
    """The files of ``revision`` (no checkout: a plain copy to run the old code from)."""
    target.mkdir()
    archive = subprocess.run(["git", "archive", revision], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def verdict(value: float, limit: float) -> str:
    return "MET" if value <= limit else "NOT MET"


def run_summary(args: argparse.Namespace, workdir: Path) -> bool:
    """Part 1; True when its target is not met."""
    summary = summary_against_raw(args.rows, args.workflows, workdir, args.repeat)
    engine = summary["engine"]
    ratio = summary["product"] / engine
    print(
        f"company summary, {args.rows:,} rows / {args.workflows} workflows: process "
        f"{summary['product']:.2f} s / raw DuckDB weekly cells {engine:.2f} s = {ratio:.2f}x "
        f"(target <= 3x) -> {verdict(ratio, 3)}; with the figures forgotten (estimates kept) "
        f"{summary['parts_forgotten']:.2f} s = {summary['parts_forgotten'] / engine:.2f}x; with "
        f"nothing kept {summary['afresh']:.2f} s = {summary['afresh'] / engine:.2f}x"
    )
    return ratio > 3


def run_confirm(args: argparse.Namespace, workdir: Path) -> bool:
    """Part 2; True when its target is not met."""
    before = extract(args.before, workdir / "before") if args.before else None
    confirm = confirm_times(args.confirm_rows, workdir, args.repeat, before)
    line = (
        f"Confirm of a previewed {args.confirm_rows:,}-row upload: {confirm['confirm']:.2f} s "
        f"(the preview, writing the pending batch: {confirm['preview']:.2f} s)"
    )
    if "confirm_before" in confirm:
        line += f"; before ({args.before}: read again and copied) {confirm['confirm_before']:.2f} s"
    print(f"{line} (target <= 1 s) -> {verdict(confirm['confirm'], 1)}")
    return confirm["confirm"] > 1


def run_import(args: argparse.Namespace, workdir: Path) -> bool:
    """Part 3; True when its target is not met."""
    product, engine = cli_import_against_raw(args.import_rows, workdir, args.repeat)
    ratio = product / engine
    print(
        f"CLI import, {args.import_rows:,} rows: `aiops timings import` {product:.2f} s / "
        f"raw read_csv process {engine:.2f} s = {ratio:.2f}x (target <= 2x) -> {verdict(ratio, 2)}"
    )
    return ratio > 2


PARTS = {"summary": run_summary, "confirm": run_confirm, "import": run_import}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workflows", type=int, default=300)
    parser.add_argument("--confirm-rows", type=int, default=1_000_000)
    parser.add_argument("--import-rows", type=int, default=3_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", help="a git revision whose Confirm to measure too (e.g. 6cd5c74)")
    parser.add_argument("--only", choices=list(PARTS), help="run this part alone")
    args = parser.parse_args()
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average (1/5/15 min) at the start: {load} on {os.cpu_count()} cores; best of {args.repeat}")
    failed = False
    with tempfile.TemporaryDirectory(prefix="aiops-read-path-") as tmp:
        for name, run in PARTS.items():
            if args.only in (None, name):
                failed |= run(args, Path(tmp))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
