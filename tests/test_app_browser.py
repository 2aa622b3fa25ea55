"""The teaching app in a real browser (Debian's chromium through Playwright).

Outside CI these tests skip when chromium or Playwright is missing; under CI=true
they run and fail if they cannot. The app runs through ``loyaltysim app`` on a free
localhost port and is always stopped (its whole process group) at the end.
Screenshots at 1280×720 (a classroom projector) and 390×844 (a phone) are saved in
test-artifacts/ (git-ignored): look at them after a change to the page.
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


def _start_app(extra: list[str], log_name: str):
    port = _free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / log_name, "w")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "loyaltysim", "app", *extra, "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while True:
        if server.poll() is not None:
            pytest.fail(f"the app exited with {server.returncode}; see {log.name}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return server, log, url
        except OSError:
            if time.monotonic() > deadline:
                _stop(server, log)
                pytest.fail(f"the app did not answer at {url} within 90 s")
            time.sleep(0.5)


def _stop(server: subprocess.Popen, log) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    log.close()


@pytest.fixture(scope="module")
def app_url():
    server, log, url = _start_app([str(CONFIGS / "baseline.yaml")], "app-server.log")
    try:
        yield url
    finally:
        _stop(server, log)
    assert "Traceback" not in (ARTIFACTS / "app-server.log").read_text()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _open(browser, url: str, width: int = 1280, height: int = 720):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(TIMEOUT_MS)
    page.console_errors = []
    page.outside_requests = []
    page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    page.on(
        "request",
        lambda request: (
            request.url.startswith(("http", "ws"))
            and not request.url.startswith(url.rstrip("/"))
            and page.outside_requests.append(request.url)
        ),
    )
    page.goto(url)
    page.locator(".ls-period").wait_for()
    for name in VIEWS:
        page.locator(f"img.loyaltysim-{name}").wait_for()
    return page


@pytest.fixture(scope="module")
def page(browser, app_url):
    page = _open(browser, app_url)
    yield page
    page.close()


VIEWS = ("market-share", "firm-satisfaction", "satisfaction-churn", "network", "satisfaction-loyalty", "churn-by-band")
CRASH_SIGNS = ("Traceback", "Error:", "error in")


def _image(page, name: str) -> str:
    return page.locator(f"img.loyaltysim-{name}").get_attribute("src")


def _period(page) -> int:
    return int(page.locator(".ls-period").inner_text().split()[1])


def _assert_no_crash(page) -> None:
    text = page.locator("body").inner_text()
    assert not any(sign in text for sign in CRASH_SIGNS), text[:2000]
    assert page.console_errors == []


SMALLEST_TEXT = """() => {
  const sizes = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!node.textContent.trim() || !el) continue;
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    if (box.width === 0 || box.height === 0 || style.visibility === 'hidden' || style.display === 'none') continue;
    if (box.bottom < 0 || box.top > innerHeight || box.right < 0 || box.left > innerWidth) continue;
    let scale = 1;  // a scaled-down label (vuetify's floating labels) counts at its shown size
    const transform = style.transform;
    if (transform && transform.startsWith('matrix(')) scale = parseFloat(transform.slice(7).split(',')[0]);
    sizes.push([parseFloat(style.fontSize) * scale, node.textContent.trim().slice(0, 40)]);
  }
  sizes.sort((a, b) => a[0] - b[0]);
  return sizes[0];
}"""

CHART_TEXT_PX = """(img) => img.getBoundingClientRect().width / img.naturalWidth"""


def test_page_loads_offline_with_a_title_and_no_foreign_chrome(page):
    assert page.title() == "loyaltysim: satisfaction, loyalty and switching"
    body = page.locator("body").inner_text()
    for chrome in ("Page 0", "PAGE 0", "Use Threads", "Render Interval", "Play Interval", "runs on Solara", "Model Parameters"):
        assert chrome not in body
    assert "Baseline: five firms" in body  # presets by title, not file name
    assert page.console_errors == []
    assert page.outside_requests == []  # everything (JavaScript, CSS, fonts) comes from the app itself


def test_projector_shows_the_lesson_without_scrolling_in_readable_text(page):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app-1280x720.png"))
    viewport = page.viewport_size
    assert page.locator(".ls-header").bounding_box()["height"] <= 64  # one row: scenario, buttons, counter
    for selector in (".ls-period", *(f"img.loyaltysim-{name}" for name in VIEWS)):
        box = page.locator(selector).bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"] + 1, selector
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 1, selector
    size, text = page.evaluate(SMALLEST_TEXT)
    assert size >= 14, f"text {text!r} is {size} px"
    for name in VIEWS:  # chart text is drawn at ≥ 15.5 px at the PNG's own size
        scale = page.locator(f"img.loyaltysim-{name}").evaluate(CHART_TEXT_PX)
        assert 15.5 * scale >= 14, (name, scale)


def test_step_advances_the_counter_and_every_chart(page):
    before = {name: _image(page, name) for name in VIEWS}
    start = _period(page)
    page.get_by_role("button", name="Step", exact=True).click()
    page.get_by_text(f"Period {start + 1} of 120").wait_for()
    page.wait_for_function(
        "([before]) => Object.entries(before).every(([n, s]) => document.querySelector('img.loyaltysim-' + n).src !== s)",
        arg=[before],
    )
    page.get_by_text("this period:", exact=False).first.wait_for()


def test_slider_values_are_shown_and_changes_wait_for_reset(page):
    page.get_by_text("customers: 2000", exact=True).wait_for()
    page.get_by_text("mean switching cost: 5", exact=True).wait_for()
    slider = page.locator(".ls-control").filter(has_text="customers:").locator("[role=slider]")
    slider.first.focus()
    page.keyboard.press("Home")  # the customers slider to its minimum, 100
    page.get_by_text("customers: 100 ●", exact=True).wait_for()
    page.get_by_text("Changed: press Reset to apply").wait_for()
    page.screenshot(path=str(ARTIFACTS / "app-pending-reset.png"))
    page.get_by_role("button", name="Reset", exact=True).click()
    page.get_by_text("Period 0 of 120").wait_for()
    page.get_by_text("customers: 100", exact=True).wait_for()
    assert page.get_by_text("Changed: press Reset to apply").count() == 0
    page.get_by_role("button", name="Step", exact=True).click()
    page.get_by_text("Period 1 of 120").wait_for()
    page.get_by_text("of 100 (", exact=False).first.wait_for()  # the headline counts 100 customers
    _assert_no_crash(page)


def test_info_panel_explains_the_preset(page):
    page.get_by_role("tab", name="Info").click()
    for heading in ("What is it?", "How it works", "How to use it", "Things to notice", "Things to try"):
        page.get_by_role("heading", name=heading).wait_for()
    page.get_by_text("E's market share grows", exact=False).wait_for()
    page.screenshot(path=str(ARTIFACTS / "app-info.png"))
    page.get_by_role("tab", name="Controls").click()


def test_choosing_a_preset_rebuilds_the_page_with_its_values(page):
    page.locator(".ls-scenario .v-select__slot").click()
    page.locator(".v-menu__content .v-list-item").filter(has_text="Near-monopoly").click()
    page.get_by_text("Incumbent: quality: 0.5", exact=True).wait_for()
    page.get_by_text("Period 0 of 120").wait_for()
    page.get_by_text("firms: 2", exact=True).wait_for()
    _assert_no_crash(page)


def test_play_runs_in_a_thread_without_crashing(page):
    page.get_by_role("button", name="▶ Play").click()
    page.wait_for_function("() => parseInt(document.querySelector('.ls-period').innerText.split(' ')[1]) >= 25")
    page.screenshot(path=str(ARTIFACTS / "app-playing.png"))
    page.get_by_role("button", name="❚❚ Pause").click()
    page.get_by_role("button", name="▶ Play").wait_for()
    time.sleep(0.5)  # a period already under way when Pause was pressed still finishes
    paused = _period(page)
    time.sleep(1.5)
    assert _period(page) == paused
    _assert_no_crash(page)


def test_several_tabs_play_at_once_without_crashing(browser, app_url):
    pages = [_open(browser, app_url) for _ in range(4)]
    try:
        for tab in pages:
            tab.get_by_role("button", name="▶ Play").click()
        for tab in pages:
            tab.wait_for_function(
                "() => parseInt(document.querySelector('.ls-period').innerText.split(' ')[1]) >= 12", timeout=120_000
            )
        for tab in pages:
            _assert_no_crash(tab)
            tab.get_by_role("button", name="❚❚ Pause").click()
    finally:
        for tab in pages:
            tab.close()


def test_phone_shows_the_charts_first(browser, app_url):
    phone = _open(browser, app_url, 390, 844)
    try:
        phone.screenshot(path=str(ARTIFACTS / "app-390x844.png"))
        box = phone.locator("img.loyaltysim-market-share").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 391 and box["y"] < 844 and box["width"] > 300
        assert phone.locator(".ls-period").bounding_box()["y"] < 844
        phone.get_by_role("button", name="Step", exact=True).click()
        phone.get_by_text("Period 1 of 120").wait_for()
        phone.screenshot(path=str(ARTIFACTS / "app-390x844-full.png"), full_page=True)
        _assert_no_crash(phone)
    finally:
        phone.close()


def test_the_page_in_chinese(browser):
    server, log, url = _start_app([str(CONFIGS / "service_failure.yaml"), "--lang", "zh"], "app-server-zh.log")
    try:
        page = _open(browser, url)
        page.get_by_text("第 0 期，共 120 期").wait_for()
        page.get_by_role("button", name="单步").click()
        page.get_by_text("第 1 期，共 120 期").wait_for()
        page.get_by_role("tab", name="说明").click()
        for heading in ("这是什么？", "原理", "使用方法", "留意", "试一试"):
            page.get_by_role("heading", name=heading).wait_for()
        page.screenshot(path=str(ARTIFACTS / "app-zh-1280x720.png"))
        _assert_no_crash(page)
        page.close()
    finally:
        _stop(server, log)
    assert "Glyph" not in (ARTIFACTS / "app-server-zh.log").read_text()  # no missing-glyph warnings from the charts
