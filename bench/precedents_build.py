"""Build the precedents file (aiops/precedents/federal-2024.json.gz) from the two 2024 releases of
the US federal AI use-case inventory.

Each use case once (same agency and name, compared case-insensitively: the later release's row
wins), with the inputs a company's workflow also has (name, purpose and benefits with the topic
area, outputs: mapped as bench.classifier_inventory maps them), its agency and the agency's
answer to question 17 (rights-impacting, safety-impacting, both, neither; blank or free-text
answers are unlabelled and left out). The risk-practice answers (questions 50-67) are never read.
The model is fitted on all of them (aiops.precedents.train); the raise and review thresholds and
the agreement rule's minimum similarity are chosen on out-of-fold figures (folds grouped by
agency) and printed for the policy file.

    python -m bench.precedents_build [--out PATH]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from aiops.classifier import classify_workflow, mentions_high_concept
from aiops.policy import load_policy
from aiops.precedents import PRECEDENTS_FILE
from aiops.precedents.train import (
    AGREEING_VOTES,
    FOLDS,
    NEIGHBOURS,
    RAISE_BUDGET,
    REVIEW_BUDGET,
    SEED,
    UNKNOWN_SHARE,
    C,
    choose_thresholds,
    fit,
)
from aiops.workflow import Workflow
from bench.classifier_inventory import DEFAULT_FILES, INVENTORIES, _key, read_rows, rules_only, to_workflow

VERSION = "federal-2024.2"
OUT = Path(__file__).resolve().parent.parent / "aiops" / "precedents" / PRECEDENTS_FILE
SOURCE_REPO = "https://github.com/ombegov/2024-Federal-AI-Use-Case-Inventory"
RELEASES = {DEFAULT_FILES[0]: "December 2024", DEFAULT_FILES[1]: "January 2025"}


def impact_type(raw: str) -> str | None:
    """The agency's answer to question 17, cleaned ("Rights-Impacting\\n", "Safety-impacting");
    None when blank or free text."""
    value = " ".join(raw.split()).lower()
    for kind in ("rights-impacting", "safety-impacting", "both", "neither"):
        if value.startswith(kind.split("-")[0]):
            return kind
    return None


def precedent_cases(paths: list[Path]) -> list[tuple[dict[str, str], Workflow]]:
    """Each labelled use case once, as a precedent record and as the workflow a company would
    map it to. Later files win (pass the releases oldest first)."""
    seen: dict[tuple[str, str], tuple[dict[str, str], Workflow]] = {}
    for path in reversed(paths):
        for row, number in read_rows(path):
            label = impact_type(row["label"])
            if label is None:
                continue
            workflow = to_workflow(row, number)
            agency = row["agency"].strip()
            case = {
                "name": workflow.name,
                "agency": agency,
                "bureau": row["bureau"].strip(),
                "manual_process": workflow.manual_process,
                "expected_output": workflow.expected_output,
                "label": label,
                "release": path.name,
            }
            seen.setdefault((_key(agency), _key(workflow.name)), (case, workflow))
    return list(seen.values())


def rules_verdicts(workflows: list[Workflow]) -> tuple[np.ndarray, np.ndarray]:
    """The rules' own verdict (precedents off): high, and a high-impact concept named without a
    decision purpose (what the second opinion may add to, and one of its inputs)."""
    policy = rules_only(load_policy())
    results = [classify_workflow(w, policy) for w in workflows]
    high = np.asarray([c.risk == "high" for c in results])
    return high, np.asarray([mentions_high_concept(c.signals, policy) for c in results])


def build(paths: list[Path]) -> dict[str, object]:
    pairs = precedent_cases(paths)
    cases = [case for case, _ in pairs]
    high = np.asarray([c["label"] != "neither" for c in cases])
    by_rules, mentions = rules_verdicts([w for _, w in pairs])
    fitted = fit(cases, [_key(c["agency"]) for c in cases], mentions)
    thresholds = choose_thresholds(fitted, high, by_rules)
    import sklearn

    provenance = {
        "sources": [
            {
                "repository": SOURCE_REPO,
                "path": f"data/{p.name}",
                "release": RELEASES.get(p.name, ""),
                "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
                "use_cases_kept": sum(c["release"] == p.name for c in cases),
            }
            for p in paths
        ],
        "deduplication": "one record per (agency, use case name), case-insensitive; the later release wins",
        "label": "question 17 (17_impact_type): rights-impacting, safety-impacting or both = high-impact",
        "inputs": "name; purpose and benefits (with topic area); outputs. Questions 50-67 never read.",
        "built_by": "python -m bench.precedents_build",
        "built_on": datetime.now(UTC).date().isoformat(),
        "scikit_learn": sklearn.__version__,
        "model": (
            f"TF-IDF word 1-2-grams (min_df 2, sublinear tf, English stop words); logistic regression "
            f"(C={C}, balanced classes); {NEIGHBOURS} nearest by cosine; calibrated (logistic) on "
            f"{FOLDS}-fold out-of-fold scores grouped by agency; seed {SEED}; raising needs "
            f"{AGREEING_VOTES} of {NEIGHBOURS} nearest high-impact and the nearest at least as similar"
            f" as {1 - UNKNOWN_SHARE:.0%} of out-of-fold nearest similarities"
        ),
    }
    return {
        "version": VERSION,
        "provenance": provenance,
        "thresholds": {
            **thresholds.as_policy(),
            "raise_budget": RAISE_BUDGET,
            "review_budget": REVIEW_BUDGET,
            "chosen_by": "out-of-fold figures, folds grouped by agency (aiops.precedents.train)",
        },
        "counts": {"use_cases": len(cases), "high_impact": int(high.sum())},
        "model": fitted.model,
        "cases": cases,
    }


def write(document: dict[str, object], out: Path) -> None:
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    out.write_bytes(gzip.compress(text, compresslevel=9, mtime=0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    document = build([INVENTORIES / f for f in DEFAULT_FILES])
    write(document, args.out)
    size = args.out.stat().st_size
    print(
        f"{args.out}: {document['counts']}, {size / 1024:.0f} KiB;"
        f" thresholds for the policy: {document['thresholds']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
