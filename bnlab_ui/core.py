"""The pieces every BN Lab page is made of.

A page: `page_header`, then `config_controls` (widgets for the run settings it exposes, read from
and written to the URL), `run_controls` (the shared run, Start/Pause/Stop/Restart), then
`live_view(run, render)` whose `render(snapshot)` draws the charts; it refreshes about once a
second while the run is live and stops refreshing when it ends.
"""
from __future__ import annotations

import atexit
import dataclasses
import contextlib
import logging
import math
import os
import threading
import time
from collections import OrderedDict
from typing import Callable, Iterable

import streamlit as st

from bn_core.config import CHOICE_LABELS, SETTINGS, RunConfig, Setting, upgrade_query
from bn_core.export import series_csv, settings_json
from bn_core.figures.style import LIVE_CONFIG, net_label
from bn_core.engine.registry import IDLE_TIMEOUT, MAX_RUNS, MAX_TRAINING, RunRegistry
from bn_core.engine.training import Run, RunSnapshot, check_config

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

REFRESH_SECONDS = 1.0
FIRST_RECORD_WAIT = 0.5  # seconds a Start/Restart click waits for the run's first records
STATUS_ICONS = {"ready": ":material/hourglass_empty:", "queued": ":material/schedule:",
                "loading": ":material/downloading:", "running": ":material/play_circle:",
                "paused": ":material/pause_circle:", "finished": ":material/check_circle:",
                "stopped": ":material/stop_circle:", "failed": ":material/error:"}


def _env_number(name: str, default, kind=float):
    """A positive number from the environment (server operators tune the registry with it)."""
    raw = os.environ.get(name)
    try:
        value = kind(raw) if raw is not None else default
    except ValueError:
        log.warning("ignoring %s=%r: not a number", name, raw)
        return default
    return value if value > 0 else default


@st.cache_resource
def get_registry() -> RunRegistry:
    """One registry per server process, shared by every session; stopped at exit.

    BNLAB_MAX_RUNS, BNLAB_MAX_TRAINING and BNLAB_IDLE_TIMEOUT (seconds) override the defaults."""
    registry = RunRegistry(
        max_runs=_env_number("BNLAB_MAX_RUNS", MAX_RUNS, int),
        max_training=_env_number("BNLAB_MAX_TRAINING", MAX_TRAINING, int),
        idle_timeout=_env_number("BNLAB_IDLE_TIMEOUT", IDLE_TIMEOUT))
    atexit.register(registry.shutdown, 2.0)
    return registry


def viewer_id() -> str:
    """This browser session's id (a run counts its viewers by it)."""
    return _session_id()


def _session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else "anonymous"


# ---------------------------------------------------------------------------- page frame

def page_header(title: str, teaches: str, intro: str, icon: str = ":material/science:") -> None:
    """Page config, title, the teaching points covered, and a short introduction."""
    st.set_page_config(page_title=f"{title} - BN Lab", page_icon=icon, layout="wide")
    st.session_state["_page_title"] = title
    st.title(title)
    st.caption(f"Teaching points: {teaches}")
    st.markdown(intro)


@contextlib.contextmanager
def guard(what: str = "this page"):
    """An error boundary: a clear message on the page and a log line, never a traceback."""
    try:
        yield
    except Exception as exc:  # st.rerun / st.stop raise their own control-flow exceptions
        if type(exc).__name__ in ("RerunException", "StopException"):
            raise
        log.exception("error in %s", what)
        st.error(f"Something went wrong in {what}: {type(exc).__name__}: {exc}. "
                 "The other runs on this server are not affected; try other settings or "
                 "press Restart.", icon=":material/error:")


def explain(text: str) -> None:
    """The short text beside a chart: what to look for, what to try next."""
    st.markdown(text)


# ---------------------------------------------------------------------------- settings

def _widget(spec: Setting, key: str, container, label: str | None = None):
    label = label or spec.label
    if spec.kind is bool:
        return container.toggle(label, key=key, help=spec.help or None)
    names = CHOICE_LABELS.get(spec.name, {})
    if spec.choices is not None and spec.kind is tuple:
        return tuple(container.multiselect(label, spec.choices, key=key, help=spec.help or None,
                                           format_func=lambda c: str(names.get(c, c))))
    if spec.choices is not None:
        return container.selectbox(label, spec.choices, key=key, help=spec.help or None,
                                   format_func=lambda c: str(names.get(c, c)))
    if spec.kind is tuple:
        text = container.text_input(label, key=key, help=spec.help or None)
        return text
    if spec.kind is int:
        span = spec.hi - spec.lo
        if span <= 1000:
            return container.slider(label, int(spec.lo), int(spec.hi), key=key,
                                    help=spec.help or None)
        return container.number_input(label, int(spec.lo), int(spec.hi), step=1, key=key,
                                      help=spec.help or None)
    if spec.log:
        return container.select_slider(label, options=_log_options(spec), key=key,
                                       help=spec.help or None, format_func=lambda v: f"{v:g}")
    step = _float_step(spec)
    return container.slider(label, float(spec.lo), float(spec.hi), step=step, key=key,
                            help=spec.help or None)


def _float_step(spec: Setting) -> float:
    span = spec.hi - spec.lo
    return 0.01 if span <= 2 else 0.05 if span <= 10 else 0.5 if span <= 50 else 1.0


def _log_options(spec: Setting) -> list[float]:
    """A 1-2-5 ladder between lo and hi, plus the default."""
    out, decade = set(), math.floor(math.log10(spec.lo))
    while 10 ** decade <= spec.hi * 10:
        for m in (1, 2, 3, 5):
            v = float(f"{m * 10 ** decade:.6g}")
            if spec.lo <= v <= spec.hi:
                out.add(v)
        decade += 1
    out.add(float(spec.default))
    return sorted(out)


def _snap_to_widget(spec: Setting, value):
    """Put a valid value on the widget's grid (log ladders, slider steps)."""
    if spec.kind is float and spec.log:
        opts = _log_options(spec)
        if value not in opts:
            return min(opts, key=lambda o: abs(math.log(o) - math.log(max(value, 1e-12))))
    if spec.kind is tuple and spec.choices is None:
        return spec.format(value)
    return value


def _state_key(prefix: str, name: str) -> str:
    """Widget keys are per page, so a setting never leaks from one lesson into another."""
    return f"{_page_name()}|{prefix}:{name}"


def set_setting(name: str, value) -> None:
    """Set a run setting's widget from a page's own button (e.g. "paper length")."""
    st.session_state[_state_key("cfg", name)] = value


def _settings_with_url(specs: Iterable[Setting], base: dict, prefix: str) -> None:
    """Seed each widget that has no state yet (a session's first view of this page, or a page
    just navigated to: Streamlit drops the state of widgets a page does not draw) from the URL,
    clamping bad values; the notices are kept to show until the next seeding."""
    notices, seeded = [], False
    query = upgrade_query(st.query_params)  # older links give the run they gave then
    for spec in specs:
        key = _state_key(prefix, spec.name)
        if key in st.session_state:
            continue
        seeded = True
        value = base[spec.name]
        if spec.url in query:
            value, notice = spec.coerce(query[spec.url])
            if notice:
                notices.append(notice)
        st.session_state[key] = _snap_to_widget(spec, value)
    if seeded:
        st.session_state[_state_key(prefix, "_notices")] = notices


def _write_url(specs: Iterable[Setting], values: dict, defaults: dict) -> None:
    for spec in specs:
        value = values[spec.name]
        if value == defaults[spec.name]:
            if spec.url in st.query_params:
                del st.query_params[spec.url]
        else:
            text = spec.format(value)
            if st.query_params.get(spec.url) != text:
                st.query_params[spec.url] = text


def config_controls(base: RunConfig, names: list[str], container=None,
                    labels: dict[str, str] | None = None,
                    limits: dict[str, dict] | None = None) -> RunConfig:
    """Widgets for the named run settings over a page's base config, bound to the URL.

    A URL value out of range or of the wrong type is clamped or reset, with a notice.
    `limits` narrows a setting for this page, e.g. {"probe_unit": {"hi": 99}} or
    {"dataset": {"choices": ("mnist-subset",)}}; its default becomes the page's base value."""
    container = container or st.sidebar
    specs = [dataclasses.replace(SETTINGS[n], default=getattr(base, n), **(limits or {}).get(n, {}))
             for n in names]
    base_values = base.to_dict()
    base_values = {k: tuple(v) if isinstance(v, list) else v for k, v in base_values.items()}
    _settings_with_url(specs, base_values, "cfg")
    values = dict(base_values)
    for spec in specs:
        raw = _widget(spec, _state_key("cfg", spec.name), container, (labels or {}).get(spec.name))
        if spec.kind is tuple and spec.choices is None:
            raw, notice = spec.coerce(raw)
            if notice:
                container.warning(notice)
        if spec.kind is tuple and spec.choices is not None and not raw:
            container.warning(f"{spec.label}: choose at least one; using {spec.format(base_values[spec.name])}.")
            raw = base_values[spec.name]
        values[spec.name] = raw
    if values["probe_unit"] >= values["width"]:
        values["probe_unit"] = values["width"] - 1
    try:
        config = RunConfig.from_dict(values)
    except ValueError as exc:  # a combination the table alone cannot rule out
        st.warning(f"{exc}. Using the page's defaults instead.")
        config = base
    _write_url(specs, config.to_dict() | {k: tuple(v) for k, v in config.to_dict().items()
                                            if isinstance(v, list)}, base_values)
    for notice in st.session_state.get(_state_key("cfg", "_notices"), []):
        st.warning(notice, icon=":material/link_off:")
    return config


def view_controls(specs: list[Setting], container=None) -> dict:
    """Widgets for display-only options (layer shown, pooled or one unit, ...), bound to the URL."""
    container = container or st.sidebar
    defaults = {s.name: s.default for s in specs}
    _settings_with_url(specs, defaults, "view")
    values = {}
    for spec in specs:
        raw = _widget(spec, _state_key("view", spec.name), container)
        value, notice = (spec.coerce(raw) if spec.kind is tuple and spec.choices is None
                         else (raw, None))
        if notice:
            container.warning(notice)
        values[spec.name] = value
    _write_url(specs, values, defaults)
    for notice in st.session_state.get(_state_key("view", "_notices"), []):
        st.warning(notice, icon=":material/link_off:")
    return values


# ---------------------------------------------------------------------------- runs

def _check_run(config: RunConfig) -> str | None:
    try:
        check_config(config)
    except ValueError as exc:
        return str(exc)
    return None


def run_controls(config: RunConfig | list[RunConfig], autostart: bool = True,
                 container=None) -> Run | list[Run] | None:
    """The shared run of this config (or the runs of several configs, compared side by side)
    with Start/Pause/Stop/Restart acting on all of them; starts them on first view."""
    container = container or st
    configs = config if isinstance(config, list) else [config]
    for c in configs:
        problem = _check_run(c)
        if problem:
            container.error(f"These settings cannot be trained: {problem}",
                            icon=":material/block:")
            return None
    registry, viewer = get_registry(), viewer_id()
    runs = [registry.get(c) for c in configs]
    for run in runs:
        started_key = f"_autostarted:{run.key}"
        if autostart and run.status == "ready" and not st.session_state.get(started_key):
            run.start()
        st.session_state[started_key] = True
        run.touch(viewer)

    def every(action):
        return lambda: [action(r) for r in runs]

    def start_all():
        for r in runs:
            r.start()
        for r in runs:  # the rerun that follows then draws the new run's first records
            r.wait_first_record(FIRST_RECORD_WAIT)

    def stop_all():
        for r in runs:
            r.stop("stopped by a viewer", wait=None)
        for r in runs:
            r.wait(2.0)

    def restart_all():
        stop_all()
        start_all()

    # Callbacks run before the script, so the buttons below are drawn in the new state.
    cols = container.columns(4)
    live = any(r.status in ("queued", "loading", "running", "paused") for r in runs)
    cols[0].button("Start", icon=":material/play_arrow:", disabled=live, key="run:start",
                   type="primary", width="stretch", on_click=start_all)
    if any(r.status == "paused" for r in runs):
        cols[1].button("Resume", icon=":material/play_arrow:", key="run:resume",
                       width="stretch", on_click=every(Run.resume))
    else:
        cols[1].button("Pause", icon=":material/pause:", key="run:pause", width="stretch",
                       disabled=not any(r.status == "running" for r in runs),
                       on_click=every(Run.pause))
    cols[2].button("Stop", icon=":material/stop:", disabled=not live, key="run:stop",
                   width="stretch", on_click=stop_all)
    cols[3].button("Restart", icon=":material/replay:", key="run:restart", width="stretch",
                   on_click=restart_all)
    return runs if isinstance(config, list) else runs[0]


def status_line(snap: RunSnapshot) -> None:
    """Status, progress (step of total, steps/s), each net's state, viewers, queue place."""
    icon = STATUS_ICONS.get(snap.status, "")
    parts = [f"{icon} **{snap.status}**", f"step {snap.step:,} of {snap.total_steps:,}"]
    if snap.steps_per_sec:
        parts.append(f"{snap.steps_per_sec:,.0f} steps/s")
    if snap.viewers > 1:
        parts.append(f"{snap.viewers} viewers")
    nets = ", ".join(f"{net_label(n)}: {v.status_text}" for n, v in snap.nets.items())
    if nets:
        parts.append(nets)
    st.progress(snap.progress, text=" · ".join(parts))
    if snap.status == "queued":
        st.info(f"The server is busy training other runs: this run is number "
                f"{snap.queue_position or 1} in the queue and starts as soon as a slot frees.",
                icon=":material/schedule:")
    if snap.status == "failed":
        st.error(f"Training failed: {snap.message}", icon=":material/error:")
    elif snap.message and snap.status == "stopped":
        st.caption(snap.message)
    for name, view in snap.nets.items():
        if view.status == "diverged":
            st.warning(f"{net_label(name)} net **diverged at step {view.diverged_at}**: its loss "
                       "or weights stopped being finite numbers. Its twin goes on.",
                       icon=":material/trending_up:")


def live_view(run: Run, render: Callable[[RunSnapshot], None],
              refresh: float = REFRESH_SECONDS) -> None:
    """Draw `render(snapshot)` now and about every `refresh` seconds while the run is live."""
    interval = refresh if run.snapshot().live else None
    session = _session_id()

    @st.fragment(run_every=interval)
    def fragment():
        started = time.perf_counter()
        run.touch(session)
        snap = run.snapshot()
        with guard("the live charts"):
            status_line(snap)
            render(snap)
        REFRESH_TIMES.add(_page_name(), time.perf_counter() - started)
        if interval is not None and not snap.live:
            st.rerun()  # one full rerun turns the timer off
        elif interval is None and snap.live:
            st.rerun()  # the run was (re)started: turn the timer on

    fragment()


class RefreshTimes:
    """Server time spent per live refresh, per page (shown on the server status page)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._stats: dict[str, list] = {}

    def add(self, page: str, seconds: float) -> None:
        with self._lock:
            st_ = self._stats.setdefault(page, [0, 0.0, 0.0])
            st_[0] += 1
            st_[1] += seconds
            st_[2] = max(st_[2], seconds)

    def table(self) -> list[dict]:
        with self._lock:
            return [{"page": p, "refreshes": n, "mean_ms": round(1000 * total / n, 2),
                     "max_ms": round(1000 * peak, 2)}
                    for p, (n, total, peak) in sorted(self._stats.items()) if n]

    def reset(self) -> None:
        with self._lock:
            self._stats.clear()


REFRESH_TIMES = RefreshTimes()


def _page_name() -> str:
    return st.session_state.get("_page_title", "page")


# ---------------------------------------------------------------------------- output

_FIGURES: OrderedDict = OrderedDict()
_FIGURES_LOCK = threading.Lock()
_FIGURES_MAX = 256


def chart(builder: Callable, snap: RunSnapshot, *args, key: str, **kwargs) -> None:
    """Build a figure from the snapshot (once per run, step and arguments for all viewers)
    and show it with the live chart config (no zoom; PNG download)."""
    code = getattr(builder, "__code__", None)
    where = (code.co_filename, code.co_firstlineno) if code else (builder.__module__,)
    cache_key = (where, builder.__qualname__, snap.key, snap.step, snap.status,
                 tuple(v.step for v in snap.nets.values()), repr(args), repr(sorted(kwargs.items())))
    with _FIGURES_LOCK:
        fig = _FIGURES.get(cache_key)
        if fig is not None:
            _FIGURES.move_to_end(cache_key)
    if fig is None:
        fig = builder(snap, *args, **kwargs)
        with _FIGURES_LOCK:
            _FIGURES[cache_key] = fig
            while len(_FIGURES) > _FIGURES_MAX:
                _FIGURES.popitem(last=False)
    st.plotly_chart(fig, key=key, width="stretch", config=LIVE_CONFIG)


def export_controls(snap: RunSnapshot, name: str, container=None) -> None:
    """Download the recorded series (CSV) and the settings (JSON); charts have a PNG button."""
    container = container or st
    cols = container.columns(2)
    cols[0].download_button("Series (CSV)", lambda: series_csv(snap), file_name=f"bnlab-{name}.csv",
                            mime="text/csv", icon=":material/download:", key=f"dl:csv:{name}",
                            on_click="ignore")
    cols[1].download_button("Settings (JSON)", lambda: settings_json(snap),
                            file_name=f"bnlab-{name}.json", mime="application/json",
                            icon=":material/download:", key=f"dl:json:{name}", on_click="ignore")


def share_link(container=None) -> None:
    """The page's permalink (all settings are in the URL) with a copy button."""
    container = container or st.sidebar
    base = st.context.url or ""
    query = "&".join(f"{k}={v}" for k, v in st.query_params.to_dict().items())
    container.caption("Link to these exact settings (copy with the button):")
    container.code(base + (f"?{query}" if query else ""), language=None)

