"""A class on one server, in a real browser: many viewers of one run, a run nobody watches
(paused, resumed by the next look), a server keeping as many runs as it may, and junk in the URL."""
from __future__ import annotations

import re
import sys

import pytest
from browser_server import (
    ROOT,
    Server,
    browser_available,
    launch_browser,
    our_tracebacks,
    slow_down,
    wait_idle,
)
from conftest import wait_until

sys.path.insert(0, str(ROOT / "scripts"))
from procstats import children  # noqa: E402 (the benchmarks' /proc helpers)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if not browser_available():
    pytest.skip("Debian's chromium (/usr/bin/chromium) or playwright is not installed",
                allow_module_level=True)

from playwright.sync_api import Error as PlaywrightError, sync_playwright

VIEWERS = 4  # the benchmark (scripts/bench_viewers.py) uses 20


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = launch_browser(pw)
        yield b
        b.close()


def _open(browser, url):
    ctx = browser.new_context(viewport={"width": 1300, "height": 900})
    ctx.set_default_timeout(120_000)  # a loaded machine serves pages slowly
    page = ctx.new_page()
    page.goto(url, wait_until="commit", timeout=180_000)
    wait_idle(page)
    return ctx, page


STEP = re.compile(r"step ([\d,]+) of ([\d,]+)")


def _main(page) -> str:
    return page.inner_text("[data-testid='stMain']")


def _step(page) -> int:
    m = STEP.search(_main(page))
    return int(m.group(1).replace(",", "")) if m else -1


def test_many_viewers_share_one_run_and_release_it(browser):
    server = Server(log_name="server-viewers.log")
    try:
        url = server.url + "/"
        viewers = [_open(browser, url)]
        # the shared run at 10 steps/s: its 3,000 steps outlast the test however slow the machine
        slow_down(viewers[0][1])
        viewers += [_open(browser, url) for _ in range(VIEWERS - 1)]
        # every viewer sees the run advance, with no click of its own
        for _, page in viewers:
            seen = _step(page)
            assert wait_until(lambda p=page, s=seen: _step(p) > max(s, 0), timeout=120,
                              interval=0.5), _main(page)[:500]
        assert server.log_text().count("new run") == 1, "viewers with equal settings got more than one run"
        first = viewers[0][1]  # the control bar counts them
        assert wait_until(lambda: f"{VIEWERS} watching" in _main(first), timeout=60,
                          interval=0.5), _main(first)[:500]
        for ctx, _ in viewers:
            ctx.close()
        # nobody watches any more: the run pauses at once (it holds no CPU) and is kept
        assert wait_until(lambda: "run nobody watches, pausing" in server.log_text(),
                          timeout=60, interval=0.5), server.log_text()[-2000:]
        ctx, page = _open(browser, url)
        try:  # the next look finds the same run and resumes it where it was
            held = _step(page)
            assert wait_until(lambda: _step(page) > held > 0, timeout=120, interval=0.5), \
                _main(page)[:500]
            assert server.log_text().count("new run") == 1
        finally:
            ctx.close()
    finally:
        server.stop()
    assert not our_tracebacks(server.log_text())


def test_a_full_server_says_so_and_makes_room_when_a_run_is_left(browser):
    server = Server(env={"BNLAB_MAX_RUNS": "1"}, log_name="server-full.log")
    try:
        ctx1, home = _open(browser, server.url + "/")
        assert wait_until(lambda: _step(home) > 0, timeout=120, interval=0.5)
        slow_down(home)  # it must not finish before it is left (a finished run is not paused)
        ctx2, other = _open(browser, server.url + "/Covariate_shift")
        assert wait_until(lambda: "No room for another run" in _main(other), timeout=60,
                          interval=0.5), _main(other)[:500]
        assert other.locator("[data-testid='stException']").count() == 0
        assert _step(home) >= 0 and "No room" not in _main(home)  # the first run goes on
        ctx1.close()
        # its only viewer left: the kept run may be evicted for a new one
        assert wait_until(lambda: "run nobody watches, pausing" in server.log_text(),
                          timeout=60, interval=0.5)
        other.reload()
        wait_idle(other, timeout_ms=120_000)
        assert wait_until(lambda: _step(other) > 0, timeout=120, interval=0.5), _main(other)[:500]
        assert "evicting" in server.log_text()
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


def _time_origin(page):
    """When the page in the tab was loaded, or None while it is being replaced (a reload under
    way: the old page's context is gone and the new one's not there yet)."""
    try:
        return page.evaluate("() => performance.timeOrigin")
    except PlaywrightError:
        return None


def test_a_page_emptied_by_streamlits_race_reloads_itself_once(browser):
    """The error Streamlit's frontend throws when its page-change race empties a page ("Bad
    delta path index", bnlab_ui/streamlit_fixes.py) makes the page reload itself, once: a
    second one within 15 s does not (it can never loop)."""
    server = Server(log_name="server-mend.log")
    try:
        ctx, page = _open(browser, server.url + "/Shuffling")
        try:
            said = []
            page.on("console", lambda m: said.append(m.text))
            loaded = _time_origin(page)
            throw = ("() => setTimeout(() => { throw new Error("
                     "'Bad delta path index 4 (should be between [0, 0])'); }, 0)")
            page.evaluate(throw)
            assert wait_until(lambda: _time_origin(page) not in (None, loaded),
                              timeout=60, interval=0.5), said
            assert any("reloading it" in line for line in said)
            wait_idle(page)
            assert "Shuffling" in _main(page)  # the same page, drawn again
            again = _time_origin(page)
            page.evaluate(throw)
            assert not wait_until(lambda: _time_origin(page) != again,
                                  timeout=3.0, interval=0.25)  # the reload (300 ms) does not come
        finally:
            ctx.close()
    finally:
        server.stop()


def _maps_torch(pid: int) -> bool:
    """Whether the process has torch's library loaded."""
    try:
        with open(f"/proc/{pid}/maps") as maps:
            return any("libtorch" in line for line in maps)
    except OSError:  # the process is gone
        return False


def test_the_web_server_draws_live_runs_without_loading_torch(browser):
    """The home page and Figure 1 train live (in the worker processes, which load torch) while
    the web server, which only draws their records, does not load torch for them (1-2 s of its
    first page; tests/test_web_imports.py checks each page's imports). A real server imports it
    in the background a few seconds after its first page (bnlab_ui.core.warm_up), switched off
    here; the next test checks that it does."""
    server = Server(env={"BNLAB_WARM_UP": "0"}, log_name="server-torchless.log")
    try:
        for path in ("/", "/Figure_1_live"):
            ctx, page = _open(browser, server.url + path)
            try:
                assert wait_until(lambda: _step(page) > 0, timeout=120, interval=0.5), _main(page)
                first = _step(page)
                assert wait_until(lambda: _step(page) > first, timeout=120, interval=0.5)
            finally:
                ctx.close()
        assert not _maps_torch(server.proc.pid)
        assert any(_maps_torch(kid) for kid in children(server.proc.pid))  # the workers do
        assert not our_tracebacks(server.log_text())
    finally:
        server.stop()


def test_a_server_warms_up_torch_in_the_background_after_its_first_page(browser):
    """So that a class following the teacher to a page that replays nets (Covariate shift,
    Shuffling) does not wait for torch's import there."""
    server = Server(log_name="server-warm-up.log")
    try:
        ctx, page = _open(browser, server.url + "/")
        try:
            assert wait_until(lambda: _step(page) > 0, timeout=120, interval=0.5), _main(page)
            assert wait_until(lambda: _maps_torch(server.proc.pid), timeout=120, interval=0.5)
            assert wait_until(lambda: "imported the net-replaying pages' modules" in
                              server.log_text(), timeout=120, interval=0.5)
        finally:
            ctx.close()
        assert not our_tracebacks(server.log_text())
    finally:
        server.stop()
