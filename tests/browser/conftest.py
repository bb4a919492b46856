"""Browser tests: a real `streamlit run` on a free port, driven by Playwright on system Chromium.

Without a Chromium these tests are skipped loudly; under CI=true a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

SCREENSHOTS = ROOT / "build" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def find_chromium() -> str | None:
    for candidate in (
        os.environ.get("AIOPS_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    try:  # Playwright's own browser, where one was installed
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            path = p.chromium.executable_path
        return path if Path(path).exists() else None
    except Exception:  # noqa: BLE001 - any failure here just means "no bundled browser"
        return None


@pytest.fixture(scope="session")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        message = (
            "NO CHROMIUM FOUND: the browser tests did not run. Install Debian's `chromium` "
            "(apt-get install -y chromium) or set AIOPS_CHROMIUM."
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        warnings.warn(message, stacklevel=1)
        print(f"\n*** {message} ***\n", file=sys.stderr)
        pytest.skip(message)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{process.stdout.read()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not become healthy in {timeout}s")


@pytest.fixture(scope="module")
def server_db(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database the module's server runs on (a copy)."""
    db = tmp_path_factory.mktemp("browser") / "demo.duckdb"
    shutil.copy(demo_template, db)
    return db


def start_dashboard(db: str | Path, port: int, *options: str, **env: str) -> subprocess.Popen:
    """`streamlit run dashboard.py` over ``db`` on ``port`` (headless; extra ``options`` and
    environment ``env``); wait for it with ``_wait_healthy``."""
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard.py"),
               "--server.port", str(port), "--server.headless", "true",
               "--browser.gatherUsageStats", "false", *options]  # fmt: skip
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **env, "AIOPS_DB": str(db)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module")
def server(server_db: Path) -> Iterator[str]:
    port = _free_port()
    process = start_dashboard(server_db, port)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser(chromium: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 2200})
    yield context.new_page()
    context.close()


def settle(page) -> None:
    """Wait until the page's title is drawn and the run finished (no 'running' status widget)."""
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=60_000)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)


def wait_for_text(page, text: str | re.Pattern[str], timeout: int = 60_000) -> None:
    """Wait for ``text`` on the page; when it never shows, fail with what the page shows instead
    (a CI log holds no screenshot)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.get_by_text(text).first.wait_for(timeout=timeout)
    except PlaywrightTimeout:
        shown = page.locator("body").inner_text()[-3000:]
        pytest.fail(f"{text!r} did not show within {timeout // 1000} s; the page shows:\n{shown}")


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
