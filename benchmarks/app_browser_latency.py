"""Visible update time of the teaching app in a real browser, at 2,000 customers.

Starts ``loyaltysim app`` on a free localhost port, opens it in Debian's chromium
(headless, through Playwright), presses Step repeatedly and measures, for each press,
the time until the period counter shows the new period AND all six views show new
images. Prints the median and worst time, and the same for a click that opens the
scenario menu (browser-side only, renders no figure) as the baseline measured
in the same run. The machine's load changes the numbers: run it a few times and
compare medians.

    .venv/bin/python benchmarks/app_browser_latency.py [--presses 20] [--config configs/baseline.yaml]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
VIEWS = ("market-share", "firm-satisfaction", "satisfaction-churn", "network", "satisfaction-loyalty", "churn-by-band")
ALL_CHANGED = """([before]) => Object.entries(before).every(
    ([name, src]) => document.querySelector('img.loyaltysim-' + name).src !== src)"""


def sources(page) -> dict[str, str]:
    return {name: page.locator(f"img.loyaltysim-{name}").get_attribute("src") for name in VIEWS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presses", type=int, default=20)
    parser.add_argument("--config", default="configs/baseline.yaml")
    args = parser.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    server = subprocess.Popen(
        [sys.executable, "-m", "loyaltysim", "app", args.config, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if os.environ.get("DEBUG") else subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        for _ in range(180):
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(url)
            page.get_by_text("Period 0 of").wait_for()
            page.locator("img.loyaltysim-network").wait_for()
            step_button = page.get_by_role("button", name="Step", exact=True)
            updates = []
            for k in range(1, args.presses + 1):
                before = sources(page)
                start = time.perf_counter()
                step_button.click()
                page.get_by_text(f"Period {k} of", exact=False).wait_for()
                page.wait_for_function(ALL_CHANGED, arg=[before])
                updates.append(time.perf_counter() - start)
            menus = []
            for _ in range(5):
                start = time.perf_counter()
                page.locator(".ls-scenario .v-select__slot").click()
                page.locator(".v-menu__content .v-list-item").first.wait_for()
                menus.append(time.perf_counter() - start)
                page.keyboard.press("Escape")
                page.locator(".v-menu__content .v-list-item").first.wait_for(state="hidden")
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    ms = [u * 1000 for u in updates]
    base = statistics.median(menus) * 1000
    print(f"{args.config}, {args.presses} Step presses; load average {os.getloadavg()[0]:.2f}")
    print(f"click → counter and all {len(VIEWS)} views updated: median {statistics.median(ms):.0f} ms, worst {max(ms):.0f} ms")
    print(
        f"baseline, click → menu open (no figures): median {base:.0f} ms; update / baseline {statistics.median(ms) / base:.1f}×"
    )
    print(f"median update ≤ 200 ms: {'yes' if statistics.median(ms) <= 200 else 'no'}")


if __name__ == "__main__":
    main()
