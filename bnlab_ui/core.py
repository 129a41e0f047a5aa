"""What every part of the UI leans on: server logging, the engine's registry (started with the
first page), the viewer's id, the error boundary, text escaping, and refresh-time statistics."""
from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
import threading
import time
from pathlib import Path

import streamlit as st

from bn_core import engine
from bn_core.engine.registry import RunRegistry
from bn_core.i18n import _
from bn_core.markdown import literal
from bnlab_ui import streamlit_fixes

log = logging.getLogger("bnlab_ui")


def _server_logging() -> None:
    """Engine and page events (runs created, stopped, failed) go to the server's stderr."""
    for name in ("bn_core", "bnlab_ui"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)


_server_logging()


def _warm_imports() -> None:
    """Finish plotly's lazy imports (pandas among them) once, under this module's import lock.

    plotly looks pandas up in sys.modules; when several sessions' script threads build their
    first figure at the same moment, one of them can find pandas half-imported
    ("partially initialized module 'pandas'"). Importing it here, fully, first avoids that."""
    import numpy as np
    import pandas  # noqa: F401
    import plotly.graph_objects as go

    go.Figure(go.Scatter(x=np.zeros(2, np.float32), y=np.zeros(2, np.float32))).to_plotly_json()


_warm_imports()
streamlit_fixes.install()  # the page-change race that turned students' pages white

def _start_engine_early() -> None:
    """Start the training processes with the first page a server draws, so they have imported
    PyTorch by the time that page's run needs them."""
    try:
        engine.get_registry()
        from bn_core.engine.run import Run

        Run.viewer_alive = staticmethod(session_active)  # a closed tab stops counting at once
    except Exception:  # the page reports it when it asks for a run
        log.exception("could not start the training engine")



REFRESH_SECONDS = 1.0
# Served by this server (a Material icon as page icon is fetched from a font host: no internet
# in a classroom, no icon)
PAGE_ICON = str(Path(__file__).resolve().parents[1] / "assets" / "bnlab-icon.png")


def get_registry() -> RunRegistry:
    """The server's one registry (bn_core.engine keeps it: no client can clear it).

    BNLAB_BACKEND (workers, inprocess, ray), BNLAB_WORKERS, BNLAB_MAX_RUNS and
    BNLAB_IDLE_TIMEOUT (seconds) tune it."""
    return engine.get_registry()


def viewer_id() -> str:
    """This browser session's id (a run counts its viewers by it)."""
    return _session_id()


def session_active(session_id: str) -> bool:
    """Whether a browser session is still connected (a closed tab stops counting as a viewer
    at once, not after the viewer timeout). True outside a server (AppTest)."""
    try:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return True
        return Runtime.instance().is_active_session(session_id)
    except Exception:
        return True


def _session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else "anonymous"


# ---------------------------------------------------------------------------- page frame

# app.py's pages by the name a page calls itself ("app.py" for home, "pages/<file>.py"), for
# st.switch_page, which needs a function page's Page object.
NAV_PAGES: dict = {}


def through_app() -> None:
    """Run every page through app.py's navigation. Until app.py has called st.navigation once
    in this process, Streamlit treats the pages/ folder as an old-style multipage app and runs a
    page's file alone: a server's first visitor who opened a lesson by its link (not "/") got
    Streamlit's own page list (English, file names, "app"). One rerun puts the page under
    app.py's navigation (the page names in the session's language). Streamlit's own flag:
    streamlit/commands/navigation.py sets it the same way once st.navigation runs."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


WARM_UP_ENV = "BNLAB_WARM_UP"  # "0": never (tests of the web server's own imports)
WARM_UP_DELAY = 3.0            # seconds after the server's first page, so as not to slow it
WARM_UP_MODULES = ("torch", "bn_core.lessons.covariate_shift", "bn_core.lessons.gradients",
                   "bn_core.lessons.small_batches", "bn_core.lessons.conv_bn")
_warm_up_started = threading.Event()


def warm_up() -> None:
    """Once per server, a few seconds after its first page: import, in the background, what the
    pages that compute with a net themselves need (torch, 1-2 s and about 180 MiB). The first
    page of a server does not wait for it (the drawing pages do not import torch), and a class
    that follows the teacher to Covariate shift or Shuffling does not wait for it either."""
    if _warm_up_started.is_set() or os.environ.get(WARM_UP_ENV, "1") == "0":
        return
    _warm_up_started.set()
    threading.Thread(target=_warm_up, name="bnlab-warm-up", daemon=True).start()


def _warm_up() -> None:
    time.sleep(WARM_UP_DELAY)
    started = time.perf_counter()
    for name in WARM_UP_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # the page that needs it will say what is wrong
            log.exception("warming up %s", name)
    torch = sys.modules.get("torch")
    if torch is not None and os.environ.get("OMP_NUM_THREADS") == "1":
        torch.set_num_threads(1)  # see bnlab_ui/__init__.py
    log.info("imported the net-replaying pages' modules in %.1f s", time.perf_counter() - started)


def page_header(title: str, teaches: str, intro: str, icon: str = ":material/science:") -> None:
    """Page config, title, the teaching points covered, and a short introduction (each given
    in English and shown in the session's language), and the language choice."""
    from bnlab_ui import language

    through_app()
    language.setup()
    st.session_state["_page_title"] = title
    title, teaches, intro = _(title), _(teaches), _(intro)
    st.set_page_config(page_title=f"{title} - BN Lab", page_icon=PAGE_ICON, layout="wide")
    streamlit_fixes.mend_white_pages()
    warm_up()
    st.title(title)
    st.caption(_("Teaching points: {points}").format(points=teaches))
    st.markdown(intro)
    language.selector()


@contextlib.contextmanager
def guard(what: str = "this page"):
    """An error boundary: a clear message on the page and a log line, never a traceback.
    `what` is English (marked with N_ where it is written) and shown translated."""
    try:
        yield
    except Exception as exc:  # st.rerun / st.stop raise their own control-flow exceptions
        if type(exc).__name__ in ("RerunException", "StopException"):
            raise
        log.exception("error in %s", what)
        st.error(_("Something went wrong in {part}: {error}. The other runs on this server are "
                   "not affected; try other settings or press Restart.").format(
                       part=_(what), error=literal(f"{type(exc).__name__}: {exc}")),
                 icon=":material/error:")


def explain(text: str) -> None:
    """The short text beside a chart: what to look for, what to try next."""
    st.markdown(text)


# ---------------------------------------------------------------------------- settings





















# ---------------------------------------------------------------------------- runs













class RefreshTimes:
    """Server time spent per live refresh, per page (shown on the server status page): the
    refresh's wall time, and the CPU time of the thread that drew it. On a busy machine the
    two differ by the time the refresh waited for a core (or for the GIL)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._stats: dict[str, list] = {}

    def start(self) -> tuple[float, float]:
        """A refresh's start: its wall and thread-CPU clocks (for `add`)."""
        return time.perf_counter(), time.thread_time()

    def add(self, page: str, started: tuple[float, float]) -> None:
        """Count a refresh of `page` that began at `started` (from `start`) and ends now."""
        seconds = time.perf_counter() - started[0]
        cpu = time.thread_time() - started[1]
        with self._lock:
            st_ = self._stats.setdefault(page, [0, 0.0, 0.0, 0.0])
            st_[0] += 1
            st_[1] += seconds
            st_[2] = max(st_[2], seconds)
            st_[3] += cpu

    def table(self) -> list[dict]:
        with self._lock:
            return [{"page": p, "refreshes": n, "mean_ms": round(1000 * total / n, 2),
                     "max_ms": round(1000 * peak, 2), "cpu_ms": round(1000 * cpu / n, 2)}
                    for p, (n, total, peak, cpu) in sorted(self._stats.items()) if n]

    def reset(self) -> None:
        with self._lock:
            self._stats.clear()


REFRESH_TIMES = RefreshTimes()


def script_path(depth: int = 2) -> str:
    """The calling page's script, relative to the app's folder ("app.py", "pages/1_...py")."""
    import sys
    from pathlib import Path

    frame = sys._getframe(depth)
    path = Path(frame.f_globals.get("__file__", "app.py")).resolve()
    root = Path(__file__).resolve().parents[1]
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def escape_html(text) -> str:
    import html

    return html.escape(str(text))


def escape_markdown(text) -> str:
    """Text from outside the code (a question, a label) shown as text inside Markdown."""
    return literal(text)




def _page_name() -> str:
    return st.session_state.get("_page_title", "page")


WIDGETS_GENERATION_KEY = "_bnlab_widgets_generation"


def widget_key(prefix: str, name: str, page: str | None = None) -> str:
    """The key of a URL-bound settings widget: "<page>#<generation>|<prefix>:<name>", prefix
    "cfg" (a run setting) or "view", page the page's title unless given. Per page, so a
    setting never leaks from one lesson into another; per generation, so
    `forget_setting_widgets` makes new widgets."""
    generation = st.session_state.get(WIDGETS_GENERATION_KEY, 0)
    return f"{page or _page_name()}#{generation}|{prefix}:{name}"


def forget_setting_widgets() -> None:
    """Forget this session's settings widgets, so the next run draws them from the URL (a
    student brought to the class's settings).

    Deleting their state alone is not enough: the browser keeps each widget's value by its
    element id, and a rerun it sent before it saw the new settings carries the old values back
    (a following student's slider stayed at the old value beside a run at the class's, under
    load). The widgets of the next generation have new keys, so new element ids: the browser
    draws them from the server's values, and old values it sends belong to widgets no page
    draws any more."""
    for key in [k for k in st.session_state if isinstance(k, str)
                and ("|cfg:" in k or "|view:" in k)]:
        del st.session_state[key]
    st.session_state[WIDGETS_GENERATION_KEY] = (
        st.session_state.get(WIDGETS_GENERATION_KEY, 0) + 1)


# ---------------------------------------------------------------------------- output


_start_engine_early()
