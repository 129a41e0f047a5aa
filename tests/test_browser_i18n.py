"""Chinese in a real browser: the home page with ?lang=zh (title, controls, the sidebar's page
names), a browser set to Chinese starting in Chinese, the choice kept across pages, and a
screenshot (artifacts/browser/i18n-*.png) to look at for glyph boxes."""
from __future__ import annotations

import pytest

from browser_server import (ARTIFACTS, Server, browser_available, launch_browser, our_tracebacks,
                            wait_idle)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if not browser_available():
    pytest.skip("Debian's chromium (/usr/bin/chromium) or playwright is not installed",
                allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

ZH_TITLE = "BN 实验室：观察批归一化如何起作用"


@pytest.fixture(scope="module")
def server():
    s = Server(log_name="server-i18n.log")
    yield s
    s.stop()


def test_a_servers_first_visitor_by_a_lessons_link_gets_the_apps_navigation():
    """Until app.py has run once in a server, Streamlit runs a page opened by its own URL from
    the pages/ folder alone, with its own English page list ("app", file names); the frame
    puts it under app.py's navigation (bnlab_ui/core.py through_app)."""
    fresh = Server(log_name="server-first-visit.log")
    try:
        with sync_playwright() as pw:
            browser = launch_browser(pw)
            try:
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                page.goto(f"{fresh.url}/Gamma_and_beta?lang=zh", timeout=120_000)
                wait_idle(page)
                nav = page.locator("[data-testid='stSidebarNav']")
                nav.wait_for(timeout=90_000)
                page.wait_for_function(
                    """() => document.querySelector("[data-testid='stSidebarNav']")
                        .innerText.includes('首页')""", timeout=90_000)
                text = nav.inner_text()
                assert "首页" in text and "服务器状态" in text, text
                assert "app" not in text.split() and "View" not in text, text
                assert page.locator("[data-testid='stMain'] h1").first.inner_text() \
                    .startswith("gamma 与 beta")
                assert "/Gamma_and_beta" in page.url
            finally:
                browser.close()
    finally:
        fresh.stop()
    assert not our_tracebacks(fresh.log_text())


def test_home_in_chinese_by_url_and_by_browser_language(server):
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900},
                                       locale="en-US").new_page()
            page.goto(f"{server.url}/?lang=zh", timeout=120_000)
            wait_idle(page)
            page.get_by_role("heading", name=ZH_TITLE).wait_for(timeout=90_000)
            page.get_by_role("button", name="重新开始").first.wait_for(timeout=90_000)
            nav = page.locator("[data-testid='stSidebarNav']").inner_text()
            assert "首页" in nav and "内部协变量偏移" in nav and "梯度与学习率" in nav, nav
            assert "Internal covariate shift" not in nav
            page.screenshot(path=str(ARTIFACTS / "i18n-home-zh.png"), full_page=False)

            # to another page through the sidebar: still Chinese (remembered for the session)
            page.locator("[data-testid='stSidebarNav'] a", has_text="服务器状态").click()
            wait_idle(page)
            assert "lang=zh" in page.url
            page.get_by_role("button", name="暂停").or_(
                page.locator("[data-testid='stSidebarNav']", has_text="首页")).first.wait_for(
                    timeout=90_000)

            zh_browser = browser.new_context(viewport={"width": 1280, "height": 900},
                                             locale="zh-CN").new_page()
            zh_browser.goto(server.url, timeout=120_000)
            wait_idle(zh_browser)
            zh_browser.get_by_role("heading", name=ZH_TITLE).wait_for(timeout=90_000)
            assert "lang=zh" in zh_browser.url

            en = browser.new_context(locale="en-US").new_page()
            en.goto(server.url, timeout=120_000)
            wait_idle(en)
            en.get_by_role("heading", name="BN Lab: watch batch normalization work").wait_for(
                timeout=90_000)
            assert "Internal covariate shift" in en.locator(
                "[data-testid='stSidebarNav']").inner_text()
        finally:
            browser.close()
    assert not our_tracebacks(server.log_text())


# ---------------------------------------------------------------------------- every page in Chinese

# The pages translated so far (path, and URL parameters that keep a run short); add each page as
# it is translated. The server-status page keeps its path when its file is renamed.
TRANSLATED_PAGES = ["/", "/Figure_1_live", "/Covariate_shift",
                    "/Internal_covariate_shift?steps=300&pe=50&ee=50", "/Gamma_and_beta",
                    "/Shuffling?steps=300", "/Gradients_and_learning_rates?steps=200",
                    "/Inside_the_BN_layer", "/Does_BN_reduce_ICS?steps=150&ics=50",
                    "/Which_part_of_BN?steps=300", "/Small_batches?sizes=16,32,64",
                    "/Convolutional_BN?steps=200&pe=50", "/Your_own_data?steps=300",
                    "/Server_status"]
VISIBLE_TEXT_JS = """sel => Array.from(document.querySelectorAll(sel))
    .map(e => e.innerText).join('\\n')"""
# pages whose charts the check must wait for (a run's charts appear once it has trained a little)
CHARTS = {"/", "/Internal_covariate_shift?steps=300&pe=50&ee=50", "/Shuffling?steps=300",
          "/Gradients_and_learning_rates?steps=200", "/Inside_the_BN_layer",
          "/Does_BN_reduce_ICS?steps=150&ics=50",
          "/Which_part_of_BN?steps=300", "/Small_batches?sizes=16,32,64",
          "/Convolutional_BN?steps=200&pe=50", "/Your_own_data?steps=300"}
CHARTS_SHOWN_JS = """n => Array.from(document.querySelectorAll('.js-plotly-plot'))
    .filter(p => p.getBoundingClientRect().height > 0).length >= n"""
MAIN = "[data-testid='stMain']"
SIDEBAR = "[data-testid='stSidebar']"


def page_slug(path: str) -> str:
    name = path.split("?")[0].strip("/")
    return name or "home"


def chinese_page_text(server, path: str, charts: int = 0, shot: str = "") -> str:
    """Open `path` with ?lang=zh at 1280x720, wait for its Chinese title, the sidebar's page
    names and `charts` drawn charts; assert no English sentence is left in the visible text of
    the main area and the sidebar (Streamlit's own header and toolbar are outside both); save
    a screenshot `shot` to look at for missing-glyph boxes. Returns the main area's text."""
    from i18n_check import english_left, settings_texts

    url = f"{server.url}{path}{'&' if '?' in path else '?'}lang=zh"
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 720},
                                       locale="en-US").new_page()
            page.goto(url, timeout=120_000)
            wait_idle(page)
            # the page's own title in Chinese, and the sidebar's page names
            page.locator(f"{MAIN} h1").first.wait_for(timeout=90_000)
            page.wait_for_function(
                "sel => /[\\u4e00-\\u9fff]/.test(document.querySelector(sel).innerText)",
                arg=f"{MAIN} h1", timeout=90_000)
            page.locator("[data-testid='stSidebarNav']", has_text="首页").wait_for(
                timeout=90_000)
            if charts:
                page.wait_for_function(CHARTS_SHOWN_JS, arg=charts, timeout=180_000)
            wait_idle(page)
            assert page.locator("[data-testid='stException']").count() == 0
            main, sidebar = (page.evaluate(VISIBLE_TEXT_JS, sel) for sel in (MAIN, SIDEBAR))
            assert main.strip() and sidebar.strip()
            lines = [line for line in (main + "\n" + sidebar).splitlines() if line.strip()]
            left = english_left(lines, skip=settings_texts())
            assert left == [], left
            if shot:
                page.screenshot(path=str(ARTIFACTS / shot), full_page=False)
        finally:
            browser.close()
    assert not our_tracebacks(server.log_text())
    return main


@pytest.mark.parametrize("path", TRANSLATED_PAGES, ids=page_slug)
def test_page_in_chinese_has_no_english_sentence_left(server, path):
    """The page opened with ?lang=zh at 1280x720: the visible text of the main area and the
    sidebar has no English sentence left, and a screenshot to look at for missing-glyph
    boxes."""
    charts = (3 if "ICS" in path else 1) if path in CHARTS else 0
    chinese_page_text(server, path, charts, shot=f"zh-{page_slug(path)}.png")


# The stepped lesson's later sections (?section=N; the first is the page above): each drawn on
# its own, with its own settings in the sidebar, and its name in the step bar in Chinese.
INSIDE_BN_SECTIONS = range(2, 10)


@pytest.mark.parametrize("section", INSIDE_BN_SECTIONS, ids=lambda n: f"section-{n}")
def test_inside_the_bn_layers_later_sections_in_chinese(server, section):
    import re

    main = chinese_page_text(server, f"/Inside_the_BN_layer?section={section}",
                             shot=f"zh-Inside_the_BN_layer-section-{section}.png")
    assert re.search(rf"(?m)^{section}\. .*[\u4e00-\u9fff]", main), \
        f"step {section}'s name in the step bar is not Chinese"
