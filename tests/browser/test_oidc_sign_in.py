"""End-to-end sign-in (issue 14): a real OIDC provider (oidc-provider-mock), Streamlit's st.login
(Authlib) and Chromium. A viewer, a Support lead and an admin sign in; the lead cannot reach or
perform another department's writes; the audit log names each user by their verified email; a
user whose email is not verified is refused."""

from __future__ import annotations

import os
import shutil

import pytest
from playwright.sync_api import expect

from aiops.store import Store
from tests.browser.conftest import (
    _free_port,
    _wait_healthy,
    screenshot,
    settle,
    start_dashboard,
    wait_for_text,
)
from tests.conftest import ROLES

# sub -> ID-token claims. Dana's provider spells her address in capitals: it is still her.
USERS = {
    "viewer": {"email": "viewer@northwind.example", "email_verified": True},
    "dana": {"email": "Dana.Lee@Northwind.Example", "email_verified": True, "name": "Dana Lee"},
    "cto": {"email": "cto@northwind.example", "email_verified": True},
    # finding 2: an unverified address of the admin, and the admin's address as a display name
    "mallory": {"email": "CTO@NORTHWIND.EXAMPLE", "email_verified": False, "name": "cto@northwind.example"},
}
SUPPORT_WORKFLOW, ENGINEERING_WORKFLOW = "sup-ticket-triage", "eng-pr-review-prep"


@pytest.fixture(scope="module")
def idp():
    try:
        from oidc_provider_mock import User, run_server_in_thread
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("oidc-provider-mock is not installed: `make install` installs the test extras")
        pytest.skip("oidc-provider-mock is not installed")
    users = [User(sub=sub, claims=claims) for sub, claims in USERS.items()]
    with run_server_in_thread(port=_free_port(), user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def app_server(idp, demo_template, tmp_path_factory):
    """The dashboard with sign-in on; yields (url, db) and stops at the end of the module."""
    folder = tmp_path_factory.mktemp("oidc")
    db = folder / "demo.duckdb"
    shutil.copy(demo_template, db)
    (folder / "roles.toml").write_text(ROLES)
    with Store(db) as store:  # the demo's own history ends here
        before = store.query_one("SELECT max(audit_id) FROM audit_log")[0]
    port = _free_port()
    url = f"http://localhost:{port}"
    (folder / "secrets.toml").write_text(
        "[auth]\n"
        f'redirect_uri = "{url}/oauth2callback"\n'
        'cookie_secret = "a-test-only-cookie-secret-0123456789"\n'
        'client_id = "saved-loops"\n'
        'client_secret = "test-only"\n'
        f'server_metadata_url = "{idp}/.well-known/openid-configuration"\n'
    )
    process = start_dashboard(
        db,
        port,
        "--secrets.files",
        str(folder / "secrets.toml"),
        AIOPS_ROLES_FILE=str(folder / "roles.toml"),
        AUTHLIB_INSECURE_TRANSPORT="1",  # the mock provider speaks plain http on localhost
    )
    try:
        _wait_healthy(url, process)
        yield url, db, process, before
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=20)


def sign_in(browser, url: str, sub: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    page = context.new_page()
    page.goto(url)
    settle(page)
    page.get_by_role("button", name="Sign in").click()
    page.locator('input[name="sub"]').fill(sub)  # the provider's sign-in form
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{url}/**", timeout=60_000)
    settle(page)
    return context, page


def sidebar(page) -> str:
    """The sidebar's text as read (without the invisible joiners that keep addresses from linking)."""
    return page.locator('[data-testid="stSidebar"]').inner_text().replace("\u2060", "")


def nav_links(page) -> list[str]:
    """The navigation's page titles (each link also holds its icon's name)."""
    links = page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
    return [text.strip().splitlines()[-1].strip() for text in links]


def record_incident(page, url: str, workflow_id: str, note: str, expect: str) -> None:
    """Submit an incident and wait for the outcome the page shows (a toast, or an error)."""
    page.goto(f"{url}/workflow?id={workflow_id}")
    settle(page)
    page.get_by_role("tab", name="Checkpoints & sign-off").click()
    page.get_by_label("What happened").fill(note)
    page.get_by_role("button", name="Record incident").click()
    wait_for_text(page, expect, timeout=90_000)
    settle(page)


@pytest.mark.browser
def test_viewer_lead_and_admin_sign_in_with_their_verified_email(app_server, browser):
    url, db, process, before = app_server

    context, page = sign_in(browser, url, "viewer")
    assert "Signed in as viewer@northwind.example (viewer)" in sidebar(page)
    assert "Upload timings" not in nav_links(page) and "Register workflow" not in nav_links(page)
    page.goto(f"{url}/upload")  # not in a viewer's navigation: Streamlit shows the default page
    settle(page)
    assert page.locator("h1").first.inner_text().strip() != "Upload timings"
    screenshot(page, "oidc_viewer")
    context.close()

    context, page = sign_in(browser, url, "dana")
    assert "Signed in as dana.lee@northwind.example (lead · Support)" in sidebar(page)
    assert "Upload timings" in nav_links(page)
    record_incident(
        page,
        url,
        ENGINEERING_WORKFLOW,
        "lead writing for Engineering",
        "may not record incidents for Engineering",
    )
    record_incident(page, url, SUPPORT_WORKFLOW, "misrouted refund", "Incident recorded")
    assert not page.locator('[data-testid="stAlertContentError"]').count()
    page.goto(f"{url}/upload")
    settle(page)
    assert page.locator("h1").first.inner_text().strip() == "Upload timings"
    screenshot(page, "oidc_lead")
    context.close()

    context, page = sign_in(browser, url, "cto")
    assert "Signed in as cto@northwind.example (admin)" in sidebar(page)
    record_incident(page, url, ENGINEERING_WORKFLOW, "admin writes everywhere", "Incident recorded")
    assert not page.locator('[data-testid="stAlertContentError"]').count()
    page.goto(f"{url}/audit")
    settle(page)
    page.locator('[data-testid="stMultiSelect"]').first.click()
    who = page.get_by_role("option").all_inner_texts()
    assert {"viewer@northwind.example", "dana.lee@northwind.example", "cto@northwind.example"} <= set(who)
    page.keyboard.press("Escape")
    screenshot(page, "oidc_admin_audit")
    context.close()

    context, page = sign_in(browser, url, "mallory")
    # The refusal is drawn after the page's title: wait for it rather than read the first frame.
    expect(page.locator('[data-testid="stMain"]')).to_contain_text("Sign-in refused", timeout=60_000)
    assert "Signed in as" not in page.locator("body").inner_text()
    screenshot(page, "oidc_refused")
    context.close()

    process.terminate()  # one process owns the database: read the audit log once it is closed
    process.wait(timeout=20)
    with Store(db) as store:
        rows = store.query("SELECT actor, action, entity_id FROM audit_log WHERE audit_id > ?", [before])
    actors = {actor for actor, _, _ in rows}
    assert actors == {"viewer@northwind.example", "dana.lee@northwind.example", "cto@northwind.example"}
    incidents = {(actor, entity) for actor, action, entity in rows if action == "incident.recorded"}
    assert incidents == {
        ("dana.lee@northwind.example", SUPPORT_WORKFLOW),
        ("cto@northwind.example", ENGINEERING_WORKFLOW),
    }
