"""Restart to the new run's first chart, per page and per way of drawing the live charts:
the live chart component (drawn in place) against st.plotly_chart (BNLAB_CHARTS=plotly_chart).

    python scripts/bench_restart.py --trials 3 / /Figure_1_live?steps=50000 /Gamma_and_beta

One fresh server per way, both up at once; each page opens in one Chromium tab per way
(1300x900) and is restarted `--trials` times, the ways alternating page by page. The clock
starts at the forced click, once Playwright found the button actionable (see
bench_viewers.restart_to_first_chart), and stops when the counter is back below where it was
and a chart shows other data than before the click. Prints a markdown table (median, min-max)."""
from __future__ import annotations

import argparse
import os
import statistics
import sys

from bench_viewers import restart_to_first_chart  # puts tests/ on the path too
from browser_server import Server, launch_browser, wait_idle  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

WAYS = ("component", "plotly_chart")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", default=["/", "/Figure_1_live?steps=50000",
                                                 "/Covariate_shift", "/Gamma_and_beta"])
    ap.add_argument("--trials", type=int, default=3)
    args = ap.parse_args()
    servers = {way: Server(env={"BNLAB_CHARTS": way}, log_name=f"bench-restart-{way}.log")
               for way in WAYS}
    times: dict = {}
    try:
        with sync_playwright() as pw:
            browser = launch_browser(pw)
            for i, path in enumerate(args.paths):
                for way in (WAYS if i % 2 == 0 else WAYS[::-1]):
                    ctx = browser.new_context(viewport={"width": 1300, "height": 900})
                    ctx.set_default_timeout(120_000)
                    page = ctx.new_page()
                    page.goto(servers[way].url + path, wait_until="commit", timeout=180_000)
                    wait_idle(page)
                    got = times.setdefault((path, way), [])
                    for _ in range(args.trials):
                        got.append(restart_to_first_chart(page))
                        print(f"{way} {path}: {got[-1]} s (load {os.getloadavg()[0]:.1f})",
                              file=sys.stderr, flush=True)
                    ctx.close()
            browser.close()
    finally:
        for server in servers.values():
            server.stop()
    print("| page | " + " | ".join(f"{w}: s, median (min-max)" for w in WAYS) + " |")
    print("|---|" + "---|" * len(WAYS))
    for path in args.paths:
        cells = []
        for way in WAYS:
            ok = [t for t in times[(path, way)] if t is not None]
            missed = len(times[(path, way)]) - len(ok)
            cell = (f"{statistics.median(ok):.2f} ({min(ok):.2f}-{max(ok):.2f})" if ok else "-")
            cells.append(cell + (f", {missed} not within 30 s" if missed else ""))
        print(f"| `{path}` | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
