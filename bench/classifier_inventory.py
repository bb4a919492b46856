"""How well the default policy calls rights- and safety-impacting AI use cases high.

Reads the real US federal AI use-case inventories (../shared/realdata/ai_inventory/), maps each use
case to a workflow the way a company would map its own inventory — name, purpose and benefits,
outputs, topic area, bureau, PII, public-facing service, information given to the public — and
never reads the label (question 17) or the risk-practice answers (questions 50–67).

Prints, overall and per agency: recall (rights/safety/both-impacting classified high) and the
false-high rate (neither-impacting classified high). Targets: recall >= 0.92, false-high <= 0.25.

    python bench/classifier_inventory.py [FILE ...] [--misses N]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import defaultdict
from pathlib import Path

from aiops.classifier import classify_workflow
from aiops.ingest.sniff import detect_encoding
from aiops.policy import load_policy
from aiops.workflow import Workflow, derive_workflow_id

ROOT = Path(__file__).resolve().parent.parent
INVENTORIES = ROOT.parent / "shared" / "realdata" / "ai_inventory"
DEFAULT_FILES = ["2024_consolidated_ai_inventory_raw.csv", "2024_consolidated_ai_inventory_raw_v2.csv"]

# Inputs a classifier may read, by the short field name (2024 release) or the question text (v2).
COLUMNS = {
    "name": ("2_use_case_name", "use case name"),
    "agency": ("3_agency", "agency"),
    "bureau": ("4_bureau", "bureau"),
    "topic": ("8_topic_area", "use case topic area"),
    "purpose": ("11_purpose_benefits", "what is the intended purpose and expected benefits of the ai?"),
    "outputs": ("12_outputs", "describe the ai system’s outputs."),
    "hisp": ("24_hisp_support", "is this ai use case supporting a high-impact service provider"),
    "public_service": ("26_public_service", "which public-facing service is the ai use case supporting?"),
    "public_info": ("27_public_info", "does this ai use case disseminate information to the public?"),
    "pii": ("29_contains_pii", "does this ai use case involve personally identifiable information"),
    "label": ("17_impact_type", "is the ai use case rights-impacting, safety-impacting, both, or neither?"),
}
ANSWERED_NO = {"", "n/a", "na", "none", "no", "not applicable"}


def _column_index(header: list[str]) -> dict[str, int]:
    keys = [h.strip().lower() for h in header]
    found = {}
    for field, names in COLUMNS.items():
        for name in names:
            hits = [i for i, k in enumerate(keys) if k == name or k.startswith(name)]
            if hits:
                found[field] = hits[0]
                break
        else:
            raise SystemExit(f"no column for {field} in this file")
    return found


def label_of(raw: str) -> str | None:
    """impacting / neither / None (blank or free text such as 'too new to assess')."""
    value = raw.strip().lower()
    if value.startswith(("rights", "safety", "both")):
        return "impacting"
    return "neither" if value == "neither" else None


def yes(value: str) -> bool:
    return value.strip().lower().startswith("yes")


def to_workflow(row: dict[str, str], number: int) -> Workflow:
    """An inventory row as a workflow: structured answers to structured fields, text to text."""
    public = yes(row["hisp"]) or row["public_service"].strip().lower() not in ANSWERED_NO
    topic = row["topic"].strip()
    return Workflow(
        workflow_id=f"{derive_workflow_id(row['name'], row['agency'])[:100]}-{number}",
        name=row["name"] or "(unnamed)",
        department=row["agency"] or "(no agency)",
        manual_process=f"{row['purpose']} (topic: {topic})",
        expected_output=row["outputs"],
        data_touched=["personal_data"] if yes(row["pii"]) else [],
        customer_impact="public" if public or yes(row["public_info"]) else "",
    )


def read_inventory(path: Path) -> list[tuple[Workflow, str, str]]:
    """(workflow, label, agency) for every labelled use case."""
    with path.open(encoding=detect_encoding(path), newline="") as f:
        reader = csv.reader(f)
        index = _column_index(next(reader))
        cases = []
        for number, record in enumerate(reader, start=1):
            row = {field: record[i] for field, i in index.items()}
            label = label_of(row["label"])
            if label is not None:
                cases.append((to_workflow(row, number), label, row["agency"].strip()))
        return cases


def score(results: list[tuple[str, bool]]) -> tuple[float, float, int, int]:
    impacting = [high for label, high in results if label == "impacting"]
    neither = [high for label, high in results if label == "neither"]
    recall = sum(impacting) / len(impacting) if impacting else float("nan")
    false_high = sum(neither) / len(neither) if neither else float("nan")
    return recall, false_high, len(impacting), len(neither)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="inventory CSVs (default: both 2024 files)")
    parser.add_argument("--misses", type=int, default=0, help="print N missed and N false-high cases")
    args = parser.parse_args()
    policy = load_policy()
    paths = [Path(f) for f in args.files] or [INVENTORIES / f for f in DEFAULT_FILES]
    failed = False
    for path in paths:
        cases = read_inventory(path)
        start = time.perf_counter()
        results = [
            (label, classify_workflow(w, policy).risk == "high", agency, w) for w, label, agency in cases
        ]
        elapsed = time.perf_counter() - start
        recall, false_high, n_imp, n_nei = score([(r[0], r[1]) for r in results])
        ok = recall >= 0.92 and false_high <= 0.25
        failed |= not ok
        print(f"\n== {path.name}: {len(cases)} labelled use cases, classified in {elapsed:.2f} s")
        print(
            f"   recall {recall:.3f} (n={n_imp} impacting)   false-high {false_high:.3f} (n={n_nei} neither)"
            f"   targets: recall >= 0.92, false-high <= 0.25 -> {'MET' if ok else 'NOT MET'}"
        )
        by_agency: dict[str, list[tuple[str, bool]]] = defaultdict(list)
        for label, high, agency, _ in results:
            by_agency[agency].append((label, high))
        print(f"   {'agency':<58} {'recall':>7} {'n':>4} {'false-high':>10} {'n':>5}")
        for agency, rows in sorted(by_agency.items(), key=lambda kv: -len(kv[1])):
            r, fh, ni, nn = score(rows)
            print(f"   {agency[:58]:<58} {r:>7.2f} {ni:>4} {fh:>10.2f} {nn:>5}")
        if args.misses:
            _print_examples(results, policy, args.misses)
    return 1 if failed else 0


def _print_examples(results, policy, count: int) -> None:
    missed = [w for label, high, _, w in results if label == "impacting" and not high][:count]
    false = [w for label, high, _, w in results if label == "neither" and high][:count]
    for title, workflows in (("missed (impacting, not high)", missed), ("false high", false)):
        print(f"   -- {title}")
        for w in workflows:
            reasons = [s.reason for s in classify_workflow(w, policy).signals if s.level == "high"]
            print(f"      {w.department[:30]} | {w.name[:70]} | {reasons[:2]}")


if __name__ == "__main__":
    sys.exit(main())
