"""The Workflow detail page lists the nearest published precedents with their labels (issue 26)."""

from __future__ import annotations

import pytest

from tests.app.conftest import open_page

pytestmark = pytest.mark.slow  # AppTest runs the dashboard


def test_the_detail_page_lists_the_nearest_precedents_with_their_labels_as_plain_text(app):
    at = open_page(app.run(), "workflow_detail", id="sales-follow-ups")
    assert "Published precedents" in [s.value for s in at.subheader]
    assert any("Flagged for a human's review" in c.value for c in at.caption)
    (table,) = [d.value for d in at.dataframe if "label" in d.value.columns]
    assert list(table.columns) == ["use case", "agency", "label", "similarity"] and len(table) == 5
    assert set(table.label) <= {"rights-impacting", "safety-impacting", "both", "neither"}
