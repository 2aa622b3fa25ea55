"""The teaching app in a real browser (Debian's chromium through Playwright).

Outside CI these tests skip when chromium or Playwright is missing; under CI=true
they run and fail if they cannot. The app runs through ``loyaltysim app`` on a free
localhost port and is always stopped (its whole process group) at the end. A
screenshot is saved in test-artifacts/.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import CONFIGS, ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
TIMEOUT_MS = 60_000


def _requirements_missing() -> str | None:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        return "chromium is not installed (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
        import solara  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install -e '.[dev,viz]')"
    return None


missing = _requirements_missing()
if missing and os.environ.get("CI", "").lower() not in ("", "0", "false"):
    pytest.fail(f"browser tests must run in CI: {missing}", pytrace=False)
pytestmark = [pytest.mark.browser, pytest.mark.skipif(missing is not None, reason=missing or "")]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def app_url():
    port = _free_port()
    log = open(ARTIFACTS.mkdir(exist_ok=True) or ARTIFACTS / "app-server.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "loyaltysim", "app", str(CONFIGS / "baseline.yaml"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                pytest.fail(f"the app exited with {server.returncode}; see {log.name}")
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"the app did not answer at {url} within 90 s")
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def page(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            page.console_errors = []
            page.outside_requests = []
            page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
            page.on("pageerror", lambda error: page.console_errors.append(str(error)))
            page.on(
                "request",
                lambda request: (
                    request.url.startswith(("http", "ws"))
                    and not request.url.startswith(app_url.rstrip("/"))
                    and page.outside_requests.append(request.url)
                ),
            )
            page.goto(app_url)
            page.get_by_text("Step: 0").wait_for()
            page.locator("img.loyaltysim-network").wait_for()
            yield page
        finally:
            browser.close()


def _image(page, name: str) -> str:
    return page.locator(f"img.loyaltysim-{name}").get_attribute("src")


def test_page_loads_offline_without_console_errors(page):
    page.get_by_text("What to try").wait_for()
    assert page.console_errors == []
    assert page.outside_requests == []  # everything (JavaScript, CSS, fonts) comes from the app itself


def test_network_view_renders(page):
    size = page.locator("img.loyaltysim-network").evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert size[0] > 200 and size[1] > 100
    for name in ("market-share", "satisfaction-churn", "churn-by-band", "satisfaction-loyalty"):
        page.locator(f"img.loyaltysim-{name}").wait_for()  # strict: exactly one, visible


def test_step_advances_the_counter_and_the_charts(page):
    share_before, network_before = _image(page, "market-share"), _image(page, "network")
    page.get_by_role("button", name="Step", exact=True).click()
    page.get_by_text("Step: 1").wait_for()
    page.wait_for_function(
        "([before]) => document.querySelector('img.loyaltysim-market-share').src !== before", arg=[share_before]
    )
    assert _image(page, "market-share") != share_before
    assert _image(page, "network") != network_before
    page.get_by_text("Period 1 of 120").wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app-after-step.png"), full_page=True)


def test_slider_and_reset_rebuild_the_model(page):
    page.get_by_text("2000 customers", exact=False).wait_for()
    slider = page.locator(".v-input").filter(has_text="customers").filter(has_not_text="switching").locator("[role=slider]")
    slider.first.focus()
    page.keyboard.press("Home")  # the customers slider to its minimum, 100
    page.wait_for_function("el => el.getAttribute('aria-valuenow') === '100'", arg=slider.first.element_handle())
    page.get_by_role("button", name="Reset", exact=True).click()
    page.get_by_text("Step: 0").wait_for()
    page.get_by_text("100 customers", exact=False).wait_for()
    page.get_by_role("button", name="Step", exact=True).click()
    page.get_by_text("Step: 1").wait_for()
    assert page.console_errors == []
    page.screenshot(path=str(ARTIFACTS / "app-after-reset.png"), full_page=True)


def test_choosing_a_preset_rebuilds_the_page_with_its_values(page):
    page.locator(".v-select").filter(has_text="preset scenario").locator(".v-select__slot").click()
    page.locator(".v-menu__content .v-list-item").filter(has_text="near_monopoly").click()
    page.get_by_text("Near-monopoly: one incumbent").wait_for()
    page.get_by_text("firm Incumbent: quality").wait_for()
    page.get_by_text("Step: 0").wait_for()
    page.get_by_text("2 firms", exact=False).wait_for()
    assert page.console_errors == []
