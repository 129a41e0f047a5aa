"""The lesson frame in a real browser (issue 10): at a projector's 1280x720 the main chart is on
the first screen; the control bar is live (Pause enabled while training); Step takes exactly 1
and 10 steps; Stop freezes every chart at once; the scrubber shows an earlier step; and no
request leaves the server's own address. Waits are on conditions; where the issue names a
time bound (Stop within 1 s), the bound is scaled by the machine's load and the measured time is
printed."""
from __future__ import annotations

import os
import re
import time

import pytest

from browser_server import (ARTIFACTS, CHART_SELECTOR, LoadMeter, Server, browser_available,
                            chart_state, launch_browser, our_tracebacks, wait_idle)
from conftest import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if not browser_available():
    pytest.skip("Debian's chromium (/usr/bin/chromium) or playwright is not installed",
                allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

STEP = re.compile(r"step ([\d,]+) of ([\d,]+)")
LESSON_PAGES = ["/", "/Figure_1_live", "/Covariate_shift", "/Internal_covariate_shift",
                "/Gamma_and_beta", "/Shuffling", "/Gradients_and_learning_rates",
                "/Inside_the_BN_layer", "/Does_BN_reduce_ICS", "/Which_part_of_BN", "/Small_batches",
                "/Convolutional_BN", "/Your_own_data"]
# lesson pages with no run (computed on the spot): no step counter and no control bar
STATIC_PAGES = {"/Inside_the_BN_layer"}


@pytest.fixture(scope="module")
def server():
    srv = Server(log_name="server-lesson.log")
    yield srv
    srv.stop()
    assert not our_tracebacks(srv.log_text()), "the server logged a traceback in BN Lab's code"


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = launch_browser(pw)
        yield b
        b.close()


def open_page(browser, url: str, width: int = 1280, height: int = 720, foreign: list | None = None):
    ctx = browser.new_context(viewport={"width": width, "height": height})
    if foreign is not None:
        def route(r):
            host = re.match(r"^[a-z]+://([^/:]+)", r.request.url)
            if host and host.group(1) not in ("127.0.0.1", "localhost"):
                foreign.append(r.request.url)
                return r.abort()
            return r.continue_()
        ctx.route("**/*", route)
    ctx.set_default_timeout(120_000)  # a loaded machine serves pages slowly
    page = ctx.new_page()
    page.goto(url, wait_until="commit", timeout=180_000)
    wait_idle(page)
    return ctx, page


def step_of(page) -> int:
    m = STEP.search(page.inner_text("[data-testid='stMain']"))
    return int(m.group(1).replace(",", "")) if m else -1


def button(page, label: str):
    return page.get_by_role("button", name=re.compile(rf"^\W*{re.escape(label)}\b", re.I)).first


def training(page) -> bool:
    return "· training" in page.inner_text("[data-testid='stMain']")


def ensure_training(page, past_step: int = 0, before_step: int | None = None) -> bool:
    """Press Play if an earlier test left the shared run paused or stopped (Restart if it is
    past `before_step`, too near its end for the test); wait until it trains past
    `past_step`."""
    restarted = [-1e9]

    def restart():
        if time.monotonic() - restarted[0] > 15:  # once, unless the page never showed it
            button(page, "Restart").click()
            restarted[0] = time.monotonic()

    def ok():
        text = page.inner_text("[data-testid='stMain']")
        step = step_of(page)
        if ("· paused" in text or "· stopped" in text or "· finished" in text) and \
                button(page, "Play").count():
            if "· paused" in text and (before_step is None or step < before_step):
                button(page, "Play").click()
            else:
                restart()
        elif before_step is not None and step >= before_step:
            restart()
        return training(page) and past_step < step_of(page) < (before_step or 1 << 60) \
            and "watching" not in text
    return wait_until(ok, timeout=120, interval=0.5)


@pytest.mark.parametrize("path", LESSON_PAGES)
def test_the_main_chart_is_on_the_first_screen_at_1280x720_and_nothing_leaves_the_server(browser, server, path):
    foreign: list = []
    ctx, page = open_page(browser, server.url + path, foreign=foreign)
    try:
        page.wait_for_selector(CHART_SELECTOR, timeout=120_000)
        if path not in STATIC_PAGES:
            assert wait_until(lambda: step_of(page) > 0, timeout=120, interval=0.3)
        # Sampled until the first section's chart is drawn: while the live fragment redraws on a
        # loaded machine, a chart can be absent for a moment and the highest one on screen is
        # then a lower section's.
        tops = []
        wait_until(lambda: tops.append(first_chart_top(page)) or
                   (tops[-1] is not None and tops[-1] < 720 - 120), timeout=60, interval=0.3)
        seen = [t for t in tops if t is not None]
        assert seen, "no chart was drawn"
        top = min(seen)
        page.screenshot(path=str(ARTIFACTS / f"first-screen{path.replace('/', '_') or '_home'}.png"))
        assert top < 720 - 120, f"the first chart starts at {top:.0f} px"
        controls = r"Next" if path in STATIC_PAGES else r"Pause|Play"  # step bar / control bar
        assert page.get_by_role("button", name=re.compile(controls)).count() >= 1
    finally:
        ctx.close()
    assert foreign == [], f"requests to other hosts: {foreign[:5]}"


def test_pause_is_live_step_takes_exactly_one_and_ten_steps(browser, server):
    ctx, page = open_page(browser, server.url + "/")
    try:
        assert ensure_training(page, before_step=2000)
        assert button(page, "Pause").is_enabled()  # drawn in the run's state, while it trains
        button(page, "Pause").click()
        assert wait_until(lambda: "· paused" in page.inner_text("[data-testid='stMain']"),
                          timeout=20, interval=0.2)
        held = settled_step(page)  # the steps taken before the trainer heard the click
        button(page, "Step").click()
        assert wait_until(lambda: step_of(page) != held, timeout=20, interval=0.2)
        assert step_of(page) == held + 1
        button(page, "10 steps").click()
        assert wait_until(lambda: step_of(page) != held + 1, timeout=20, interval=0.2)
        assert wait_until(lambda: step_of(page) == held + 11, timeout=10, interval=0.2), step_of(page)
        assert "· paused" in page.inner_text("[data-testid='stMain']")
    finally:
        ctx.close()


def test_stop_freezes_every_chart_at_once(browser, server, capsys):
    ctx, page = open_page(browser, server.url + "/")
    try:
        # well before the run's end (3,000 steps at 150/s): Stop must find it training
        assert ensure_training(page, 40, before_step=1500)
        with LoadMeter() as load:
            button(page, "Stop").click()
            clicked = time.monotonic()
            stopped = wait_until(lambda: "· stopped" in page.inner_text("[data-testid='stMain']"),
                                 timeout=20, interval=0.05)
            assert stopped, page.inner_text("[data-testid='stMain']")[:600]
            wait_idle(page)
            frozen_after = time.monotonic() - clicked
        state, step = chart_state(page), step_of(page)
        changed = wait_until(lambda: chart_state(page) != state or step_of(page) != step,
                             timeout=3.0, interval=0.25)
        assert not changed, ("the charts still change after Stop", step, step_of(page),
                             [i for i, (a, b) in enumerate(zip(state, chart_state(page))) if a != b],
                             len(state), len(chart_state(page)))
        with capsys.disabled():
            print(f"\n[stop] charts frozen {frozen_after:.2f} s after the click "
                  f"(load factor {load.factor():.1f})")
        assert frozen_after <= 1.0 * load.factor() + 0.5
    finally:
        ctx.close()


def test_the_scrubber_shows_an_earlier_steps_boundary(browser, server):
    ctx, page = open_page(browser, server.url + "/")
    try:
        assert ensure_training(page, 200, before_step=2000)
        button(page, "Pause").click()
        settled_step(page)
        wait_idle(page)

        def back_to_zero():
            slider = page.get_by_role("slider").last
            slider.focus()
            page.keyboard.press("Home")  # back to step 0
            return wait_until(lambda: "at step 0" in " ".join(chart_titles(page)), timeout=3,
                              interval=0.2)

        shown = wait_until(back_to_zero, timeout=30, interval=0.5)
        page.screenshot(path=str(ARTIFACTS / "scrubber.png"))
        assert shown, chart_titles(page)
        assert "(run at" in page.inner_text("[data-testid='stMain']")
    finally:
        ctx.close()


def first_chart_top(page) -> float | None:
    """The top edge of the highest chart on screen (hidden, stale elements ignored)."""
    # read in one step in the page: a chart removed by a rerun between listing the charts and
    # measuring one would otherwise stall the measurement for the locator's whole timeout
    tops = page.evaluate("""s => Array.from(document.querySelectorAll(s))
        .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
        .map(e => e.getBoundingClientRect())
        .filter(r => r.height > 50).map(r => r.top)""", CHART_SELECTOR)
    return min(tops) if tops else None


def settled_step(page, quiet: float = 1.5) -> int:
    """The step once it has stopped changing for `quiet` seconds."""
    while True:
        step = step_of(page)
        if not wait_until(lambda: step_of(page) != step, timeout=quiet, interval=0.2):
            return step


def chart_titles(page) -> list[str]:
    return page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot'))
        .flatMap(p => [(p.layout.title || {}).text || ''].concat(
            (p.layout.annotations || []).map(a => a.text || '')))""")
