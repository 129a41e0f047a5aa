"""Screenshot BN Lab pages in headless Chromium against a real `streamlit run app.py` server.

    python scripts/screenshot.py [--port 8611] [--wait 8] [--out artifacts/screenshots] PAGE...

PAGE is a URL path with optional query, e.g. "/" or "/Figure_1_live?lrx=5". The server is
started and stopped by the script. Chromium is Debian's /usr/bin/chromium driven by Playwright.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def start_server(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("streamlit server did not become healthy")


def wait_idle(page, timeout_ms: int = 180_000) -> None:
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']",
                           timeout=timeout_ms)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("pages", nargs="+")
    ap.add_argument("--port", type=int, default=8611)
    ap.add_argument("--wait", type=float, default=8.0, help="seconds of live training to wait")
    ap.add_argument("--out", type=Path, default=ROOT / "artifacts" / "screenshots")
    ap.add_argument("--suffix", default="", help="added to each file name, e.g. -1280x720")
    ap.add_argument("--width", type=int, default=1500)
    ap.add_argument("--height", type=int, default=2400,
                    help="viewport height: Streamlit scrolls inside its own container, so a "
                         "full-page screenshot only shows the viewport")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    server = start_server(args.port)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for path in args.pages:
                ctx = browser.new_context(viewport={"width": args.width, "height": args.height})
                page = ctx.new_page()
                page.goto(f"http://127.0.0.1:{args.port}{path}", wait_until="commit", timeout=180_000)
                wait_idle(page)
                try:  # a page with charts: wait until one is drawn, then let it train a moment
                    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
                except Exception:
                    pass
                time.sleep(args.wait)
                name = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "home"
                file = args.out / f"{name}{args.suffix}.png"
                page.screenshot(path=str(file), full_page=True)
                errors = page.locator("[data-testid='stException']").count()
                print(f"{file} exceptions={errors}")
                ctx.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
