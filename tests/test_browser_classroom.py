"""A class on one server, in a real browser: many viewers of one run, the training cap and its
queue, a run nobody watches, a diverging configuration, and junk in the URL."""
from __future__ import annotations

import re
import time

import pytest

from browser_server import (Server, browser_available, chart_state, launch_browser,
                            our_tracebacks, progress_text, wait_idle)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if not browser_available():
    pytest.skip("Debian's chromium (/usr/bin/chromium) or playwright is not installed",
                allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

VIEWERS = 4  # the benchmark (scripts/bench_viewers.py) uses 20


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = launch_browser(pw)
        yield b
        b.close()


def _open(browser, url):
    ctx = browser.new_context(viewport={"width": 1300, "height": 900})
    page = ctx.new_page()
    page.goto(url)
    wait_idle(page)
    return ctx, page


def _status_rows(browser, server) -> list[dict]:
    """The server status page's run table, read as a person would see it."""
    ctx, page = _open(browser, server.url + "/Server_status")
    try:
        page.wait_for_selector("[data-testid='stMetric']")
        text = page.locator("[data-testid='stMetric']").all_inner_texts()
        kept = int(re.search(r"(\d+) of", text[0]).group(1))
        return {"kept": kept, "metrics": text, "page": page.content()}
    finally:
        ctx.close()


def test_many_viewers_share_one_run_and_release_it(browser):
    server = Server(env={"BNLAB_IDLE_TIMEOUT": "6"}, log_name="server-viewers.log")
    try:
        viewers = [_open(browser, server.url + "/") for _ in range(VIEWERS)]
        viewers[0][1].get_by_role("button", name=re.compile(r"Restart$")).first.click()
        time.sleep(1.0)
        # every viewer sees the run advance, with no click of its own
        for _, page in viewers:
            before = chart_state(page)
            deadline = time.time() + 20
            while time.time() < deadline and chart_state(page) == before:
                time.sleep(0.5)
            assert chart_state(page) != before, progress_text(page)
        assert server.log_text().count("new run") == 1, "viewers with equal settings got more than one run"
        assert "viewers" in viewers[0][1].locator("[data-testid='stProgress']").inner_text()
        status = _status_rows(browser, server)
        assert status["kept"] == 1
        # restart, so the run is live when everybody leaves
        viewers[-1][1].get_by_role("button", name=re.compile(r"Restart$")).first.click()
        time.sleep(1.0)
        for ctx, _ in viewers:
            ctx.close()
        # nobody watches: the run stops after the grace period (6 s here)
        deadline = time.time() + 30
        while time.time() < deadline and "nobody was watching" not in server.log_text() \
                and "no viewers" not in server.log_text():
            time.sleep(1.0)
        log = server.log_text()
        assert "no viewers" in log, log[-2000:]
    finally:
        server.stop()
    assert not our_tracebacks(server.log_text())


def test_viewer_over_the_cap_is_queued(browser):
    server = Server(env={"BNLAB_MAX_TRAINING": "1"}, log_name="server-queue.log")
    try:
        ctx1, home = _open(browser, server.url + "/")
        ctx2, other = _open(browser, server.url + "/Covariate_shift")
        other.wait_for_selector("text=/queue/i", timeout=15_000)
        # ... and it starts once the first run ends or is stopped
        home.get_by_role("button", name=re.compile(r"Stop$")).first.click()
        deadline = time.time() + 30
        while time.time() < deadline and "queue" in other.locator("[data-testid='stMain']").inner_text().lower():
            time.sleep(0.5)
        assert "queue" not in other.locator("[data-testid='stMain']").inner_text().lower()
        assert other.locator("[data-testid='stException']").count() == 0
        ctx1.close()
        ctx2.close()
    finally:
        server.stop()
    assert not our_tracebacks(server.log_text())


def test_junk_url_parameters_are_clamped_with_a_notice(browser):
    server = Server(log_name="server-junk.log")
    try:
        ctx, page = _open(browser, server.url +
                          "/Figure_1_live?lr=banana&steps=-5&lrx=1e999&act=<script>alert(1)</script>"
                          "&bin=maybe&" + "x" * 3000 + "=1")
        text = page.locator("[data-testid='stMain']").inner_text()
        assert page.locator("[data-testid='stException']").count() == 0
        assert "not valid" in text or "outside the allowed range" in text
        # no user text is rendered as HTML
        assert page.locator("script:text('alert(1)')").count() == 0
        assert page.evaluate("() => document.querySelectorAll('main script').length") == 0
        ctx.close()
    finally:
        server.stop()
