"""Stored user text is text: every page rendered in a real browser over a hostile workflow and
preset shows no image, link, script URL, colour or icon made from that text (issue 14, finding 4),
and no table offers Streamlit's built-in CSV download (finding 5)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from aiops.auth import Actor
from aiops.ingest.mapping import TimingMapping
from aiops.ingest.presets import save_preset
from aiops.inventory import save_workflow
from aiops.store import Store
from aiops.workflow import Workflow
from tests.browser.conftest import screenshot, settle

EVIL = "evil.example"
# Every trick found in the adversarial pass, in one string (under the 200-character name limit).
HOSTILE = (
    "![i](https://evil.example/i.png) [x](javascript:alert(1)) <img src=//evil.example/x> "
    "https://evil.example www.evil.example a@evil.example :red[RED] :material/home: `c` **b**"
)
# A preset name that closes the code span it used to be shown in and opens a fake link.
HOSTILE_PRESET = "p` [Session expired: sign in again](https://evil.example/login) `q"
PAGES = ["", "departments", "workflows", "workflow?id=hostile-1", "upload", "register", "policy", "audit"]


@pytest.fixture(scope="module")
def server_db(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("hostile") / "hostile.duckdb"
    shutil.copy(demo_template, db)
    admin = Actor(name="admin@test", role="admin")
    workflow = Workflow(
        workflow_id="hostile-1",
        name=HOSTILE[:200],
        department="Support " + HOSTILE[:150],
        owner=HOSTILE,
        manual_process=HOSTILE,
        reviewer=HOSTILE,
        trigger=HOSTILE,
        acceptable_output=HOSTILE,
        failure_plan=HOSTILE,
        checkpoints=[HOSTILE],
        data_touched=["customer_data", HOSTILE[:60]],
    )
    with Store(db) as store:
        save_workflow(store, admin, workflow)
        mapping = TimingMapping(
            start_column="opened", end_column="closed", workflow="hostile-1", phase_column="phase"
        )
        store.write(admin, lambda tx: save_preset(tx, HOSTILE_PRESET, mapping))
    return db


def rendered(page) -> str:
    return page.locator("body").inner_html()


@pytest.mark.browser
@pytest.mark.parametrize("path", PAGES)
def test_hostile_user_text_renders_as_text_on_every_page(server, page, path):
    page.goto(f"{server}/{path}")
    settle(page)
    if path == "audit":  # open the preset's audit entry: its detail line names the preset
        box = page.locator('[data-testid="stDataFrame"]').first.bounding_box()
        page.mouse.click(box["x"] + 14, box["y"] + 35 + 17)  # the newest row's selection box
        page.get_by_text("Entry ").first.wait_for(timeout=30_000)
        settle(page)
        assert "Session expired" in page.locator('[data-testid="stMain"]').inner_text()
    if path.startswith("workflow?"):  # the hostile workflow's text is drawn (as text) before we look
        page.get_by_text("Checkpoints in place").wait_for(state="attached", timeout=60_000)
        settle(page)
        assert "javascript" in page.locator('[data-testid="stMain"]').inner_text()
    html = rendered(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    offenders = [
        tag
        for tag in re.findall(r"<(?:a|img|iframe|script)\b[^>]*>", html)
        if EVIL in tag or "javascript:" in tag
    ]
    assert not offenders, offenders
    assert "<img" not in "".join(
        page.locator('[data-testid="stMarkdownContainer"]').evaluate_all("els => els.map(e => e.innerHTML)")
    )
    coloured = page.locator(".stMarkdownColoredText, [data-testid='stIconMaterial']").all_inner_texts()
    assert not [t for t in coloured if t in ("RED", "home")], coloured
    screenshot(page, f"hostile_{path.split('?')[0] or 'overview'}")


@pytest.mark.browser
def test_tables_offer_no_builtin_csv_download(server, page):
    page.goto(f"{server}/workflows")
    settle(page)
    table = page.locator('[data-testid="stDataFrame"]').first
    table.hover()
    page.wait_for_timeout(500)
    assert page.locator('[data-testid="stElementToolbar"]').count() >= 1  # the toolbar is there...
    download = page.locator('[data-testid="stElementToolbarButton"]').filter(
        has=page.locator('[aria-label*="ownload"]')
    )
    assert download.count() == 0  # ...without "Download as CSV"
    assert page.get_by_role("button", name=re.compile("Download as CSV", re.I)).count() == 0
