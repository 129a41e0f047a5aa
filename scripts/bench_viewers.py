"""Classroom benchmark with a real browser: a real `streamlit run app.py` server (training in its
worker processes) and N headless Chromium contexts (Debian's chromium driven by Playwright).

    python scripts/bench_viewers.py [--viewers 1,10,30,1] [--window 15] [--page-window 8]
                                    [--only cold|pages|viewers] [--backend workers|ray] [--out FILE]

`--backend ray` runs the server with BNLAB_BACKEND=ray on the cluster at RAY_ADDRESS (start one
first: `ray start --head`); the training processes counted are then the cluster's run actors.

Measures (printed as JSON, see docs/benchmarks.md, "The classroom on the new engine"):
- cold start: server process start to the home page's first chart, and to its first *live* chart
  (the counter says "training" at a step > 0 and the shipped recording's caption is gone);
- a Figure 1 run with settings nobody has run yet: opening its page to its first live chart;
- per page: Restart to the first chart of the new run; websocket bytes received per live refresh;
  server time per refresh (the frame's own REFRESH_TIMES, read off the Server status page, as the
  change over the same window in which the bytes are counted);
- one Figure 1 run (200,000 steps, so it does not finish) watched by 1, 10 and 30 viewers, then by
  1 again: its speed from the page's step counter over a window, the web server's CPU and memory
  and the training processes' CPU, and each count's ratio to the first 1-viewer speed.
Only loopback traffic; every wait has a timeout, every loop a bound.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser_server import Server, chart_state, launch_browser, wait_idle  # noqa: E402
from procstats import (children, proc_cpu_seconds, proc_rss_mib, proc_threads,  # noqa: E402
                       ray_actor_pids)

PAGES = ["/", "/Figure_1_live?steps=50000", "/Covariate_shift", "/Internal_covariate_shift",
         "/Gamma_and_beta"]
FIGURE1_STEPS = 200_000  # a run that outlasts opening 30 viewers however slow the machine
FIGURE1 = f"/Figure_1_live?steps={FIGURE1_STEPS}"
STEP = re.compile(r"step ([\d,]+) of ([\d,]+)")
RATE = re.compile(r"([\d,]+) steps/s")
TRAINING = re.compile(r"step [\d,]+ of [\d,]+ · training")  # the control bar's counter
RECORDING = "Until this run has records of its own"
MAIN = "[data-testid='stMain']"


BACKEND_ENV: dict[str, str] = {}  # the server's backend, from --backend


def training_pids(server) -> list[int]:
    """The processes that train the server's runs: its worker processes, or Ray's run actors."""
    return ray_actor_pids() if BACKEND_ENV.get("BNLAB_BACKEND") == "ray" else children(server.proc.pid)


def main_text(page) -> str:
    return page.inner_text(MAIN)


def step_of(page) -> int:
    m = STEP.search(main_text(page))
    return int(m.group(1).replace(",", "")) if m else -1


def wait_for(cond, timeout: float, interval: float = 0.05):
    """cond() until it is truthy or `timeout` s pass; its last value."""
    deadline = time.perf_counter() + timeout
    value = cond()
    while not value and time.perf_counter() < deadline:
        time.sleep(interval)
        value = cond()
    return value


def main_button(page, label: str):
    # the accessible name carries the icon and the shortcut ("Restart B"): match the word
    return page.locator(MAIN).get_by_role("button", name=re.compile(rf"\b{label}\b")).first


def new_viewer(browser, url: str, count_bytes: bool = False):
    ctx = browser.new_context(viewport={"width": 1300, "height": 900})
    ctx.set_default_timeout(120_000)  # a loaded machine serves pages slowly
    page = ctx.new_page()
    received = {"bytes": 0, "frames": 0, "wire": 0}
    if count_bytes:
        def on_ws(ws):
            # What the frames cost on the wire: the server compresses each message with
            # permessage-deflate as negotiated with Chromium (server_max_window_bits=12, the
            # compression context kept between messages; the websockets library's zlib level
            # and memLevel 5). Playwright hands over the frames decompressed, so the same zlib
            # settings, fed every frame in order, give the compressed sizes.
            deflate = zlib.compressobj(6, zlib.DEFLATED, -12, 5)

            def frame(payload):
                data = payload.encode() if isinstance(payload, str) else (payload or b"")
                packed = len(deflate.compress(data) + deflate.flush(zlib.Z_SYNC_FLUSH)) - 4
                received["bytes"] += len(data)
                received["wire"] += packed + (2 if packed < 126 else 4 if packed < 65536 else 10)
                received["frames"] += 1
            ws.on("framereceived", frame)
        page.on("websocket", on_ws)
    page.goto(url, wait_until="commit", timeout=180_000)
    wait_idle(page)
    return ctx, page, received


STATUS_JS = """() => {
    for (const t of document.querySelectorAll('table')) {
        const rows = Array.from(t.querySelectorAll('tr')).map(
            tr => Array.from(tr.querySelectorAll('td,th')).map(c => c.innerText.trim()));
        if (rows.length && rows[0].some(c => c === 'mean_ms')) return rows;
    }
    return [];
}"""


def refresh_table(status_page) -> dict:
    """The status page's 'server time per live refresh' table: page -> (refreshes, mean wall ms,
    mean CPU ms of the drawing thread).
    The status page redraws every 2 s; this waits for one redraw so the numbers are fresh."""
    stamp = status_page.evaluate("() => document.querySelector(\"[data-testid='stMain']\").innerText")
    status_page.wait_for_function(
        "s => document.querySelector(\"[data-testid='stMain']\").innerText !== s", arg=stamp,
        timeout=30_000)
    rows = status_page.evaluate(STATUS_JS)
    if not rows:
        return {}
    head = rows[0]
    ip, ir, im, ic = (head.index(c) for c in ("page", "refreshes", "mean_ms", "cpu_ms"))
    out = {}
    for row in rows[1:]:
        if len(row) == len(head):
            out[row[ip]] = (int(row[ir].replace(",", "")), float(row[im].replace(",", "")),
                            float(row[ic].replace(",", "")))
    return out


def window_delta(before: dict, after: dict) -> dict:
    """Refreshes, mean wall ms and mean CPU ms per page over the window between two readings
    of the table."""
    out = {}
    for name, (n, mean, cpu) in after.items():
        n0, mean0, cpu0 = before.get(name, (0, 0.0, 0.0))
        if n > n0:
            out[name] = (n - n0, round((n * mean - n0 * mean0) / (n - n0), 2),
                         round((n * cpu - n0 * cpu0) / (n - n0), 2))
    return out


def restart_to_first_chart(page, timeout: float = 30.0) -> float | None:
    """Press Restart and time it to the first chart drawn from the new run (the counter back
    below where it was, a chart changed, and not the shipped recording)."""
    wait_for(lambda: step_of(page) > 100, 120)
    old_step, old_chart = step_of(page), chart_state(page)
    # Playwright's actionability checks (the button stable over two animation frames) can take
    # seconds on a page whose charts redraw every second on a loaded machine; a student's click
    # does not wait for them. So wait for them first, then time the click itself.
    button = main_button(page, "Restart")
    button.click(trial=True)
    t0 = time.perf_counter()
    button.click(force=True)

    def new_run_drawn():
        text = main_text(page)
        m = STEP.search(text)
        step = int(m.group(1).replace(",", "")) if m else -1
        return (0 <= step < old_step and RECORDING not in text
                and chart_state(page) != old_chart)
    ok = wait_for(new_run_drawn, timeout, 0.02)
    return round(time.perf_counter() - t0, 3) if ok else None


def measure_pages(browser, server, window: float) -> dict:
    results = {}
    sctx, status, _ = new_viewer(browser, server.url + "/Server_status")
    try:
        for path in PAGES:
            ctx, page, ws = new_viewer(browser, server.url + path, count_bytes=True)
            try:
                first = restart_to_first_chart(page)
                page.wait_for_timeout(1000)  # the restart's own frames delivered
                before = refresh_table(status)
                cpu_before, t_before = proc_cpu_seconds(server.proc.pid), time.perf_counter()
                ws["bytes"], ws["frames"], ws["wire"] = 0, 0, 0
                # wait_for_timeout, not time.sleep: Playwright delivers websocket events only
                # while one of its calls is running
                page.wait_for_timeout(window * 1000)
                got = dict(ws)
                cpu_window = proc_cpu_seconds(server.proc.pid) - cpu_before
                seconds = time.perf_counter() - t_before
                after = refresh_table(status)
                still_training = bool(TRAINING.search(main_text(page)))
            finally:
                ctx.close()
            delta = window_delta(before, after)
            refreshes = sum(n for n, _, _ in delta.values())
            results[path] = {
                "restart_to_first_chart_s": first,
                "refreshes_in_window": refreshes,
                "ws_bytes_per_refresh": round(got["bytes"] / refreshes) if refreshes else None,
                "ws_wire_bytes_per_refresh": (round(got["wire"] / refreshes) if refreshes
                                              else None),
                "ws_frames": got["frames"],
                "server_ms_per_refresh_mean": max((m for _, m, _ in delta.values()), default=None),
                "server_cpu_ms_per_refresh_mean": max((c for _, _, c in delta.values()),
                                                      default=None),
                # the whole web process (every thread: the websocket sends, the status page's
                # own redraws every 2 s, the workers' pipes) over the window
                "web_process_cores": round(cpu_window / seconds, 3),
                "pages_refreshed": sorted(delta),
                "still_training_at_end": still_training,
            }
    finally:
        sctx.close()
    return results


def speed_window(server, page, window: float) -> dict:
    """Figure 1's speed over `window` s from the step counter, with the server's costs."""
    pid = server.proc.pid
    kids = training_pids(server)
    cpu0 = {p: proc_cpu_seconds(p) for p in [pid] + kids}
    s0, t0 = step_of(page), time.perf_counter()
    page.wait_for_timeout(window * 1000)
    s1, t1 = step_of(page), time.perf_counter()
    text = main_text(page)
    cpu1 = {}
    for p in cpu0:
        try:
            cpu1[p] = proc_cpu_seconds(p)
        except OSError:
            pass
    shown = RATE.search(text)
    watching = re.search(r"(\d+) watching", text)
    dt = t1 - t0
    return {
        "steps_per_s": round((s1 - s0) / dt, 1),
        "counter_steps_per_s": int(shown.group(1).replace(",", "")) if shown else None,
        "watching": int(watching.group(1)) if watching else 1,
        "step_at_end": s1,
        "web_server_cpu_cores": round((cpu1.get(pid, cpu0[pid]) - cpu0[pid]) / dt, 3),
        "workers_cpu_cores": round(sum(cpu1[p] - cpu0[p] for p in kids if p in cpu1) / dt, 3),
        "web_server_rss_mib": round(proc_rss_mib(pid), 1),
        "web_server_threads": proc_threads(pid),
        "load_average": os.getloadavg()[0],
    }


def measure_viewers(browser, counts: list[int], window: float) -> dict:
    out = {"page": FIGURE1, "window_s": window}
    server = Server(env=BACKEND_ENV, log_name="bench-viewers.log")
    viewers = []
    try:
        viewers.append(new_viewer(browser, server.url + FIGURE1))
        lead = viewers[0][1]
        if not wait_for(lambda: step_of(lead) > 0 and TRAINING.search(main_text(lead)), 180, 0.5):
            out["error"] = "the Figure 1 run did not start: " + main_text(lead)[:300]
            return out
        for n in counts:
            while len(viewers) < n:
                viewers.append(new_viewer(browser, server.url + FIGURE1))
            while len(viewers) > n:
                viewers.pop()[0].close()
            wait_for(lambda: n == 1 or f"{n} watching" in main_text(lead), 60, 0.5)
            lead.wait_for_timeout(2000)
            key = f"{n}_viewers" if f"{n}_viewers" not in out else f"{n}_viewers_again"
            out[key] = speed_window(server, lead, window)
            if out[key]["step_at_end"] >= FIGURE1_STEPS:
                out["note"] = "the run finished during the measurement"
                break
        base = out.get("1_viewers", {}).get("steps_per_s")
        if base:
            for key, v in list(out.items()):
                if isinstance(v, dict) and key != "1_viewers":
                    out[f"ratio_{key}_to_1"] = round(v["steps_per_s"] / base, 3)
    finally:
        for ctx, _, _ in viewers:
            ctx.close()
        server.stop()
    return out


def live_chart_shown(page) -> bool:
    """The counter says training at a step > 0, a chart is drawn, and it is not the recording."""
    text = main_text(page)
    m = STEP.search(text)
    return bool(m and int(m.group(1).replace(",", "")) > 0 and TRAINING.search(text)
                and RECORDING not in text and page.locator(".js-plotly-plot").count() > 0)


def new_settings_to_live_chart(browser, server, url: str) -> float | None:
    """Open a page with settings nobody has run yet (the run starts with the page) and time it to
    its first live chart."""
    ctx = browser.new_context(viewport={"width": 1300, "height": 900})
    try:
        page = ctx.new_page()
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit", timeout=180_000)
        ok = wait_for(lambda: live_chart_shown(page), 120, 0.02)
        return round(time.perf_counter() - t0, 3) if ok else None
    finally:
        ctx.close()


def cold_start(browser) -> dict:
    t0 = time.perf_counter()
    server = Server(env=BACKEND_ENV, log_name="bench-cold.log")
    try:
        healthy = time.perf_counter() - t0
        ctx = browser.new_context(viewport={"width": 1300, "height": 900})
        page = ctx.new_page()
        page.goto(server.url + "/", wait_until="commit", timeout=180_000)
        page.wait_for_selector(".js-plotly-plot", timeout=120_000)
        first_chart = time.perf_counter() - t0
        ok = wait_for(lambda: live_chart_shown(page), 120, 0.05)
        first_live = time.perf_counter() - t0
        web_rss = proc_rss_mib(server.proc.pid)  # the web server alone, its workers not counted
        ctx.close()
    finally:
        server.stop()
    return {"server_healthy_s": round(healthy, 2), "first_chart_s": round(first_chart, 2),
            "first_live_chart_s": round(first_live, 2) if ok else None,
            "web_server_rss_mib": round(web_rss, 1)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--viewers", default="1,10,30,1",
                    help="viewer counts of one Figure 1 run, in order (comma-separated)")
    ap.add_argument("--window", type=float, default=15.0, help="seconds per viewer count")
    ap.add_argument("--page-window", type=float, default=8.0,
                    help="seconds of live refreshes per page")
    ap.add_argument("--only", choices=("cold", "pages", "viewers"), default=None)
    ap.add_argument("--backend", choices=("workers", "ray"), default="workers",
                    help="where runs train: the server's worker processes, or Ray (RAY_ADDRESS)")
    ap.add_argument("--charts", choices=("component", "plotly_chart"), default="component",
                    help="how pages draw live charts: in place (the default), or st.plotly_chart "
                         "as before (BNLAB_CHARTS), to compare")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if args.backend == "ray":
        BACKEND_ENV["BNLAB_BACKEND"] = "ray"
    BACKEND_ENV["BNLAB_CHARTS"] = args.charts
    counts = [int(c) for c in args.viewers.split(",")]
    from playwright.sync_api import sync_playwright

    result = {"backend": args.backend, "charts": args.charts, "window_s": args.window,
              "load_average_at_start": os.getloadavg()}

    def save():
        if args.out:
            args.out.write_text(json.dumps(result, indent=2))
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        try:
            if args.only in (None, "cold"):
                result["cold_start"] = cold_start(browser)
                save()
            if args.only in (None, "pages"):
                server = Server(env=BACKEND_ENV, log_name="bench-pages.log")
                try:
                    result["pages"] = measure_pages(browser, server, args.page_window)
                    result["new_settings_to_first_live_chart_s"] = [
                        new_settings_to_live_chart(
                            browser, server, f"{server.url}/Figure_1_live?steps=50000&lr={lr}")
                        for lr in (0.4, 0.3, 0.2)]
                finally:
                    server.stop()
                save()
            if args.only in (None, "viewers"):
                result["figure1_viewers"] = measure_viewers(browser, counts, args.window)
        finally:
            browser.close()
    result["load_average_at_end"] = os.getloadavg()
    save()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
