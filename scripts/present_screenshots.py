"""Screenshot the projector view (`?present=1`) of the home page and every lesson at 1280x720,
as a class sees it on the first screen, in headless Chromium against a real
`streamlit run app.py` server (started and stopped here):

    python scripts/present_screenshots.py [--port 8641] [--out docs/screenshots] [PAGE...]

PAGE is a URL path ("/", "/Figure_1_live"); by default the home page and every lesson in
pages/ (the Server status page is not a lesson). Each file is
<out>/present-<Page>-1280x720.png. Before each shot the script waits on conditions, never on
a fixed time alone: the page's title drawn, a Plotly chart drawn with data, and on a page with
a run its step counter moving, then its run trained far enough to show something (READY;
at most READY_TIMEOUT seconds, or the run finished). It prints what it measured on each page
(sidebar, font sizes, where the first chart and Previous/Next are) so the view can be judged
without opening the images, too.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "tests")]
from browser_server import wait_idle as settle  # noqa: E402  (the tests' own wait)
from screenshot import CHROMIUM, CHROMIUM_ARGS, start_server  # noqa: E402

WIDTH, HEIGHT = 1280, 720
# a Plotly chart on screen with its traces drawn (and its data in them): every chart shown is
# painted (plotted, its ticks drawn, not kept hidden or faded while Streamlit redraws it)
CHART_DRAWN = """() => {
    const plots = Array.from(document.querySelectorAll('.js-plotly-plot'))
        .filter(p => p.getBoundingClientRect().height > 50 && p.getBoundingClientRect().top < 720);
    const painted = p => p.checkVisibility({opacityProperty: true, visibilityProperty: true}) &&
        !!p.querySelector('.main-svg') && (p.data || []).length > 0 && !!p._fullLayout &&
        !!p.querySelector('.xtick, .ytick, .annotation');
    return plots.length > 0 && plots.every(painted);
}"""
STEP = re.compile(r"step ([\d,]+) of ([\d,]+)")
# URL keys a page is shot with (settings in the URL, as a teacher's link carries them)
QUERY: dict[str, str] = {}
# How far a page's run gets before its shot (its charts then show what the lesson is about:
# the first 300 steps, where the nets differ most), unless it finishes first; a regular
# expression instead is waited for in the page's text (Small batches: runs of the sweep done).
MIN_STEP = 300
READY: dict[str, str] = {"/Figure_1_live": "600", "/Convolutional_BN": "400",
                         "/Which_part_of_BN": "400", "/Gradients_and_learning_rates": "400",
                         "/Small_batches": r"\b[1-9]\d* of \d+ runs finished"}
READY_TIMEOUT = 300  # seconds; on a loaded machine a run may train at 5 steps/s
MEASURE = """() => {
    const box = e => { if (!e) return null; const r = e.getBoundingClientRect();
                       return {top: Math.round(r.top), bottom: Math.round(r.bottom)}; };
    const px = sel => { const e = document.querySelector(sel);
                        return e ? parseFloat(getComputedStyle(e).fontSize) : null; };
    const charts = Array.from(document.querySelectorAll("[data-testid='stPlotlyChart'], .bnlab-chart"))
        .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
        .map(e => e.getBoundingClientRect()).filter(r => r.height > 50);
    const side = document.querySelector("[data-testid='stSidebar']");
    const buttons = Array.from(document.querySelectorAll("[data-testid='stMain'] button"));
    const named = re => buttons.filter(b => re.test(b.innerText)).map(box)[0] || null;
    const ticks = Array.from(document.querySelectorAll(
            '.js-plotly-plot .xtick text, .js-plotly-plot .ytick text'))
        .map(t => parseFloat(t.style.fontSize || getComputedStyle(t).fontSize));
    const titles = Array.from(document.querySelectorAll('.js-plotly-plot .gtitle, ' +
                                                        '.js-plotly-plot .annotation-text'))
        .map(t => parseFloat(t.style.fontSize || getComputedStyle(t).fontSize));
    return {
        sidebar: side ? side.getAttribute('aria-expanded') : null,
        sidebar_width: side ? Math.round(side.getBoundingClientRect().width) : 0,
        h1: px("[data-testid='stMain'] h1"),
        body: (() => { const p = Array.from(document.querySelectorAll(
                   "[data-testid='stMain'] [data-testid='stMarkdownContainer'] p"))
                   .filter(e => !e.closest('button') && !e.closest('h1'))
                   .map(e => parseFloat(getComputedStyle(e).fontSize));
               return p.length ? Math.min(...p) : null; })(),
        say: px(".bnlab-say"),
        tick: ticks.length ? Math.min(...ticks) : null,
        chart_title: titles.length ? Math.min(...titles) : null,
        charts: charts.map(r => [Math.round(r.top), Math.round(r.bottom)]),
        previous: named(/Previous/), next: named(/Next/),
        scroll: (() => { const m = document.querySelector("[data-testid='stMain']");
                         return m ? m.scrollHeight : null; })(),
        exceptions: document.querySelectorAll("[data-testid='stException']").length,
    };
}"""


def lesson_paths() -> list[str]:
    """"/" and each lesson's URL path (the file name without its number and .py), in order."""
    files = []
    for f in (ROOT / "pages").glob("*.py"):
        m = re.match(r"(\d+)_(.+)\.py$", f.name)
        if m and int(m.group(1)) < 99:  # 99_Server_status is the teacher's, not a lesson
            files.append((int(m.group(1)), m.group(2)))
    return ["/"] + [f"/{name}" for _, name in sorted(files)]


def main_text(page) -> str:
    try:
        return page.inner_text("[data-testid='stMain']", timeout=10_000)
    except Exception:  # the main block is being redrawn: nothing to read this moment
        return ""


def step_of(page) -> int:
    m = STEP.search(main_text(page))
    return int(m.group(1).replace(",", "")) if m else -1


def wait_until(check, timeout: float, interval: float = 0.3) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return False


def shoot(browser, base: str, path: str, out: Path) -> dict:
    query = "present=1" + (f"&{QUERY[path]}" if path in QUERY else "")
    ctx = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    ctx.set_default_timeout(120_000)
    page = ctx.new_page()
    try:
        page.goto(f"{base}{path}?{query}", wait_until="commit", timeout=180_000)
        settle(page)
        page.wait_for_selector("[data-testid='stMain'] h1", state="visible")
        page.wait_for_function(CHART_DRAWN, timeout=180_000, polling=300)
        moving = ready = None
        if STEP.search(main_text(page)):  # a page with a run: its counter moves, or it is done
            first = step_of(page)
            moving = wait_until(lambda: step_of(page) > max(first, 0) or
                                "· finished" in main_text(page), timeout=120)
            want = READY.get(path, str(MIN_STEP))
            if want.isdigit():
                ready = wait_until(lambda: step_of(page) >= int(want) or
                                   "· finished" in main_text(page), timeout=READY_TIMEOUT, interval=1)
            else:
                ready = wait_until(lambda: re.search(want, main_text(page)) is not None,
                                   timeout=READY_TIMEOUT, interval=1)
        settle(page)
        name = path.strip("/") or "home"
        file = out / f"present-{name}-{WIDTH}x{HEIGHT}.png"
        for _ in range(10):  # a chart Streamlit redrew during the shot: shoot again
            page.wait_for_function(CHART_DRAWN, timeout=60_000, polling=300)
            page.screenshot(path=str(file))
            if page.evaluate(CHART_DRAWN):
                break
        info = page.evaluate(MEASURE)
        info.update(file=str(file.relative_to(ROOT) if file.is_relative_to(ROOT) else file),
                    step=step_of(page), moving=moving, ready=ready)
        return info
    finally:
        ctx.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("pages", nargs="*", help="URL paths; default: home and every lesson")
    ap.add_argument("--port", type=int, default=8641)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    server = start_server(args.port)
    failed = 0
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for path in args.pages or lesson_paths():
                try:
                    info = shoot(browser, f"http://127.0.0.1:{args.port}", path, args.out)
                    print(path, json.dumps(info), flush=True)
                except Exception as exc:  # one page failing still shoots the others
                    failed += 1
                    print(path, "FAILED", type(exc).__name__, str(exc)[:300], flush=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
