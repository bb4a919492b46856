"""The company summary's JSON, byte for byte, from this tree's code and from another revision's.

A change meant to make the summary faster (imports, queries) must not change one digit of it. Over
the data of ``bench.read_path`` (``bench.pages``' workflows and timings, default 200,000 rows / 100
workflows) and the demo (`aiops demo`), both written by the other revision's code (a newer tree
migrates an older database; an older tree refuses a newer one), each side runs `aiops report
summary --json` for all time and for the default period, each twice on its own copy of the
database, emptied of what its build kept (``_forget_kept``): the first run computes, the second
reads what the first kept (the estimates, ``aiops.estimates.cache``, and the periods' figures,
``aiops.views.part_store``). All of them must print the same bytes (``generated_at``, the clock's
reading, aside). DuckDB runs them on one thread (see ``_ONE_THREAD``). Prints what differs and exits
1 if anything does.

    python -m bench.summary_same [--before HEAD] [--rows 200000] [--workflows 100]
"""

from __future__ import annotations

import argparse
import difflib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

from bench.read_path import ENV, ROOT, extract

_CLI = "import sys; from aiops.cli import command; sys.exit(command())"
# DuckDB adds floating-point sums in whatever order its threads finish: the last digits of a summary
# differ from one fresh computation to the next (same code, same data). One thread adds them in the
# rows' order, so two computations can be compared byte for byte.
_ONE_THREAD = """
import duckdb
_connect = duckdb.connect
def connect(*args, config=None, **kwargs):
    return _connect(*args, config={**(config or {}), "threads": 1}, **kwargs)
duckdb.connect = connect
"""
_SUMMARY = _ONE_THREAD + _CLI
_GENERATED = re.compile(r'"generated_at": "[^"]*"')
PERIODS = {"all time": ["--period", "all"], "default period": []}


def summaries(tree: Path, db: Path) -> dict[tuple[str, str], str]:
    """Each period's summary JSON from ``tree``'s code over ``db``, by (period, run)."""
    env = {**ENV, "PYTHONPATH": str(tree)}
    found = {}
    for period, options in PERIODS.items():
        for run in ("computed", "kept"):
            command = [sys.executable, "-c", _SUMMARY, "report", "summary", *options, "--json"]
            command += ["--db", str(db)]
            done = subprocess.run(command, capture_output=True, text=True, check=True, env=env, cwd=tree)
            found[period, run] = _GENERATED.sub('"generated_at": "(the clock)"', done.stdout)
    return found


def compare(data: str, db: Path, before_tree: Path, workdir: Path) -> list[str]:
    """What differs from the before side's first run, per period (empty: all the same bytes); each
    side runs on its own copy of ``db``."""
    runs = {}
    for side, tree in (("before", before_tree), ("now", ROOT)):
        copy = workdir / f"{side}-{db.name}"
        shutil.copy(db, copy)
        runs[side] = summaries(tree, copy)
    found = []
    for side, texts in runs.items():
        for (period, run), text in texts.items():
            reference = runs["before"][period, "computed"]
            if text != reference:
                diff = difflib.unified_diff(reference.splitlines(), text.splitlines(), lineterm="", n=0)
                found.append(f"{data}, {period}, {side}, {run}:\n" + "\n".join(list(diff)[:40]))
    return found


# What the build kept for later reads (estimates, periods' figures), under the code hash of the tree
# that built it: the before side's first run read them back while the other tree computed, and
# they differ in the last bits from what a read computes (measured 2026-12-05: main against main plus
# one comment line, no other change, printed DIFFERENT for all time on both data sets). Emptied, each
# side's first run computes from the rows and its second reads what the first kept.
def _forget_kept(db: Path) -> None:
    """Empty what the build kept, so that each side's first run computes it."""
    con = duckdb.connect(str(db))
    try:
        con.execute("DELETE FROM estimate_cache")
        con.execute("DELETE FROM derived_cache")
    finally:
        con.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="HEAD", help="the git revision to compare with (default HEAD)")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--workflows", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aiops-summary-same-") as tmp:
        workdir = Path(tmp)
        before = extract(args.before, workdir / "before")
        bench_db, demo_db = workdir / "bench.duckdb", workdir / "demo.duckdb"
        # Written by the before side's code: this tree migrates an older schema when it opens it,
        # an older tree refuses a newer one.
        env = {**ENV, "PYTHONPATH": str(before)}
        write = (
            "from pathlib import Path; from bench.pages import build; "
            f"build(Path({str(bench_db)!r}), {args.rows}, {args.workflows})"
        )
        subprocess.run([sys.executable, "-c", write], capture_output=True, check=True, env=env, cwd=before)
        demo = [sys.executable, "-c", _CLI, "demo", "--db", str(demo_db)]
        subprocess.run(demo, capture_output=True, check=True, env=env, cwd=before)
        for db in (bench_db, demo_db):
            _forget_kept(db)
        found = compare(f"bench data ({args.rows:,} rows)", bench_db, before, workdir)
        found += compare("demo", demo_db, before, workdir)
    for lines in found:
        print(lines)
    verdict = "DIFFERENT" if found else "the same bytes"
    print(f"summary JSON, {args.before} against this tree (bench data, demo; 2 periods x 2 runs): {verdict}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
