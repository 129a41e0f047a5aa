"""A real `streamlit run app.py` server and headless Chromium (Debian's, driven by Playwright)
for the end-to-end tests."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "artifacts" / "browser"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def browser_available() -> bool:
    if os.path.exists(CHROMIUM):
        try:
            import playwright  # noqa: F401
            return True
        except ImportError:
            pass
    if os.environ.get("BNLAB_REQUIRE_BROWSER"):
        pytest.fail("the browser tests must run here but Chromium or Playwright is missing")
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A BN Lab server on a free local port; its stderr is kept in a log file."""

    def __init__(self, env: dict | None = None, log_name: str = "server.log"):
        self.port = free_port()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.log_path = ARTIFACTS / log_name
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(self.port), "--server.address", "127.0.0.1",
             "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
            env={**os.environ, "BNLAB_WARM_UP": "1", **(env or {})})  # as a real server
        self._wait_healthy()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait_healthy(self, timeout: float = 90) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.read().decode().strip() == "ok":
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("server did not become healthy")

    def log_text(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


def launch_browser(pw):
    return pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


_DRAWN = """!document.querySelector("[data-testid='stSkeleton']") &&
    !!document.querySelector("[data-testid='stMain'] h1")"""
DRAWN = f"() => {_DRAWN}"
SETTLED = f'() => {_DRAWN} && !!document.querySelector("{IDLE}")'  # drawn, and not running
IDLE_WAIT_MS = 30_000  # a page still "running" after this is refreshing without pause


def wait_idle(page, timeout_ms: int = 180_000) -> None:
    """Wait until the page's script has finished and the page is drawn. On a saturated machine
    a page with live fragments can rerun back to back and never be idle for a moment (measured:
    a home page 98% "running" at load 17): after IDLE_WAIT_MS, a drawn page (its title, no
    skeleton) is taken as settled; callers then wait on what they look for."""
    try:  # drawn and not running at one moment: a page is "not running" before its first
        # run too, and then counted as drawn once its title shows, halfway through that run
        page.wait_for_function(SETTLED, timeout=min(timeout_ms, IDLE_WAIT_MS))
    except Exception as exc:  # Playwright's TimeoutError: look for a drawn page instead
        if "Timeout" not in type(exc).__name__:
            raise
    page.wait_for_function(DRAWN, timeout=timeout_ms)


# A chart on a page: the live chart component (bnlab_ui.charts, drawn in place) or an
# st.plotly_chart element (a chart students click on).
CHART_SELECTOR = "[data-testid='stPlotlyChart'], .bnlab-chart"

CHART_STATE_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
    .filter(p => p.getBoundingClientRect().height > 0).map(p => {
    const parts = (p.data || []).map(t => {
        const pick = v => v === undefined ? '' : (ArrayBuffer.isView(v) ? Array.from(v).join(',')
                                                   : JSON.stringify(v));
        return pick(t.x) + '|' + pick(t.y) + '|' + pick(t.z);
    });
    return parts.join('#');
})"""


def load_factor() -> float:
    """How much slower than quiet this machine is now (1 on a quiet machine): the 1-minute load
    average per core."""
    return max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))


class LoadMeter:
    """How loaded the machine was *during* a timed step (the 1-minute load average lags a burst by
    a minute): the run queue (/proc/stat's procs_running, less this sampler) sampled every 0.1 s
    on a thread, averaged per core; `factor()` is that or `load_factor()`, whichever is higher."""

    def __enter__(self):
        import threading

        self._samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            try:
                with open("/proc/stat") as fh:
                    for line in fh:
                        if line.startswith("procs_running"):
                            self._samples.append(max(0, int(line.split()[1]) - 1))
            except OSError:
                return

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(2)

    def factor(self) -> float:
        queue = sum(self._samples) / len(self._samples) if self._samples else 0.0
        return max(load_factor(), queue / (os.cpu_count() or 1))


def slow_down(page) -> None:
    """The page's run to its slowest pace, 10 steps/s (the speed slider at its start)."""
    speed = page.locator("[data-testid='stMain'] [data-testid='stSlider'] input").first
    speed.focus()
    speed.press("Home")
    page.wait_for_function(
        """() => { const t = document.querySelector(
            "[data-testid='stMain'] [data-testid='stSliderThumbValue']");
            return t !== null && t.innerText.includes('10/s'); }""", timeout=60_000)
    wait_idle(page)


def chart_state(page) -> list[str]:
    """A fingerprint of the data of every Plotly chart shown on the page (an element Streamlit
    keeps hidden while it redraws is left out)."""
    return page.evaluate(CHART_STATE_JS)


def progress_text(page) -> str:
    loc = page.locator("[data-testid='stProgress']")
    return loc.first.inner_text() if loc.count() else ""


OUR_CODE = ("/bn_core/", "/bnlab_ui/", "/pages/", "/app.py")


def our_tracebacks(log: str) -> list[str]:
    """Tracebacks in a server log that pass through BN Lab's own code.

    Streamlit's server itself logs a traceback when a browser closes its websocket abruptly
    (uvicorn's WebSocketDisconnected); that is not ours and is ignored here."""
    blocks = log.split("Traceback (most recent call last):")[1:]
    return [b[:2000] for b in blocks if any(p in b for p in OUR_CODE)]
