"""Screenshot every chart of the figure gallery (scripts/figure_gallery.py) in headless
Chromium, one PNG per chart:

    python scripts/gallery_screenshots.py --out artifacts/gallery [--old 86fb1cd] [--theme dark]
        [--group gamma] [--frac 0.45] [--width 1280]

Starts and stops its own server (Debian's /usr/bin/chromium via Playwright)."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from screenshot import CHROMIUM, CHROMIUM_ARGS, wait_idle  # noqa: E402


def serve(port: int, env: dict) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "scripts/figure_gallery.py",
         "--server.headless", "true", "--server.port", str(port), "--server.address",
         "127.0.0.1", "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **env})
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the gallery server did not become healthy")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "artifacts" / "gallery")
    ap.add_argument("--port", type=int, default=8631)
    ap.add_argument("--old", default="")
    ap.add_argument("--theme", default="light")
    ap.add_argument("--group", default="")
    ap.add_argument("--frac", type=float, default=0.45)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--runs", default=os.environ.get("BNLAB_GALLERY_RUNS", ""),
                    help="a pickle of figure_pages.all_runs() (skips training)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    query = "&".join(f"{k}={v}" for k, v in (("old", args.old), ("theme", args.theme),
                                             ("group", args.group), ("frac", args.frac)) if v)
    server = serve(args.port, {"BNLAB_GALLERY_RUNS": args.runs} if args.runs else {})
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": args.width, "height": 900})
            page.goto(f"http://127.0.0.1:{args.port}/?{query}")
            page.wait_for_selector("[data-testid='stPlotlyChart']", timeout=300_000)
            wait_idle(page, 300_000)
            heads = page.locator("[data-testid='stHeading']")
            charts = page.locator("[data-testid='stPlotlyChart']")
            for i in range(charts.count()):
                group, name = heads.nth(i).inner_text().strip().split(": ", 1)
                chart = charts.nth(i)
                chart.scroll_into_view_if_needed()
                chart.locator(".main-svg").first.wait_for(timeout=30_000)
                time.sleep(0.3)
                tag = f"{args.old or 'new'}-{args.theme}"
                file = args.out / f"{i:02d}-{group}-{name}-{tag}.png"
                chart.screenshot(path=str(file))
                print(file)
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
