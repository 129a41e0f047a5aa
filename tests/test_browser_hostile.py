"""Hostile text in the URL, in a real browser: on every page the notices show the user's text as
typed, the page's DOM holds no link to the payload's host, no image from it, no KaTeX, no
bold, italic, heading or coloured text made from the payload, and the browser never asks the
payload's host for anything. (AppTest's view of the same messages: tests/test_hostile_text.py.)"""
from __future__ import annotations

import urllib.parse

import pytest

from browser_server import Server, browser_available, launch_browser, our_tracebacks, wait_idle
from conftest import wait_until
from hostile import HOST, MARK, PAYLOADS, as_shown

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if not browser_available():
    pytest.skip("Debian's chromium (/usr/bin/chromium) or playwright is not installed",
                allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

# Page path and the URL keys of settings it shows; the payloads are dealt out over the keys.
PAGES = {
    "Figure_1_live": ["lr", "act", "bin", "pct", "steps", "unit", "layer", "pooled", "init"],
    "Internal_covariate_shift": ["place", "depth", "act", "layer"],
    "Gamma_and_beta": ["affine", "gamma", "beta", "depth", "layer", "width", "seed", "steps",
                       "lr"],
    "Shuffling": ["shuffle", "batch", "lr", "n", "noise"],
    "Gradients_and_learning_rates": ["lrx", "depth", "width", "init", "seed", "lr", "steps"],
    # a stepped lesson checks the settings of the section shown (the first here; every section
    # in tests/test_hostile_text.py)
    "Inside_the_BN_layer": ["n", "d", "f", "eps", "seed"],
    "Does_BN_reduce_ICS": ["setup", "noisy", "noisyplain", "metric", "ics", "lr", "steps"],
}
NAMES = list(PAYLOADS)

RENDERED_JS = """([host, mark]) => {
  const has = el => (el.textContent || '').includes(mark);
  const all = sel => Array.from(document.querySelectorAll(sel));
  return {
    // a link *to* the payload's host (a same-page link may carry the typed query, encoded)
    links: all('a[href]').filter(a => { try { return new URL(a.href).hostname === host; }
                                        catch (e) { return false; } }).length,
    images: all('img').filter(i => (i.src || '').includes(host) || has(i) ||
                                   (i.alt || '').includes(mark)).length,
    katex: all('.katex, .katex-display, math').length,
    emphasis: all('strong, b, em, i, del, h1, h2, h3, h4, h5, h6, li').filter(has).length,
    coloured: all('[data-testid="stMarkdownContainer"] span[style]').filter(has).length,
  };
}"""


@pytest.fixture(scope="module")
def server():
    s = Server(log_name="server-hostile.log")
    yield s
    s.stop()
    assert not our_tracebacks(s.log_text())


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = launch_browser(pw)
        yield b
        b.close()


def visit(browser, server, path: str, query: dict, shown: list[str] = ()) -> dict:
    """Open a page with the query; what it rendered, its text and every request it made. The
    page is read once the `shown` texts are on it (or after 60 s): on a loaded machine a page
    counted as drawn may still be drawing what comes below its title."""
    ctx = browser.new_context(viewport={"width": 1300, "height": 900})
    requests: list[str] = []
    ctx.on("request", lambda r: requests.append(r.url))
    try:
        page = ctx.new_page()
        page.goto(f"{server.url}/{path}?{urllib.parse.urlencode(query)}",
                  wait_until="commit", timeout=180_000)
        wait_idle(page)

        def text_now() -> str:
            return page.locator("[data-testid='stApp']").inner_text().replace("\u200b", "")

        wait_until(lambda: all(t in text_now() for t in shown), timeout=60, interval=0.5)
        rendered = page.evaluate(RENDERED_JS, [HOST, MARK])
        text = text_now()
        exceptions = page.locator("[data-testid='stException']").count()
        page.close()
        return {"rendered": rendered, "text": text, "requests": requests,
                "exceptions": exceptions}
    finally:
        ctx.close()


def assert_nothing_rendered(seen: dict, shown: list[str]) -> None:
    assert seen["exceptions"] == 0
    assert seen["rendered"] == dict(links=0, images=0, katex=0, emphasis=0, coloured=0)
    fetched = [u for u in seen["requests"] if urllib.parse.urlsplit(u).hostname == HOST]
    assert not fetched, f"the browser asked the payload's host for {fetched}"
    for text in shown:
        assert text in seen["text"], f"{text!r} is not on the page as typed"


@pytest.mark.parametrize("payload", NAMES)
def test_the_lesson_part_in_the_url_is_shown_as_text(browser, server, payload):
    text = PAYLOADS[payload]
    shown = [f"part={as_shown(text)}", f"sx={as_shown(text)}"]
    assert_nothing_rendered(visit(browser, server, "Covariate_shift",
                                  {"part": text, "sx": text}, shown), shown)


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_shows_hostile_url_values_as_text(browser, server, path):
    query = {key: PAYLOADS[NAMES[i % len(NAMES)]] for i, key in enumerate(PAGES[path])}
    shown = [f"{k}={as_shown(v)}" for k, v in query.items()]
    assert_nothing_rendered(visit(browser, server, path, query, shown), shown)
