"""Classroom benchmark with a real browser: a real `streamlit run app.py` server and N headless
Chromium contexts (Debian's chromium driven by Playwright).

    python scripts/bench_viewers.py [--viewers 20] [--window 10] [--cycles 100] [--out FILE]

Measures (printed as JSON, see docs/benchmarks.md):
- cold start: server process start to a usable home page (first chart drawn);
- per page: time from pressing Restart to the first changed chart, websocket bytes received per
  live refresh, and server time per refresh (the pages' own timing, read off the status page);
- server CPU (user+system seconds per second of wall time, all threads: training included) and
  resident memory with 1, 5 and 20 viewers of one run, and with 5 viewers of 5 different runs;
- resident memory over many Restart/Stop cycles.
Only loopback traffic; every loop is bounded in count and time.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser_server import Server, chart_state, launch_browser, wait_idle  # noqa: E402

PAGES = ["/", "/Figure_1_live", "/Covariate_shift", "/Internal_covariate_shift",
         "/Gamma_and_beta", "/Shuffling", "/Gradients_and_learning_rates", "/Does_BN_reduce_ICS"]
TICKS = os.sysconf("SC_CLK_TCK")


def proc_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def proc_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def click(page, label: str) -> None:
    page.get_by_role("button", name=re.compile(rf"{label}$")).first.click()


def new_viewer(browser, url: str):
    ctx = browser.new_context(viewport={"width": 1300, "height": 900})
    page = ctx.new_page()
    received = {"bytes": 0, "frames": 0}

    def on_ws(ws):
        def frame(payload):
            received["bytes"] += len(payload) if payload else 0
            received["frames"] += 1
        ws.on("framereceived", frame)

    page.on("websocket", on_ws)
    page.goto(url)
    wait_idle(page)
    return ctx, page, received


def refresh_table(browser, server) -> dict:
    """The status page's 'server time per live refresh' table: page -> (refreshes, mean ms)."""
    ctx, page, _ = new_viewer(browser, server.url + "/Server_status")
    try:
        page.wait_for_selector("[data-testid='stMetric']")
        rows = page.evaluate("""() => Array.from(document.querySelectorAll('table tr')).map(
            tr => Array.from(tr.querySelectorAll('td,th')).map(c => c.innerText.trim()))""")
    finally:
        ctx.close()
    out = {}
    for row in rows:
        if len(row) >= 4 and row[-3].replace(",", "").isdigit():
            out[row[-4]] = (int(row[-3].replace(",", "")), float(row[-2]))
    return out


def measure_pages(browser, server, window: float) -> dict:
    results = {}
    for path in PAGES:
        before = refresh_table(browser, server)
        ctx, page, ws = new_viewer(browser, server.url + path)
        try:
            state = chart_state(page)
            t0 = time.perf_counter()
            click(page, "Restart")
            first = None
            while time.perf_counter() - t0 < 20:
                if chart_state(page) != state:
                    first = time.perf_counter() - t0
                    break
                time.sleep(0.02)
            page.wait_for_timeout(500)  # let the frames of the restart be delivered
            ws["bytes"], ws["frames"] = 0, 0
            # wait_for_timeout, not time.sleep: Playwright delivers websocket events only
            # while one of its calls is running
            page.wait_for_timeout(window * 1000)
            got = dict(ws)
        finally:
            ctx.close()
        after = refresh_table(browser, server)
        delta = {k: (after[k][0] - before.get(k, (0, 0))[0], after[k][1]) for k in after}
        page_rows = [v for k, v in delta.items() if v[0] > 0]
        refreshes = sum(v[0] for v in page_rows) or 1
        results[path] = {
            "start_to_first_live_chart_s": round(first, 3) if first is not None else None,
            "ws_bytes_per_refresh": round(got["bytes"] / refreshes),
            "refreshes_in_window": refreshes,
            "server_ms_per_refresh_mean": max((v[1] for v in page_rows), default=None),
        }
    return results


def cpu_window(server, seconds: float) -> dict:
    c0, t0 = proc_cpu_seconds(server.proc.pid), time.perf_counter()
    time.sleep(seconds)
    c1, t1 = proc_cpu_seconds(server.proc.pid), time.perf_counter()
    return {"cpu_cores": round((c1 - c0) / (t1 - t0), 3),
            "rss_mib": round(proc_rss_mib(server.proc.pid), 1)}


def measure_viewers(browser, counts, window: float, page_path: str) -> dict:
    out = {}
    for n in counts:
        server = Server(log_name=f"bench-viewers-{n}.log")
        try:
            viewers = [new_viewer(browser, server.url + page_path) for _ in range(n)]
            click(viewers[0][1], "Restart")
            time.sleep(2.0)
            out[f"{n}_viewers_one_run"] = cpu_window(server, window)
            for ctx, _, _ in viewers:
                ctx.close()
        finally:
            server.stop()
    server = Server(log_name="bench-viewers-5runs.log")
    try:
        viewers = [new_viewer(browser, f"{server.url}{page_path}?seed={i + 1}") for i in range(5)]
        time.sleep(2.0)
        out["5_viewers_5_runs"] = cpu_window(server, window)
        for ctx, _, _ in viewers:
            ctx.close()
    finally:
        server.stop()
    one = out.get("1_viewers_one_run", {}).get("cpu_cores")
    many = out.get(f"{max(counts)}_viewers_one_run", {}).get("cpu_cores")
    if one:
        out[f"cpu_ratio_{max(counts)}_over_1"] = round(many / one, 3)
    return out


def measure_cycles(browser, cycles: int) -> dict:
    server = Server(log_name="bench-cycles.log")
    samples = []
    try:
        ctx, page, _ = new_viewer(browser, server.url + "/")
        for i in range(cycles):
            click(page, "Restart")
            page.wait_for_selector("button:has-text('Stop'):not([disabled])", timeout=30_000)
            time.sleep(0.2)
            click(page, "Stop")
            page.wait_for_selector("button:has-text('Start'):not([disabled])", timeout=30_000)
            if i % 10 == 0 or i == cycles - 1:
                samples.append((i + 1, round(proc_rss_mib(server.proc.pid), 1)))
        ctx.close()
    finally:
        server.stop()
    return {"cycles": cycles, "rss_mib_by_cycle": samples,
            "rss_growth_mib_after_first_10": round(samples[-1][1] - samples[1][1], 1)
            if len(samples) > 2 else None}


def cold_start(browser) -> float:
    t0 = time.perf_counter()
    server = Server(log_name="bench-cold.log")
    try:
        ctx, page, _ = new_viewer(browser, server.url + "/")
        page.wait_for_selector(".js-plotly-plot", timeout=30_000)
        elapsed = time.perf_counter() - t0
        ctx.close()
    finally:
        server.stop()
    return round(elapsed, 2)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--viewers", type=int, default=20)
    ap.add_argument("--window", type=float, default=10.0)
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--page", default="/Figure_1_live", help="page for the viewer counts")
    ap.add_argument("--only", choices=("pages", "viewers", "cycles"), default=None,
                    help="run one part (and the cold start) only")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    result = {"viewers_max": args.viewers, "window_s": args.window}

    def save():
        if args.out:
            args.out.write_text(json.dumps(result, indent=2))
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        result["cold_start_to_home_chart_s"] = cold_start(browser)
        save()
        if args.only in (None, "pages"):
            server = Server(log_name="bench-pages.log")
            try:
                result["pages"] = measure_pages(browser, server, args.window)
            finally:
                server.stop()
            save()
        if args.only in (None, "viewers"):
            counts = sorted({1, min(5, args.viewers), args.viewers})
            result["viewers"] = measure_viewers(browser, counts, args.window, args.page)
            save()
        if args.only in (None, "cycles"):
            result["start_stop"] = measure_cycles(browser, args.cycles)
        browser.close()
    save()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
