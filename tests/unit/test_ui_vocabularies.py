"""Statuses, risk levels, evidence labels, designs and warnings are declared once, as StrEnums in
aiops; the dashboard imports them instead of re-typing their codes as string literals."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

from aiops.classifier import STATUSES, Status
from aiops.estimates.codes import EVIDENCE_LABELS, Design, EvidenceLabel, WarningCode
from aiops.policy import RISK_LEVELS, RISK_ORDER, RiskLevel
from aiops.report.format import EVIDENCE_COUNTS, evidence_phrase
from aiops.views.totals import Totals
from tests.conftest import ROOT

UI_FILES = sorted([*(ROOT / "ui").glob("*.py"), *(ROOT / "app_pages").glob("*.py"), ROOT / "dashboard.py"])
VOCABULARIES = (Status, RiskLevel, EvidenceLabel, Design, WarningCode)
# "none" is also a review requirement and a customer impact (aiops.workflow): not only a design.
CODES = {
    member.value: type(member).__name__
    for vocabulary in VOCABULARIES
    for member in vocabulary
    if member is not Design.NONE
}


def retyped_codes(source: str) -> list[str]:
    """A code written as a literal where the page means the vocabulary: compared against, a dict
    key, or an item of a list, tuple or set. Prose and column names (``row["paused"]``) pass."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
        elif isinstance(node, ast.Dict):
            operands = [key for key in node.keys if key is not None]
        elif isinstance(node, ast.List | ast.Tuple | ast.Set):
            operands = list(node.elts)
        else:
            continue
        found += [
            f"{CODES[o.value]} {o.value!r} on line {o.lineno}"
            for o in operands
            if isinstance(o, ast.Constant) and isinstance(o.value, str) and o.value in CODES
        ]
    return found


def test_there_are_ui_files_to_check():
    assert {p.stem for p in UI_FILES} >= {"widgets", "overview", "workflows", "policy", "dashboard"}


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_the_dashboard_imports_vocabularies_instead_of_retyping_them(path: Path):
    assert retyped_codes(path.read_text("utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        'weekly = weeks[weeks.evidence != "insufficient"]',
        'elapsed = "elapsed_time" in list(m.warnings)',
        'COLORS = {"paused": "red"}',
        'risks = url_multiselect("Risk", ["high", "medium", "low"], "risk")',
        'shown = (s for s in ("experiment", "pilot"))',
        'if design == "trend_adjusted": pass',
    ],
)
def test_a_retyped_code_is_found(source: str):
    assert retyped_codes(source)


@pytest.mark.parametrize(
    "source",
    [
        "weekly = weeks[weeks.evidence != EvidenceLabel.INSUFFICIENT]",
        "st.caption(f\"{row['paused']} of {row['workflows']} workflows paused\")",
        "owner = workflow.owner or 'none'",
        "word = 'faster' if days >= 0 else 'slower'",
    ],
)
def test_prose_and_column_names_pass(source: str):
    assert retyped_codes(source) == []


def test_codes_keep_the_values_stored_data_uses():
    # Stored classifications, frames and policy files hold these strings: a rename breaks them.
    assert [s.value for s in STATUSES] == ["paused", "experiment", "pilot", "proven", "autonomous"]
    assert [r.value for r in RISK_LEVELS] == ["low", "medium", "high"]
    assert [e.value for e in EVIDENCE_LABELS] == ["insufficient", "inconclusive", "saving", "slower"]
    assert RISK_ORDER == {"low": 0, "medium": 1, "high": 2}


def test_a_member_is_its_code_to_frames_dicts_and_text():
    frame = pd.DataFrame({"status": ["paused", "pilot"]})
    assert (frame.status == Status.PAUSED).tolist() == [True, False]
    assert frame.status.isin([Status.PILOT]).tolist() == [False, True]
    assert {"high": 1}[RiskLevel.HIGH] == 1
    assert f"{EvidenceLabel.SAVING} · {RiskLevel.LOW}" == "saving · low"


def test_every_evidence_label_is_counted_by_a_totals_field_of_its_name():
    # evidence_phrase reads the counts by these names: a label or field renamed on one side fails here
    fields = set(Totals.__dataclass_fields__)
    assert {label for label, _ in EVIDENCE_COUNTS} == set(EVIDENCE_LABELS)
    assert all(field in fields and field.endswith(label) for label, field in EVIDENCE_COUNTS)
    counts = {field: n for (_, field), n in zip(EVIDENCE_COUNTS, (3, 0, 1, 2), strict=True)}
    assert evidence_phrase(counts) == "3 saving · 1 slower · 2 insufficient"
