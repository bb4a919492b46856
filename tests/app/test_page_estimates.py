"""Every saving on a page says how it was measured (design) and what could be wrong (warnings), in words."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from aiops.estimates import DESIGN_HELP, WARNING_HELP, design_method
from aiops.report.format import ESTIMATE_DESIGNS, NOT_RECORDED
from tests.app.conftest import open_page, shown

pytestmark = pytest.mark.slow

# Estimates a table may show; each needs its two bounds in the same table.
ESTIMATE_COLUMNS = {"saved_per_loop", "hours_returned", "hours_at_risk", "value", "net_value"}
SAVED_BOUNDS = {"saved_low", "saved_high"}

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


def test_pages_say_where_intervals_come_from_and_mark_what_was_not_recorded(app: AppTest):
    """Intervals come from each workflow's design (not "Welch" for all); a figure not recorded shows
    the same dash on every table, never "None"."""
    at = open_page(app, "overview")
    legend = next(shown(c.value) for c in at.caption if c.value.startswith("Evidence"))
    assert "Welch" not in legend
    assert all(design_method(code).lower() in legend.lower() for code in ESTIMATE_DESIGNS), legend
    assert [df.proto.placeholder for df in at.dataframe] == [NOT_RECORDED] * len(at.dataframe)
    by_department = next(df.value for df in at.dataframe if "adoption" in df.value.columns)
    shares = dict(zip(by_department.department, by_department.adoption, strict=True))
    assert shares["Engineering"] == NOT_RECORDED and shares["Support"].endswith("%")  # Support records it

    at = open_page(app, "departments", department="Engineering")
    assert any("AI share of loops " + NOT_RECORDED in shown(c.value) for c in at.caption)
    assert [df.proto.placeholder for df in at.dataframe] == [NOT_RECORDED] * len(at.dataframe)

    at = open_page(app, "policy")
    policy = " ".join(shown(m.value) for m in at.markdown)
    assert "Welch interval for the saving" not in policy
    assert all(DESIGN_HELP[code] in policy for code in ESTIMATE_DESIGNS)


@pytest.mark.parametrize(
    ("page", "params"),
    [("overview", {}), ("departments", {"department": "Engineering"}), ("workflows", {})],
)
def test_every_estimate_in_a_table_comes_with_its_95_interval(app: AppTest, page: str, params: dict):
    """Hours, value, net and the saving per loop are never shown without their interval bounds."""
    tables = [set(df.value.columns) for df in open_page(app, page, **params).dataframe]
    shown_estimates = {c for columns in tables for c in columns if c in ESTIMATE_COLUMNS}
    assert shown_estimates, f"no estimate in the tables of {page}"
    for columns in tables:
        for estimate in columns & ESTIMATE_COLUMNS:
            bounds = {f"{estimate}_low", f"{estimate}_high"} if estimate != "saved_per_loop" else SAVED_BOUNDS
            assert bounds <= columns, (page, estimate, sorted(columns))
