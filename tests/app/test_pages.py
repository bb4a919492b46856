"""Every page runs on the demo and on an empty database, and shows real content."""

from __future__ import annotations

import csv
import io
import json
import re

import pyarrow as pa
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from aiops.auth import Actor
from aiops.inventory import save_workflow
from aiops.metrics import workflow_metrics
from aiops.policy import default_policy_text
from aiops.report.board import build_board_pack, render_html
from aiops.store import Store
from aiops.workflow_reads import get_workflow
from tests.app.conftest import PAGES, open_page, shown
from tests.conftest import sum_with_interval
from ui.text import md_escape


def chart_data(element) -> list[dict]:
    """The rows behind an Altair chart: inline in the spec, or Arrow datasets beside it."""
    spec = json.loads(element.proto.spec)
    rows = [row for values in spec.get("datasets", {}).values() for row in values]
    for dataset in element.proto.datasets:
        rows += pa.ipc.open_stream(dataset.data.data).read_all().to_pylist()
    return rows


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_the_demo(app, page):
    at = app.run()
    open_page(at, page)
    assert at.title[0].value


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_an_empty_database_and_says_what_to_do(empty_app, page):
    at = empty_app.run()
    open_page(at, page)
    texts = " ".join(e.value for e in [*at.info, *at.caption, *at.markdown])
    if page in ("overview", "departments", "workflows", "workflow_detail"):
        assert "register" in texts.lower()
    if page == "audit":  # a new database has recorded its policy, and nothing else
        assert list(at.dataframe[0].value.action) == ["policy.applied"]


def test_overview_headline_figures_match_the_domain(app, demo_path):
    at = open_page(app.run(), "overview")
    at.segmented_control(key="period_mode").set_value("All time").run()
    with Store(demo_path) as store:
        metrics = workflow_metrics(store, store.policy.evidence)
    # The headline: proven savings of workflows with no open stop condition, hands-on time.
    open_ = metrics.stop_conditions.map(len) == 0
    banked = metrics[open_ & metrics.proven & metrics.counts_in_hours & (metrics.evidence != "insufficient")]
    assert 0 < len(banked) < len(metrics[open_ & (metrics.evidence != "insufficient")])
    hours, low, high = sum_with_interval(banked.hours_returned, banked.hours_var, banked.saved_dof)
    values = {m.label: m.value for m in at.metric}
    assert values["Proven hours returned"] == f"{hours:,.0f} h"
    captions = [c.value for c in at.caption]
    assert any(
        f"95% CI {low:,.0f} to {high:,.0f}" in c and f"n = {int(metrics.samples_before.sum()):,} before" in c
        for c in captions
    )
    paused = metrics[(metrics.evidence != "insufficient") & (metrics.stop_conditions.map(len) > 0)]
    assert values["Hours at risk"] == f"{paused.hours_returned.sum():,.0f} h"


def test_dashboard_and_board_pack_show_the_same_headline_for_the_same_period(app, demo_path):
    at = open_page(app.run(), "overview")  # opens on the default period: the last complete quarter
    values = {m.label: m.value for m in at.metric}
    with Store(demo_path) as store:
        pack = build_board_pack(store, charts=False)  # the pack's default period, too
    assert pack.period_name == "2026 Q3"
    assert any("2026 Q3" in c.value for c in at.caption)
    html = render_html(pack)
    assert values["Proven hours returned"] == f"{pack.company.hours_returned:,.0f} h"
    assert f"{pack.company.hours_returned:,.0f} h</div>" in html
    assert values["Value returned"] == f"{pack.company.value:,.0f} USD"
    assert values["Hours at risk"] == f"{pack.company.hours_at_risk:,.0f} h"
    assert at.title[0].value.endswith("Northwind Labs")


def test_overview_charts_are_in_hours_with_readable_stop_conditions(app):
    at = open_page(app.run(), "overview")
    charts = at.get("vega_lite_chart")
    assert len(charts) >= 3
    hours = chart_data(charts[0])
    assert {"Support", "Engineering", "Sales"} <= {row["department"] for row in hours}
    assert {row["kind"] for row in hours} == {"banked", "at risk (paused)"}
    assert all(row["low"] <= row["hours"] <= row["high"] for row in hours)
    stops = chart_data(charts[1])
    assert {row["condition"] for row in stops} >= {"No owner", "Failure would go unnoticed"}


def test_workflows_filters_narrow_the_table_and_live_in_the_url(app):
    at = open_page(app.run(), "workflows")
    everything = len(at.dataframe[0].value)
    at.multiselect(key="url_status").select("paused").run()
    paused = at.dataframe[0].value
    assert 0 < len(paused) < everything and set(paused.status) == {"paused"}
    assert at.query_params["status"] == "paused"  # AppTest collapses a one-element list


def test_shared_link_filters_restore_from_query_params(app):
    at = app.run()
    open_page(at, "workflows", risk="high", department="Support")
    table = at.dataframe[0].value
    assert set(table.risk) == {"high"} and set(table.department) == {"Support"}
    assert at.multiselect(key="url_risk").value == ["high"]


def test_workflows_download_escapes_formula_cells(app, demo_path, monkeypatch):
    formula = '=HYPERLINK("http://evil.example","x")'
    with Store(demo_path) as s:
        hostile = get_workflow(s, "sup-ticket-triage").model_copy(update={"name": formula, "owner": "@owner"})
        save_workflow(s, Actor(name="admin@test", role="admin"), hostile)
    downloads: dict[str | None, bytes | str] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        downloads[filename] = path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    open_page(app.run(), "workflows")
    data = downloads["workflows.csv"]
    rows = list(csv.DictReader(io.StringIO(data.decode() if isinstance(data, bytes) else data)))
    row = next(r for r in rows if r["workflow_id"] == "sup-ticket-triage")
    assert (row["name"], row["owner"]) == ("'" + formula, "'@owner")
    assert not [v for r in rows for v in r.values() if v.startswith(("=", "+", "@", "\t", "\r"))]


def test_overview_offers_the_board_pack_built_only_on_click(app):
    at = open_page(app.run(), "overview")
    labels = {b.label for b in at.download_button}
    assert {"Download board pack (PDF)", "Download board pack (HTML)"} <= labels


def test_audit_shows_the_whole_detail_of_the_selected_entry(app):
    at = open_page(app.run(), "audit")
    assert any("Select a row" in c.value for c in at.caption)
    newest = at.dataframe[0].value.iloc[0]
    at.session_state["audit_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert any(f"**Entry {newest.audit_id}**" in m.value for m in at.markdown)
    assert at.json and json.loads(at.json[0].value) == json.loads(newest.detail)


def test_overview_and_departments_chart_adoption_when_uploads_record_it(app, demo_path):
    from aiops.auth import Actor

    with Store(demo_path) as store:
        store.write(
            Actor(name="admin@test", role="admin"),
            lambda tx: tx.execute(
                "UPDATE timing_samples SET ai_assisted = (minute(measured_at) % 4 <> 0) "
                "WHERE phase = 'after' AND workflow_id LIKE 'sup-%'"
            ),
        )
    at = open_page(app.run(), "overview")
    rows = [r for c in at.get("vega_lite_chart") for r in chart_data(c) if "series" in r]
    assert rows and {r["series"] for r in rows} == {"Support"}
    share = sum(r["ai_loops"] for r in rows) / sum(r["adoption_loops"] for r in rows)
    assert 0.6 < share < 0.9 and all(0 <= r["share"] <= 1 for r in rows)  # ~3 in 4 rows with AI
    at = open_page(at, "departments", department="Support")
    assert any("series" in r for c in at.get("vega_lite_chart") for r in chart_data(c))


def test_a_link_to_a_department_in_another_spelling_opens_that_department(app):
    """A link's department compares by ``identity_key`` (issue 23): case, width and spacing aside."""
    at = open_page(app.run(), "departments", department=" ＳＵＰＰＯＲＴ")
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="department_pick").value == "Support"
    assert at.query_params["department"] == "Support"


def test_a_company_policy_is_shown_as_text_on_the_policy_page_and_in_the_sidebar(app, tmp_path, monkeypatch):
    """A company's policy file is its own text: its version and rollout rules render exactly as
    typed (st.table renders cells as markdown), never as emphasis, links or code."""
    version, rule = "v**2**", "[Owner](http://evil.example) signs **each** `run`"
    text = re.sub(r'(?m)^version = ".*"$', f'version = "{version}"', default_policy_text())
    text = re.sub(r'(\[rollout\.high\]\napproval_checkpoint = )".*"', rf'\1"{rule}"', text)
    (tmp_path / "company.toml").write_text(text)
    monkeypatch.setenv("AIOPS_POLICY", str(tmp_path / "company.toml"))
    at = open_page(app.run(), "policy")
    sidebar = [c.value for c in at.sidebar.caption]
    assert md_escape(f"Policy {version}") in sidebar
    assert at.table[0].value.loc["approval checkpoint", "high"] == md_escape(rule)
    assert rule in shown(at.table[0].value.loc["approval checkpoint", "high"])
