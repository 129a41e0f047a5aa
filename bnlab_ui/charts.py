"""Showing a figure built as plain data (bn_core.figures) in the page, drawn in place on every
live refresh, and the chart theme of each session.

A figure is prepared once (`prepare`: the session's theme applied, numpy arrays encoded as
plotly's base64 typed arrays, exactly as plotly's own `Figure.to_dict()` writes them) and shared
by every viewer. `show_figure` hands it to the live chart component: a Streamlit component (v2,
in the page) whose identity is its key, so a new figure is a new payload for the same element
and its script (assets/live_chart.js, with style.PAGE_TEMPLATE; served once from static/)
redraws it with `Plotly.react`; the payload (the JSON `st.plotly_chart` would send and the chart
config) is encoded once per figure. A chart with events (a chart students click on) still goes through `st.plotly_chart`,
as a `PreparedFigure`: a plotly figure object that Streamlit takes as validated, so it neither
converts nor validates it again (10-50 ms a chart for a dict). BNLAB_CHARTS=plotly_chart sends
every chart that way (for comparing). Measured in docs/benchmarks.md, "Figures as data"
(scripts/bench_figures.py) and "Charts drawn in place" (scripts/bench_browser_cpu.py).

Chart themes (bn_core.figures.style.THEMES): "light" (as built), "dark" and "contrast" (light),
the last two with thicker lines and larger text for a projector. A session picks one with
`set_chart_theme`; every chart it then draws through `bnlab_ui.chart` or `show_figure` uses it
(read at each refresh; the figure cache keeps one prepared figure per theme, shared by all the
viewers using it). The projector view (`?present=1`) draws them in style.PROJECTOR, which no
viewer picks ("contrast" with larger text): `projector`. A page offers the choice, for example in its sidebar, before its live view:

    from bn_core.figures.style import THEME_LABELS, THEMES
    from bnlab_ui import charts

    choice = st.sidebar.segmented_control("Charts", THEMES, default=charts.chart_theme(),
                                          format_func=THEME_LABELS.get, key="chart-theme")
    charts.set_chart_theme(choice or "light")

The page around the charts keeps Streamlit's own theme (.streamlit/config.toml).
"""
from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Callable

import numpy as np
import plotly
import plotly.io
import streamlit as st
from _plotly_utils.utils import is_skipped_key, to_typed_array_spec
from plotly.basedatatypes import BaseFigure

from bn_core.engine.records import RunSnapshot
from bn_core.i18n import get_language
from bn_core.figures.style import (ALL_THEMES, LIVE_CONFIG, PAGE_TEMPLATE, PROJECTOR, THEMES,
                                   apply_theme)

THEME_STATE = "bnlab:chart_theme"
BEFORE_PROJECTOR = "bnlab:chart_theme_before_projector"


class PreparedFigure(BaseFigure):
    """A figure ready for the wire: `to_dict()` returns its encoded dict as it is.

    It is a plotly BaseFigure only so that `st.plotly_chart` takes it as a validated figure;
    it carries no plotly objects (BaseFigure.__init__ is not run) and is never modified, so
    one instance is shown to every viewer."""

    def __init__(self, spec: dict):  # noqa: D107 (BaseFigure's validating init is skipped)
        object.__setattr__(self, "_spec", spec)

    def to_dict(self) -> dict:
        return self._spec

    def to_plotly_json(self) -> dict:
        return self._spec

    def __repr__(self) -> str:
        return f"PreparedFigure({len(self._spec.get('data', []))} traces)"

    def __eq__(self, other) -> bool:
        return isinstance(other, PreparedFigure) and other._spec is self._spec

    def wire(self, config: dict) -> bytes:
        """What the live chart component is sent for this figure: UTF-8 JSON of the chart
        config and the figure (the JSON st.plotly_chart would send), encoded once per figure
        and config for every viewer."""
        key = json.dumps(config, sort_keys=True, separators=(",", ":"))
        cache = self.__dict__.setdefault("_wire", {})
        out = cache.get(key)
        if out is None:
            out = ('{"config":%s,"figure":%s}' % (
                key, plotly.io.to_json(self._spec, validate=False))).encode("utf-8")
            cache[key] = out
        return out

    __hash__ = object.__hash__


_SHORT_TYPES = {"int8": "i1", "uint8": "u1", "int16": "i2", "uint16": "u2", "int32": "i4",
                "uint32": "u4", "float32": "f4", "float64": "f8"}
_NARROWER = {"int64": ("int8", "int16", "int32"), "uint64": ("uint8", "uint16", "uint32")}


def typed_array(v: np.ndarray):
    """Plotly's typed-array spec of a numeric numpy array, as `to_typed_array_spec` writes it
    (int64 narrowed to the smallest int that holds it, the shape of a grid), without the
    per-array type probing that makes plotly's own function cost ~0.5 ms an array. Anything
    else (empty, non-numeric, foreign byte order) goes to plotly's function itself."""
    if v.dtype.kind not in "uif" or v.size == 0 or not v.dtype.isnative:
        return to_typed_array_spec(v)
    name = v.dtype.name
    if name in _NARROWER:
        lo, hi = v.min(), v.max()
        for smaller in _NARROWER[name]:
            info = np.iinfo(smaller)
            if info.min <= lo and hi <= info.max:
                v, name = v.astype(smaller), smaller
                break
        else:
            return to_typed_array_spec(v)
    if name not in _SHORT_TYPES:
        return to_typed_array_spec(v)
    out = {"dtype": _SHORT_TYPES[name],
           "bdata": base64.b64encode(np.ascontiguousarray(v)).decode("ascii")}
    if v.ndim > 1:
        out["shape"] = str(v.shape)[1:-1]
    return out


def encode(value, key: str | None = None):
    """A copy of a figure dict with every numpy array under a dict key written as plotly's
    typed-array spec ({"dtype", "bdata", "shape"}), as `plotly.graph_objects.Figure.to_dict`
    writes it (the same keys skipped); lists and dicts are copied, arrays are not."""
    if isinstance(value, dict):
        return {k: encode(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) if isinstance(v, (dict, list, tuple)) else v for v in value]
    if isinstance(value, np.ndarray) and key is not None and not is_skipped_key(key):
        return typed_array(value)
    return value


def prepare(fig, theme: str = "light") -> PreparedFigure:
    """A figure (a plain dict from bn_core.figures, or a plotly Figure) in `theme`, encoded
    once for the wire."""
    if isinstance(fig, PreparedFigure):
        return fig
    if isinstance(fig, BaseFigure):
        fig = fig.to_dict()
    return PreparedFigure(encode(apply_theme(fig, theme)))


def spec_json(fig) -> str:
    """The JSON `st.plotly_chart` sends for this figure (its own serialisation call)."""
    return plotly.io.to_json(prepare(fig).to_dict(), validate=False)


def chart_theme() -> str:
    """This session's chart theme ("light" unless `set_chart_theme` chose another)."""
    name = st.session_state.get(THEME_STATE, "light")
    return name if name in ALL_THEMES else "light"


def set_chart_theme(name: str) -> None:
    """Draw this session's charts in theme `name`: "light", "dark" or "contrast"."""
    if name not in THEMES:
        raise ValueError(f"chart theme: got {name!r}; allowed: {', '.join(THEMES)}")
    st.session_state[THEME_STATE] = name


def projector(on: bool) -> None:
    """The projector view (`?present=1`) draws this session's charts in style.PROJECTOR while
    `on`; off, the theme the session had before comes back."""
    name = st.session_state.get(THEME_STATE, "light")
    if on and name != PROJECTOR:
        st.session_state[BEFORE_PROJECTOR] = name
        st.session_state[THEME_STATE] = PROJECTOR
    elif not on and name == PROJECTOR:
        st.session_state[THEME_STATE] = st.session_state.pop(BEFORE_PROJECTOR, "light")


# ------------------------------------------------------------- drawing a chart in place

# `st.plotly_chart` makes the figure's JSON part of its element's identity, so every changed
# figure is a new element and the browser builds the chart anew (Plotly.newPlot, toolbar,
# full-screen frame): 471 vs 195 ms a frame against Plotly.react on the chart already drawn
# (docs/benchmarks.md, section 14). The live chart is a Streamlit component (v2: in the page,
# no iframe) whose identity is its key: a new figure is a new payload for the same element,
# which its script redraws with Plotly.react. What is the same for every chart (the script,
# assets/live_chart.js, with style.PAGE_TEMPLATE; plotly.js from the installed plotly package)
# is served once from the app's static folder (Streamlit's static file serving, enabled in
# .streamlit/config.toml) and cached by the browser, so an element carries only a small loader
# and its figure, and nothing is fetched from the internet.
APP_DIR = Path(__file__).resolve().parents[1]
STATIC_DIR = APP_DIR / "static"
STATIC_PLOTLY = STATIC_DIR / "plotly.min.js"
STATIC_MODULE = STATIC_DIR / "bnlab-live-chart.js"
PACKAGE_PLOTLY = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
MODULE_SOURCE = Path(__file__).parent / "assets" / "live_chart.js"
# BNLAB_CHARTS=plotly_chart draws every chart with st.plotly_chart as before (for comparing).
CHARTS_ENV = "BNLAB_CHARTS"
LIVE_CHART = "bnlab_live_chart"
# The loader each element carries: the module, once loaded, draws every later payload at once.
_LOADER = """export default function (component) {
  const g = globalThis;
  if (g.__bnlabLiveChart) return g.__bnlabLiveChart(component);
  const root = component.parentElement;
  // absolute: this loader runs from a blob: URL, against which "/app/..." does not resolve
  const url = new URL(root.querySelector(".bnlab-chart").dataset.module, document.baseURI);
  g.__bnlabLiveChartLoad ||= import(url.href).then((m) => (g.__bnlabLiveChart = m.default));
  g.__bnlabLiveChartLoad.then((draw) => draw(component), (err) => {
    g.__bnlabLiveChartLoad = null;
    root.querySelector(".bnlab-chart-note").textContent = "This chart could not be drawn: " + err;
  });
}"""
_static_lock = threading.Lock()
_static_ready: bool | None = None
_component = None


@functools.lru_cache(maxsize=1)
def module_text() -> str:
    """The live chart's script as served: assets/live_chart.js with the page template and
    plotly's version filled in (read once per process)."""
    return (MODULE_SOURCE.read_text(encoding="utf-8")
            .replace('"__PAGE_TEMPLATE__"', json.dumps(PAGE_TEMPLATE, separators=(",", ":")))
            .replace("__PLOTLY_VERSION__", plotly.__version__))


@functools.lru_cache(maxsize=1)
def _module_version() -> str:
    """The script's content hash: its URL changes with it, so no browser keeps an old one."""
    return hashlib.sha1(module_text().encode("utf-8")).hexdigest()[:12]


def _write_if_changed(path: Path, data: bytes) -> None:
    if path.exists() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)   # atomic: servers sharing the folder never serve half a file


def _static_assets() -> bool:
    """plotly.js and the live chart's script are in the app's static folder (written once per
    process when missing or different; a folder that cannot be written leaves it False)."""
    global _static_ready
    if _static_ready is None:
        with _static_lock:
            if _static_ready is None:
                try:
                    if not STATIC_PLOTLY.exists() or \
                            STATIC_PLOTLY.stat().st_size != PACKAGE_PLOTLY.stat().st_size:
                        _write_if_changed(STATIC_PLOTLY, PACKAGE_PLOTLY.read_bytes())
                    _write_if_changed(STATIC_MODULE, module_text().encode("utf-8"))
                    _static_ready = True
                except OSError:
                    _static_ready = False
    return _static_ready


def module_url() -> str | None:
    """The URL the browser loads the live chart's script from, or None when charts go through
    st.plotly_chart (static serving off, the static folder not writable, or
    BNLAB_CHARTS=plotly_chart)."""
    if os.environ.get(CHARTS_ENV, "component") == "plotly_chart":
        return None
    if not st.get_option("server.enableStaticServing") or not _static_assets():
        return None
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"{'/' + base if base else ''}/app/static/{STATIC_MODULE.name}?v={_module_version()}"


def _live_chart(url: str):
    """The live chart component, registered once per process (its loader and its element)."""
    global _component
    if _component is None:
        html = (f'<div class="bnlab-chart" data-module="{url}" style="width:100%"></div>'
                '<div class="bnlab-chart-note" style="color:#b00020"></div>')
        # in the page, not a shadow root: plotly.js puts its styles in the document
        _component = st.components.v2.component(LIVE_CHART, html=html, js=_LOADER,
                                                isolate_styles=False)
    return _component


def shown_figure(element) -> dict | None:
    """The figure (Plotly JSON: data and layout) that an element of a page carries: an
    st.plotly_chart element or a live chart component; None for any other element. For
    tests and checks that read a page's charts (AppTest's elements or their protos)."""
    proto = getattr(element, "proto", element)
    if getattr(element, "type", None) == "plotly_chart" or type(proto).__name__ == "PlotlyChart":
        return json.loads(proto.spec)
    if getattr(proto, "component_name", "") == LIVE_CHART and proto.WhichOneof("data") == "bytes":
        return json.loads(proto.bytes)["figure"]
    return None


def show_figure(fig, key: str, config: dict | None = None, theme: str | None = None,
                **events):
    """Show a figure (plain dict, plotly Figure or PreparedFigure) full width with the live
    chart config (no zoom; PNG download) and this session's chart theme, drawn in place by the
    live chart component. `events` (on_select, selection_mode: a chart students click on) go to
    `st.plotly_chart` instead, whose return value is returned."""
    prepared = fig if isinstance(fig, PreparedFigure) else prepare(fig, theme or chart_theme())
    config = LIVE_CONFIG if config is None else config
    url = None if events else module_url()
    if url is None:
        return st.plotly_chart(prepared, key=key, width="stretch", config=config, **events)
    _live_chart(url)(key=f"bnlab-chart:{key}", data=prepared.wire(config), width="stretch")
    return None


# ---------------------------------------------------------------------------- the live charts

_FIGURES: OrderedDict = OrderedDict()
_FIGURES_LOCK = threading.Lock()
_FIGURES_MAX = 256


def chart(builder: Callable, snap: RunSnapshot, *args, key: str, **kwargs) -> None:
    """Build a figure from the snapshot (once per run, step, arguments and chart theme for all
    viewers, encoded once for the wire) and show it with the live chart config (no zoom; PNG
    download): see bnlab_ui."""
    code = getattr(builder, "__code__", None)
    where = (code.co_filename, code.co_firstlineno) if code else (builder.__module__,)
    theme = chart_theme()
    cache_key = (where, builder.__qualname__, snap.key, snap.step, snap.status,
                 tuple(v.step for v in snap.nets.values()), repr(args), repr(sorted(kwargs.items())),
                 theme, get_language())  # one prepared figure per language too
    with _FIGURES_LOCK:
        fig = _FIGURES.get(cache_key)
        if fig is not None:
            _FIGURES.move_to_end(cache_key)
    if fig is None:
        fig = prepare(builder(snap, *args, **kwargs), theme)
        with _FIGURES_LOCK:
            _FIGURES[cache_key] = fig
            while len(_FIGURES) > _FIGURES_MAX:
                _FIGURES.popitem(last=False)
    show_figure(fig, key=key, config=LIVE_CONFIG)
