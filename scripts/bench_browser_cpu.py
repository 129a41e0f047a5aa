"""What a page costs the browser: the renderer's main-thread busy time per second of one
Chromium tab on each page, read from the DevTools Performance metrics over a window.

    python scripts/bench_browser_cpu.py / /Shuffling /Figure_1_live --window 15
    python scripts/bench_browser_cpu.py / /Gamma_and_beta --charts component,plotly_chart --rounds 2

Each page opens in its own tab at 1280x720 on a fresh BN Lab server, settles for 8 s, then is
measured for --window seconds. `--charts` compares the ways of drawing the live charts
(bnlab_ui.charts' component, redrawn in place, against st.plotly_chart: BNLAB_CHARTS), a fresh
server for each, alternating over `--rounds`; "chart nodes made" counts the Plotly chart
elements the page made anew in the window (a redraw in place makes none). "task" is everything
the tab's main thread did (script, style, layout, paint and the rest); a student's laptop pays
it, and in the browser tests one machine pays it for every tab."""
import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from browser_server import Server, launch_browser, wait_idle  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=["/"])
    parser.add_argument("--window", type=float, default=15.0)
    parser.add_argument("--charts", default="component",
                        help="comma-separated: component, plotly_chart")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    print("| charts | page | task ms/s | script ms/s | style ms/s | layout ms/s | DOM nodes | "
          "chart nodes made | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for _ in range(args.rounds):
        for mode in args.charts.split(","):
            measure(args, mode)


# Chart nodes made: plotly.js marks its element .js-plotly-plot once it has drawn there, so a
# sampler every 100 ms tags each chart element it has not seen (one made and dropped again
# within 100 ms would be missed: a live chart lives a refresh, about a second).
COUNT_CHARTS = """() => { window.__made = 0;
    const seen = new WeakSet(document.querySelectorAll('.js-plotly-plot'));
    setInterval(() => { for (const e of document.querySelectorAll('.js-plotly-plot'))
        if (!seen.has(e)) { seen.add(e); window.__made += 1; } }, 100); }"""


def measure(args, mode: str) -> None:
    srv = Server(env={"BNLAB_CHARTS": mode}, log_name=f"bench-browser-cpu-{mode}.log")
    try:
        with sync_playwright() as pw:
            browser = launch_browser(pw)
            for path in args.paths:
                ctx = browser.new_context(viewport={"width": 1280, "height": 720})
                page = ctx.new_page()
                page.goto(srv.url + path, wait_until="commit")
                wait_idle(page)
                time.sleep(8)  # the page's first run and first charts are not the steady state
                cdp = ctx.new_cdp_session(page)
                cdp.send("Performance.enable")

                def metrics():
                    return {m["name"]: m["value"]
                            for m in cdp.send("Performance.getMetrics")["metrics"]}

                page.evaluate(COUNT_CHARTS)
                a, t0 = metrics(), time.time()
                time.sleep(args.window)
                z, dt = metrics(), time.time() - t0
                made = page.evaluate("() => window.__made")

                def rate(name):
                    return 1000 * (z[name] - a[name]) / dt

                print(f"| {mode} | `{path}` | {rate('TaskDuration'):.0f} | "
                      f"{rate('ScriptDuration'):.0f} | {rate('RecalcStyleDuration'):.0f} | "
                      f"{rate('LayoutDuration'):.0f} | {z['Nodes']:.0f} | {made} | "
                      f"{os.getloadavg()[0]:.1f} |", flush=True)
                ctx.close()
            browser.close()
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
