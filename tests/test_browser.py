"""End-to-end: every page in a real headless Chromium against a real `streamlit run app.py`.

For every page: it loads with no exception box; after Start its charts change over time with no
further click; Stop stops them; a permalink opened in a fresh browser context shows the same
settings. Screenshots go to artifacts/browser/ for a person to look at. Then: several viewers of
one run, the queue over the training cap, a diverging configuration, junk URL parameters.
"""
from __future__ import annotations

import re
import time

import pytest

from browser_server import (ARTIFACTS, Server, browser_available, chart_state, launch_browser,
                            our_tracebacks, progress_text, wait_idle)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if not browser_available():
    pytest.skip("Debian's chromium (/usr/bin/chromium) or playwright is not installed",
                allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

# (URL path, query that sets non-default settings for the permalink check, has a live run)
PAGES = [
    ("/", "", True),
    ("/Figure_1_live", "steps=1500&lrx=2", True),
    ("/Covariate_shift", "sx=1.5&rot=45", True),
    ("/Internal_covariate_shift", "place=after", True),
    ("/Gamma_and_beta", "affine=learnable", True),
    ("/Shuffling", "shuffle=0.5", True),
    ("/Gradients_and_learning_rates", "depth=6", True),
    ("/Inside_the_BN_layer", "", False),
    ("/Does_BN_reduce_ICS", "", True),
    ("/Server_status", "", False),
]


@pytest.fixture(scope="module")
def server():
    srv = Server(env={"BNLAB_MAX_TRAINING": "2"}, log_name="server-pages.log")
    yield srv
    srv.stop()
    assert not our_tracebacks(srv.log_text()), "the server logged a traceback in BN Lab's code"


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = launch_browser(pw)
        yield b
        b.close()


def _open(browser, url: str, width: int = 1400):
    ctx = browser.new_context(viewport={"width": width, "height": 1000})
    page = ctx.new_page()
    page.goto(url)
    wait_idle(page)
    return ctx, page


def _no_exception(page) -> None:
    boxes = page.locator("[data-testid='stException']")
    assert boxes.count() == 0, boxes.first.inner_text()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _button(page, label: str):
    return page.get_by_role("button", name=re.compile(rf"^\W*{label}$", re.I)).first


def _wait_change(page, before, seconds: float):
    """The charts' state once it differs from `before` and some chart carries data."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        time.sleep(0.5)
        now = chart_state(page)
        if now != before and any(now):
            return now
    return chart_state(page)


def _widget_state(page) -> list[str]:
    """What the sidebar's controls show: slider values, select texts, toggles."""
    return page.evaluate("""() => {
        const side = document.querySelector("[data-testid='stSidebar']") || document;
        const out = [];
        side.querySelectorAll("[role='slider']").forEach(s =>
            out.push('slider:' + (s.getAttribute('aria-valuetext') || s.getAttribute('aria-valuenow'))));
        side.querySelectorAll("[data-testid='stSelectbox']").forEach(s => out.push('select:' + s.innerText));
        side.querySelectorAll("input[type='checkbox']").forEach(c => out.push('check:' + c.checked));
        return out;
    }""")


@pytest.mark.parametrize("path,query,live", PAGES, ids=[p[0].strip("/") or "home" for p in PAGES])
def test_page_live_start_stop_permalink(server, browser, path, query, live):
    ctx, page = _open(browser, server.url + path)
    try:
        _no_exception(page)
        name = path.strip("/") or "home"
        if live:
            start = _button(page, "Start")
            if start.is_enabled():
                start.click()
            else:
                _button(page, "Restart").click()
            time.sleep(1.0)
            first = chart_state(page)
            later = _wait_change(page, first, 20)
            assert later != first, "charts did not change while the run trained"
            assert any(later), "no chart carries data"
            _shot(page, name)
            _button(page, "Stop").click()
            time.sleep(2.0)
            stopped, text = chart_state(page), progress_text(page)
            time.sleep(2.5)
            assert chart_state(page) == stopped, "charts still change after Stop"
            assert progress_text(page) == text
            _no_exception(page)
        else:
            assert page.locator(".js-plotly-plot, [data-testid='stDataFrame'], "
                                "[data-testid='stMetric']").count() > 0
            _shot(page, name)
    finally:
        ctx.close()
    if query:
        ctx, page = _open(browser, f"{server.url}{path}?{query}")
        try:
            shown = _widget_state(page)
            link = page.url
            assert all(part.split("=")[0] in link for part in query.split("&")), link
        finally:
            ctx.close()
        ctx2, page2 = _open(browser, link)
        try:
            _no_exception(page2)
            assert _widget_state(page2) == shown, "a fresh context shows other settings"
        finally:
            ctx2.close()
