"""End-to-end: every page in a real headless Chromium against a real `streamlit run app.py`.

For every page: it loads with no exception box; a live run trains on first load with no click
(its step counter advances, its charts carry data); a permalink opened in a fresh browser
context shows the same settings. Screenshots go to artifacts/browser/ for a person to look at.
The control bar (Pause, Step, Stop) is tested in test_browser_lesson.py, many viewers and a full
server in test_browser_classroom.py.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_server import (
    ARTIFACTS,
    CHART_SELECTOR,
    Server,
    browser_available,
    chart_state,
    launch_browser,
    our_tracebacks,
    wait_idle,
)
from conftest import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if not browser_available():
    pytest.skip("Debian's chromium (/usr/bin/chromium) or playwright is not installed",
                allow_module_level=True)

from playwright.sync_api import sync_playwright

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"
# a query that sets non-default settings, for the permalink check (pages not listed: none)
QUERIES = {
    "/Figure_1_live": "steps=1500&lrx=2",
    "/Covariate_shift": "sx=1.5&rot=45",
    "/Internal_covariate_shift": "place=after",
    "/Gamma_and_beta": "affine=learnable",
    "/Shuffling": "shuffle=0.5",
    "/Gradients_and_learning_rates": "depth=6",
}


def _page_paths() -> list[str]:
    """Every page the sidebar lists: the home page and one per file in pages/."""
    names = sorted(PAGES_DIR.glob("*.py"), key=lambda f: int(f.name.split("_", 1)[0]))
    return ["/"] + ["/" + f.stem.split("_", 1)[1] for f in names]


PAGES = _page_paths()
STEP = re.compile(r"step ([\d,]+) of ([\d,]+)")


@pytest.fixture(scope="module")
def server():
    srv = Server(log_name="server-pages.log")
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
    ctx.set_default_timeout(120_000)  # a loaded machine serves pages slowly
    page = ctx.new_page()
    page.goto(url, wait_until="commit", timeout=180_000)
    wait_idle(page)
    return ctx, page


def _no_exception(page) -> None:
    boxes = page.locator("[data-testid='stException']")
    assert boxes.count() == 0, boxes.first.inner_text()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _step(page) -> int:
    m = STEP.search(page.inner_text("[data-testid='stMain']"))
    return int(m.group(1).replace(",", "")) if m else -1


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


@pytest.mark.parametrize("path", PAGES, ids=[p.strip("/") or "home" for p in PAGES])
def test_every_page_loads_and_its_run_trains_with_no_click(server, browser, path):
    """Each page opens with no error box; a page with a live run (a step counter) trains on
    first load, its counter advances and its charts carry data; other pages show content."""
    ctx, page = _open(browser, server.url + path)
    try:
        _no_exception(page)
        name = path.strip("/") or "home"
        content = f"{CHART_SELECTOR}, [data-testid='stDataFrame'], " \
                  "[data-testid='stMetric'], [data-testid='stTable']"
        assert wait_until(lambda: page.locator(content).count() > 0 or _step(page) >= 0,
                          timeout=120, interval=0.5), page.inner_text("[data-testid='stMain']")[:800]
        if _step(page) >= 0:
            first = _step(page)
            assert wait_until(lambda: _step(page) > first or _step(page) == _total(page),
                              timeout=120, interval=0.5), "the run did not advance by itself"
            assert wait_until(lambda: any(chart_state(page)), timeout=60, interval=0.5), \
                "no chart carries data"
        _no_exception(page)
        _shot(page, name)
    finally:
        ctx.close()


def test_live_charts_are_redrawn_in_place(server, browser):
    """A live refresh gives each chart a new figure on the same element, which plotly.js
    redraws with Plotly.react (bnlab_ui.charts): the chart nodes stay in the page while their
    draws add up and their data changes, and no st.plotly_chart element is made anew."""
    ctx, page = _open(browser, server.url + "/Figure_1_live?steps=50000")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.wait_for_function(
            "() => document.querySelectorAll('.bnlab-chart[data-draws] .main-svg').length >= 2",
            timeout=120_000)
        page.evaluate("() => { window.__charts = Array.from(document.querySelectorAll("
                      "'.bnlab-chart')).map(e => [e, Number(e.dataset.draws)]); }")
        before = chart_state(page)
        assert wait_until(lambda: page.evaluate(
            "() => window.__charts.every(([e, n]) => e.isConnected && +e.dataset.draws >= n + 2)"),
            timeout=120, interval=0.5), page.evaluate(
            "() => window.__charts.map(([e, n]) => [e.isConnected, n, e.dataset.draws])")
        assert chart_state(page) != before, "the charts were redrawn with the same data"
        assert page.locator("[data-testid='stPlotlyChart']").count() == 0
        plots = page.evaluate("() => document.querySelectorAll('.js-plotly-plot').length")
        assert plots == page.locator(".bnlab-chart").count() >= 2
        # a column whose width changes is fitted again, and a chart that leaves the page (as on
        # a page switch) is not resized: plotly.js would reject it with "Resize must be passed
        # a displayed plot div element" as an uncaught error
        hide = "d => document.querySelectorAll('.bnlab-chart').forEach(e => " \
               "e.parentElement.style.display = d)"
        widths = "() => Array.from(document.querySelectorAll('.bnlab-chart .main-svg'))" \
                 ".map(s => Math.round(s.getBoundingClientRect().width))"
        shown = page.evaluate(widths)
        page.evaluate(hide, "none")
        page.set_viewport_size({"width": 1000, "height": 900})
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 300)))")
        page.evaluate(hide, "")
        page.set_viewport_size({"width": 1400, "height": 1000})
        assert wait_until(lambda: page.evaluate(widths) == shown, timeout=30, interval=0.3), \
            (page.evaluate(widths), shown, "the charts did not fit their column again")
        _no_exception(page)
        page.evaluate("() => document.querySelectorAll('.bnlab-chart').forEach(e => "
                      "e.parentElement.remove())")
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 300)))")
        assert not errors, errors
    finally:
        ctx.close()


def _total(page) -> int:
    m = STEP.search(page.inner_text("[data-testid='stMain']"))
    return int(m.group(2).replace(",", "")) if m else -2


@pytest.mark.parametrize("path", [p for p in PAGES if p in QUERIES])
def test_a_permalink_opens_the_same_settings_in_a_fresh_browser(server, browser, path):
    query = QUERIES[path]
    ctx, page = _open(browser, f"{server.url}{path}?{query}")
    try:
        _no_exception(page)
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
