"""Generating the board pack for the demo database (target: under 5 s, PDF and HTML).

The demo (Northwind Labs) is built in a temporary folder, then `write_board_pack` is timed for one
quarter, PDF and HTML, best of N. Each time is printed twice: the CPU time of this process (all
its threads, and its child processes) and the wall time. The target is checked on CPU time: on a
shared machine (2 cores, several people) the wall time mostly measures the neighbours; on an idle
one the two agree.

Baselines, measured in the same run, so the ratios hold on any machine:
- `summarize()` for the same period: the figures alone (what rendering costs on top of computing);
- WeasyPrint on a one-page document: the renderer's fixed cost;
- the same pack's PDF without Appendix A (the every-workflow table, the costliest page to lay out).
And the long-name check (issue 13): the same pack with one workflow's name 2,000 characters long
must render no slower than the normal one (names are cut on the summary pages, full in Appendix A).

The large pack (issue 25): the demo grown to `--workflows` ordinary workflows (copies of the demo's,
answered and owned; 5,000 by default), printed by `aiops report board` in a fresh process. Target:
at most 30 s (CPU, the process and its printer child) and 1 GB (the peak resident memory of the
process and its printer child together, sampled every 20 ms). Main at 6cd5c74 took 191 s and 2.2 GB
(1,190 pages) on this machine; the appendix is now bounded (APPENDIX_ROWS, the rest as a CSV attachment).

Printed for information, not gated: the first PDF in the process ("cold": it also imports
WeasyPrint and starts vl-convert's JavaScript engine) and `aiops report board` in a fresh process.

    python -m bench.board [--period 2026Q3] [--runs 3] [--workflows 5000]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from aiops.auth import Actor
from aiops.demo import build_demo, demo_workflows
from aiops.inventory import save_workflows
from aiops.period import Period
from aiops.report.board import build_board_pack, render_html, render_pdf, write_board_pack
from aiops.report.bounded import render_pdf_bounded
from aiops.report.summary import summarize
from aiops.store import Store

TARGET_S = 5.0
LONG_NAME = ("Summarise " + "very long " * 199).strip()  # ~2,000 characters
APPENDIX_A = re.compile(r'<section class="page wide" id="workflows".*?</section>', re.S)


@dataclasses.dataclass(frozen=True)
class Took:
    cpu: float
    wall: float

    def __str__(self) -> str:
        return f"{self.cpu:6.2f} s CPU {self.wall:6.2f} s wall"


def cpu_time() -> float:
    """This process's CPU time, all threads, plus that of its finished child processes."""
    times = os.times()
    return time.process_time() + times.children_user + times.children_system


def timed(action: Callable[[], Any]) -> Took:
    cpu, wall = cpu_time(), time.perf_counter()
    action()
    return Took(cpu_time() - cpu, time.perf_counter() - wall)


def best_of(runs: int, action: Callable[[], Any]) -> Took:
    took = [timed(action) for _ in range(runs)]
    return Took(min(t.cpu for t in took), min(t.wall for t in took))


def weasyprint_pdf(html: str) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols={"data"})).write_pdf()


def with_long_name(pack: Any) -> Any:
    """The same pack with its first workflow renamed to ~2,000 characters (every section that
    lists the workflow holds the same row object, so one replacement reaches them all)."""
    first = pack.workflows[0]
    renamed = dataclasses.replace(first, name=LONG_NAME)

    def swap(rows: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(renamed if row is first else row for row in rows)

    departments = tuple(dataclasses.replace(d, workflows=swap(d.workflows)) for d in pack.departments)
    stops = tuple(dataclasses.replace(s, workflow=renamed) if s.workflow is first else s for s in pack.stops)
    return dataclasses.replace(
        pack, workflows=swap(pack.workflows), departments=departments, stops=stops, paused=swap(pack.paused)
    )


LARGE_TARGET_S = 30.0
LARGE_TARGET_BYTES = 1024**3


def grow_inventory(db: Path, total: int) -> int:
    """Copies of the demo's workflows (new ids and names) until the inventory holds ``total``."""
    base = demo_workflows()
    with Store(db) as store:
        have = store.query_value("SELECT count(*) FROM workflows")
        copies = [
            base[i % len(base)].model_copy(
                update={
                    "workflow_id": f"copy-{i:05d}",
                    "name": f"{base[i % len(base)].name} (copy {i})",
                    "comparison_workflow_id": "",
                }
            )
            for i in range(max(0, total - have))
        ]
        admin = Actor(name="admin@northwind.example", role="admin")
        store.write(admin, lambda tx: save_workflows(tx, copies, "bench"))
        return int(store.query_value("SELECT count(*) FROM workflows"))


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and its descendants (0 once it is gone)."""
    try:
        rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (OSError, IndexError):
        return 0
    return rss + sum(_tree_rss(int(c)) for c in children)


def run_measured(command: list[str]) -> tuple[Took, int]:
    """Run ``command``; its CPU time (with its children), wall time and peak resident memory of
    the process tree."""
    before, wall = os.times(), time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        peak = 0
        while process.poll() is None:
            peak = max(peak, _tree_rss(process.pid))
            time.sleep(0.02)
        took = time.perf_counter() - wall
        after = os.times()
        if process.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"{' '.join(command)} failed: {errors.read().decode(errors='replace')[-2000:]}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return Took(cpu, took), peak


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--period", default="2026Q3", help="the quarter to report (default 2026Q3)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measure; the best is kept")
    parser.add_argument("--workflows", type=int, default=5000, help="the large pack's inventory (0: skip)")
    args = parser.parse_args()
    period = Period.parse_quarter(args.period)
    runs = args.runs

    with tempfile.TemporaryDirectory(prefix="bench-board-") as folder:
        db = Path(folder) / "demo.duckdb"
        build_demo(db).close()
        pdf, html = Path(folder) / "board.pdf", Path(folder) / "board.html"
        with Store(db) as store:
            workflows, samples = store.query_one(
                "SELECT (SELECT count(*) FROM workflows), (SELECT count(*) FROM timing_samples)"
            )
            print(f"demo: {workflows} workflows, {samples:,} timing samples; period {period.label}")
            figures = best_of(runs, lambda: summarize(store, period))
            loaded = "weasyprint" in sys.modules or "vl_convert" in sys.modules
            cold = timed(lambda: write_board_pack(store, pdf, period))
            warm_pdf = best_of(runs, lambda: write_board_pack(store, pdf, period))
            warm_html = best_of(runs, lambda: write_board_pack(store, html, period))
            pack = build_board_pack(store, period)
        one_page = best_of(runs, lambda: weasyprint_pdf("<html><body><p>One page.</p></body></html>"))
        text = render_html(pack)
        no_appendix = best_of(runs, lambda: weasyprint_pdf(APPENDIX_A.sub("", text)))
        long_pack = with_long_name(pack)
        assert LONG_NAME in render_html(long_pack)
        # Alternated, so that a change in the machine's load hits both alike.
        pairs = [(timed(lambda: render_pdf(pack)), timed(lambda: render_pdf(long_pack))) for _ in range(runs)]
        render = Took(min(p[0].cpu for p in pairs), min(p[0].wall for p in pairs))
        render_long = Took(min(p[1].cpu for p in pairs), min(p[1].wall for p in pairs))
        # The dashboard's download: the same print in a child process it can kill (issue 14).
        bounded = best_of(runs, lambda: render_pdf_bounded(pack, lambda: True))
        command = [sys.executable, "-m", "aiops.cli", "report", "board", "--out", str(pdf)]
        command += ["--db", str(db), "--period", args.period]
        cli, cli_peak = run_measured(command)
        sizes = f"PDF {pdf.stat().st_size / 1024:,.0f} KB, HTML {html.stat().st_size / 1024:,.0f} KB"
        if args.workflows:
            large = Path(folder) / "large.pdf"
            inventory = grow_inventory(db, args.workflows)
            large_took, large_peak = run_measured([*command[:6], str(large), *command[7:]])
            pages = len(PdfReader(large).pages)

    def row(label: str, took: Took, baseline: Took | None = None) -> None:
        ratio = f"  {took.cpu / baseline.cpu:5.1f}x the baseline (CPU)" if baseline else ""
        print(f"   {label:<52} {took}{ratio}")

    print(f"best of {runs}:")
    row("baseline  summarize() (the figures alone)", figures)
    row("PDF   write_board_pack (figures, charts, PDF)", warm_pdf, figures)
    row("HTML  write_board_pack (figures, charts, HTML)", warm_html, figures)
    row("baseline  WeasyPrint, a one-page document", one_page)
    row("baseline  WeasyPrint, the pack without Appendix A", no_appendix, one_page)
    row("render_pdf(pack) (the whole pack, WeasyPrint)", render, no_appendix)
    row("render_pdf, one name 2,000 characters long", render_long, render)
    row("render_pdf_bounded (the dashboard: a child process)", bounded, render)
    row(f"PDF   first in the process{' (NOT cold)' if loaded else ''} [information]", cold)
    row("aiops report board --out x.pdf, fresh process [information]", cli)
    print(f"   files: {sizes}; the CLI's peak memory {cli_peak / 2**20:,.0f} MB")
    large_ok = True
    if args.workflows:
        row(f"aiops report board, {inventory:,} workflows, fresh process", large_took, cli)
        print(
            f"   {inventory:,} workflows: {pages} pages; peak memory (the CLI and its printer) "
            f"{large_peak / 2**20:,.0f} MB, {large_peak / cli_peak:.1f}x the demo's"
        )
        large_ok = large_took.cpu <= LARGE_TARGET_S and large_peak <= LARGE_TARGET_BYTES
        print(
            f"target: {inventory:,} workflows in <= {LARGE_TARGET_S:.0f} s CPU and <= 1 GB "
            f"({large_took.cpu:.1f} s CPU, {large_took.wall:.1f} s wall, {large_peak / 2**20:,.0f} MB) -> "
            f"{'MET' if large_ok else 'NOT MET'}"
        )

    checks = {"PDF": warm_pdf.cpu, "HTML": warm_html.cpu}
    met = all(seconds < TARGET_S for seconds in checks.values())
    long_ok = render_long.cpu <= render.cpu * 1.15 + 0.05  # "no slower", within timing noise
    verdicts = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in checks.items())
    print(f"target: a board pack under {TARGET_S:.0f} s CPU ({verdicts}) -> {'MET' if met else 'NOT MET'}")
    print(
        f"target: a 2,000-character name renders no slower ({render_long.cpu / render.cpu:.2f}x) -> "
        f"{'MET' if long_ok else 'NOT MET'}"
    )
    return 0 if met and long_ok and large_ok else 1


if __name__ == "__main__":
    sys.exit(main())
