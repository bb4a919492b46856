"""The view after a write that changes only classifications: its periods relabelled against
computed again, in the same run.

A write that changes what the classifications say (a status, a stop condition, the next checkpoint)
and no figure is the common kind after an upload of later weeks (the workflow is classified again).
The view keeps each period's figures by their inputs alone and relabels them
(``aiops.views.parts``); the baseline is the same view with those figures forgotten first, as the
code before did (every workflow's figures of the period and the previous one computed again, the
estimates themselves still kept). Each round opens a stop condition never seen before on one
workflow, so no period is found kept under its full key. Builds ``bench.pages``' database.

    python -m bench.relabel [--rows 1000000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiops.store import Store, Tx
from aiops.views.build import view_for
from aiops.views.parts import FIGURES
from bench.pages import ADMIN, build


def _open_stop_condition(store: Store, code: str) -> None:
    """A stop condition on wf-007, written and audited as a classification change is."""

    def run(tx: Tx) -> None:
        tx.execute("UPDATE classifications SET stop_conditions = [?] WHERE workflow_id = 'wf-007'", [code])
        tx.audit("classification.changed", "workflow", "wf-007", {"stop_conditions": [code]})

    store.write(ADMIN, run)


def _timed_view(store: Store) -> float:
    start = time.perf_counter()
    view_for(store)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    relabelled, computed = [], []
    with tempfile.TemporaryDirectory(prefix="aiops-relabel-") as tmp:
        db = Path(tmp) / "relabel.duckdb"
        build(db, args.rows)
        with Store(db) as store:
            view_for(store)
            for round_ in range(args.rounds):
                _open_stop_condition(store, f"bench_{round_}_a")
                relabelled.append(_timed_view(store))
                _open_stop_condition(store, f"bench_{round_}_b")
                FIGURES.clear()  # as the code before: no figures kept apart from their labels
                computed.append(_timed_view(store))
    best, median = (
        min(computed) / min(relabelled),
        statistics.median(computed) / statistics.median(relabelled),
    )
    print(f"the view after a classification change, {args.rows:,} rows / 500 workflows, {args.rounds} rounds")
    print(f"  relabelled          best {min(relabelled):.3f} s, median {statistics.median(relabelled):.3f} s")
    print(f"  computed again      best {min(computed):.3f} s, median {statistics.median(computed):.3f} s")
    print(f"  computed / relabelled = {best:.1f}x (best times), {median:.1f}x (medians)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
