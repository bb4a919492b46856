"""Every saving on a page says how it was measured (design) and what could be wrong (warnings), in words."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from aiops.estimates import DESIGN_HELP, WARNING_HELP
from tests.app.conftest import open_page, shown

pytestmark = pytest.mark.slow

# The demo's teaching case: a loop time already falling before go-live, and no AI effect.
TREND_CASE = "prod-market-digests"


def design_frame(at: AppTest):
    """The "How each saving was measured" table (the one with a design column)."""
    frames = [df.value for df in at.dataframe if {"design", "warnings"} <= set(df.value.columns)]
    assert frames, "no design/warnings table on the page"
    return frames[0]


def words_in(frame, column: str) -> str:
    return " ".join(str(v) for v in frame[column].explode().dropna())


def test_overview_lists_each_workflows_design_and_warnings_in_words(app: AppTest):
    frame = design_frame(open_page(app, "overview"))
    designs, warnings = words_in(frame, "design"), words_in(frame, "warnings")
    assert "trend adjusted: " + DESIGN_HELP["trend_adjusted"] in designs
    assert "before after: " + DESIGN_HELP["before_after"] in designs
    assert "baseline trend: " + WARNING_HELP["baseline_trend"] in warnings


def test_departments_shows_the_design_and_warning_of_its_workflows(app: AppTest):
    frame = design_frame(open_page(app, "departments", department="Product"))
    row = frame[frame.workflow == "Competitor news digests"]
    assert len(row) == 1
    assert row.design.iloc[0].startswith("trend adjusted: ")
    assert any(w.startswith("baseline trend: ") for w in row.warnings.iloc[0])


def test_workflow_detail_names_the_design_and_each_warning(app: AppTest):
    at = open_page(app, "workflow_detail", id=TREND_CASE)
    text = " ".join(shown(m.value) for m in at.markdown)
    assert "Design:" in text and DESIGN_HELP["trend_adjusted"] in text
    warnings = [shown(w.value) for w in at.warning]
    assert any(w.startswith("baseline trend: ") for w in warnings), warnings
