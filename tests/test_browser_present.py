"""The projector view (`?present=1`, issue 8) in a real browser at a projector's 1280x720, on
the home page and every lesson: the sidebar is closed; Previous, Next and the section's say line
are on the first screen; the first section's chart starts on it; the text is large enough to
read from the back of a room (say line, body text, chart ticks); and PageDown shows the next
section. Waits are on conditions (a loaded machine serves pages slowly); the screenshots of this
view for the README come from scripts/present_screenshots.py."""
from __future__ import annotations

import re
import statistics

import pytest

from browser_server import (ARTIFACTS, CHART_SELECTOR, ROOT, Server, browser_available, launch_browser,
                            our_tracebacks, wait_idle)
from conftest import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if not browser_available():
    pytest.skip("Debian's chromium (/usr/bin/chromium) or playwright is not installed",
                allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

WIDTH, HEIGHT = 1280, 720
CHART_TOP_MAX = HEIGHT - 120   # the chart's top at most here: a good part of it on screen
STEP = re.compile(r"step ([\d,]+) of ([\d,]+)")
STATIC_PAGES = {"/Inside_the_BN_layer"}   # no run: no step counter


def lesson_paths() -> list[str]:
    """"/" and every lesson (pages/<n>_<Name>.py -> /<Name>; 99_Server_status is no lesson)."""
    found = []
    for f in (ROOT / "pages").glob("*.py"):
        m = re.match(r"(\d+)_(.+)\.py$", f.name)
        if m and int(m.group(1)) < 99:
            found.append((int(m.group(1)), f"/{m.group(2)}"))
    return ["/"] + [path for _, path in sorted(found)]


MEASURE = """CHARTS => {
    const shown = e => e && e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden';
    const rect = e => { if (!shown(e)) return null; const r = e.getBoundingClientRect();
                        return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
    const charts = Array.from(document.querySelectorAll(CHARTS))
        .filter(shown).map(e => e.getBoundingClientRect()).filter(r => r.height > 50);
    const buttons = Array.from(document.querySelectorAll("[data-testid='stMain'] button"));
    const named = re => rect(buttons.find(b => re.test(b.innerText)));
    const say = document.querySelector('.bnlab-say');
    const side = document.querySelector("[data-testid='stSidebar']");
    const sr = side ? side.getBoundingClientRect() : null;
    const body = Array.from(document.querySelectorAll(
            "[data-testid='stMain'] [data-testid='stMarkdownContainer'] p"))
        .filter(e => shown(e) && !e.closest('button') && !e.closest('h1') && e.innerText.trim())
        .map(e => parseFloat(getComputedStyle(e).fontSize));
    const ticks = Array.from(document.querySelectorAll(
            '.js-plotly-plot .xtick text, .js-plotly-plot .ytick text'))
        .map(t => parseFloat(getComputedStyle(t).fontSize)).filter(v => v > 0);
    return {
        chart_top: charts.length ? Math.min(...charts.map(r => r.top)) : null,
        say: rect(say), say_px: say ? parseFloat(getComputedStyle(say).fontSize) : null,
        previous: named(/Previous/), next: named(/Next/),
        sidebar_on_screen: sr ? Math.max(0, Math.min(sr.right, innerWidth) - Math.max(sr.left, 0)) : 0,
        body_px: body, tick_px: ticks,
        title: (document.querySelector("[data-testid='stMain'] h1") || {}).innerText || '',
    };
}"""


@pytest.fixture(scope="module")
def server():
    srv = Server(log_name="server-present.log")
    yield srv
    srv.stop()
    assert not our_tracebacks(srv.log_text()), "the server logged a traceback in BN Lab's code"


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = launch_browser(pw)
        yield b
        b.close()


def open_present(browser, url: str):
    ctx = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    ctx.set_default_timeout(120_000)  # a loaded machine serves pages slowly
    page = ctx.new_page()
    page.goto(url, wait_until="commit", timeout=180_000)
    wait_idle(page)
    return ctx, page


def step_of(page) -> int:
    m = STEP.search(page.inner_text("[data-testid='stMain']"))
    return int(m.group(1).replace(",", "")) if m else -1


def on_screen(box) -> bool:
    return box is not None and box["top"] >= 0 and box["bottom"] <= HEIGHT


def settled(page) -> dict:
    """The page measured once its first section is drawn: a chart whose top is on the first
    screen, painted (its ticks drawn), and the section's say line (sampled: while a live fragment redraws on a loaded
    machine, a chart can be missing for a moment)."""
    seen: list[dict] = []

    def drawn():
        seen.append(page.evaluate(MEASURE, CHART_SELECTOR))
        m = seen[-1]
        return m["chart_top"] is not None and m["chart_top"] < CHART_TOP_MAX and m["say"] \
            and m["previous"] and m["next"] and m["tick_px"]  # its ticks drawn: painted
    wait_until(drawn, timeout=90, interval=0.5)
    return seen[-1]


@pytest.mark.parametrize("path", lesson_paths())
def test_the_projector_view_shows_the_first_section_large_on_the_first_screen(browser, server,
                                                                               path):
    ctx, page = open_present(browser, f"{server.url}{path}?present=1")
    name = path.strip("/") or "home"
    try:
        page.wait_for_selector(CHART_SELECTOR, timeout=120_000)
        if path not in STATIC_PAGES:  # a run: its counter moves
            assert wait_until(lambda: step_of(page) > 0, timeout=120, interval=0.5)
        m = settled(page)
        page.screenshot(path=str(ARTIFACTS / f"present-{name}.png"))
        assert m["sidebar_on_screen"] < 10, f"the sidebar is open ({m['sidebar_on_screen']} px)"
        assert m["chart_top"] is not None, "no chart was drawn"
        assert m["chart_top"] < CHART_TOP_MAX, f"the first chart starts at {m['chart_top']:.0f} px"
        assert on_screen(m["previous"]) and on_screen(m["next"]), (m["previous"], m["next"])
        assert on_screen(m["say"]), f"the say line is not on the first screen: {m['say']}"
        assert m["say_px"] >= 24, m["say_px"]
        assert m["body_px"] and min(m["body_px"]) >= 20, m["body_px"]
        assert m["tick_px"] and statistics.median(m["tick_px"]) >= 16, m["tick_px"]
    finally:
        ctx.close()


def test_page_down_shows_the_next_section_and_page_up_the_one_before(browser, server):
    ctx, page = open_present(browser, f"{server.url}/?present=1")
    try:
        main = "[data-testid='stMain']"
        assert wait_until(lambda: "1 of 2:" in page.inner_text(main), timeout=90, interval=0.5)
        first = page.inner_text(".bnlab-say")
        page.locator("body").press("PageDown")
        assert wait_until(lambda: "2 of 2:" in page.inner_text(main), timeout=60, interval=0.5), \
            page.inner_text(main)[:400]
        assert wait_until(lambda: page.inner_text(".bnlab-say") != first, timeout=30,
                          interval=0.5)
        m = settled(page)
        assert m["chart_top"] is not None and m["chart_top"] < CHART_TOP_MAX, m["chart_top"]
        page.locator("body").press("PageUp")
        assert wait_until(lambda: "1 of 2:" in page.inner_text(main), timeout=60, interval=0.5)
    finally:
        ctx.close()
