"""Elapsed results look different from hours (issue 24, item 8): on Workflow detail, an elapsed
workflow's headline is its cycle time in days, with its own badge words, never minutes saved or
the green "saving" badge."""

from __future__ import annotations

from tests.app.conftest import open_page


def test_an_elapsed_workflows_headline_is_cycle_time_in_days(app):
    at = open_page(app, "workflow_detail", id="sup-ticket-resolution")  # created → solved: elapsed
    labels = [m.label for m in at.metric]
    assert "Cycle time, open → close" in labels
    assert not any(label.startswith("Minutes saved per loop") for label in labels)
    headline = next(m.value for m in at.metric if m.label == "Cycle time, open → close")
    assert headline.endswith(("days faster to close", "days slower to close"))
    assert any("not counted as hours returned" in c.value for c in at.caption)
    badges = [m.value for m in at.markdown if "-badge[" in m.value]  # st.badge is badge markdown
    assert badges and not any("badge[saving]" in b for b in badges), badges


def test_a_hands_on_workflow_keeps_minutes_saved(app):
    at = open_page(app, "workflow_detail", id="sup-ticket-triage")
    labels = [m.label for m in at.metric]
    assert "Minutes saved per loop" in labels and "Cycle time, open → close" not in labels
