"""Showing a figure built as plain data (bn_core.figures) in the page, drawn in place on every
live refresh, and the chart theme of each session.

A figure is prepared once (`prepare`: the session's theme applied, numpy arrays encoded as
plotly's base64 typed arrays, exactly as plotly's own `Figure.to_dict()` writes them) and shared
by every viewer. `show_figure` hands it to the live chart component: a Streamlit component (v2,
in the page) whose identity is its key, so a new figure is a new payload for the same element
and its script (assets/live_chart.js) redraws it with `Plotly.react`; the payload (the JSON
`st.plotly_chart` would send, the chart config and style.PAGE_TEMPLATE) is encoded once per
figure. A chart with events (a chart students click on) still goes through `st.plotly_chart`,
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
import json
import os
import shutil
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

    def wire(self, src: str, config: dict) -> bytes:
        """What the live chart component is sent for this figure: UTF-8 JSON of plotly.js's
        URL, the chart config, the page's template (style.PAGE_TEMPLATE, for a figure without
        one) and the figure (the JSON st.plotly_chart would send), encoded once per figure and
        config for every viewer."""
        key = (src, json.dumps(config, sort_keys=True))
        cache = self.__dict__.setdefault("_wire", {})
        out = cache.get(key)
        if out is None:
            out = ('{"src":%s,"config":%s,"template":%s,"figure":%s}' % (
                json.dumps(src), key[1], _PAGE_TEMPLATE_JSON,
                plotly.io.to_json(self._spec, validate=False))
                   ).encode("utf-8")
            cache[key] = out
        return out

    __hash__ = object.__hash__


_PAGE_TEMPLATE_JSON = json.dumps(PAGE_TEMPLATE, separators=(",", ":"))
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
# and its script (assets/live_chart.js) redraws with Plotly.react. plotly.js itself comes from
# the installed plotly package, served by Streamlit's static file serving (app/static/, enabled
# in .streamlit/config.toml), so nothing is fetched from the internet and the browser caches it.
APP_DIR = Path(__file__).resolve().parents[1]
STATIC_PLOTLY = APP_DIR / "static" / "plotly.min.js"
PACKAGE_PLOTLY = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
# BNLAB_CHARTS=plotly_chart draws every chart with st.plotly_chart as before (for comparing).
CHARTS_ENV = "BNLAB_CHARTS"
_LIVE_HTML = ('<div class="bnlab-chart" style="width:100%"></div>'
              '<div class="bnlab-chart-note" style="color:#b00020"></div>')
LIVE_CHART = "bnlab_live_chart"
_live_chart = st.components.v2.component(
    LIVE_CHART, html=_LIVE_HTML, isolate_styles=False,  # plotly.js styles the document
    js=(Path(__file__).parent / "assets" / "live_chart.js").read_text(encoding="utf-8"))
_static_ready: bool | None = None
_static_lock = threading.Lock()


def _static_plotly() -> bool:
    """plotly.js is in the app's static folder (copied from the installed plotly package once
    per process when missing or different; a folder we cannot write leaves it False)."""
    global _static_ready
    if _static_ready is None:
        with _static_lock:
            if _static_ready is None:
                try:
                    src = PACKAGE_PLOTLY.stat().st_size
                    if not STATIC_PLOTLY.exists() or STATIC_PLOTLY.stat().st_size != src:
                        STATIC_PLOTLY.parent.mkdir(exist_ok=True)
                        tmp = STATIC_PLOTLY.with_name(f".plotly.{os.getpid()}.js")
                        shutil.copyfile(PACKAGE_PLOTLY, tmp)
                        os.replace(tmp, STATIC_PLOTLY)   # atomic: servers sharing the folder
                    _static_ready = True
                except OSError:
                    _static_ready = False
    return _static_ready


def plotly_src() -> str | None:
    """The URL the browser loads plotly.js from for the live chart component, or None when
    charts go through st.plotly_chart (static serving off, the static folder not writable, or
    BNLAB_CHARTS=plotly_chart)."""
    if os.environ.get(CHARTS_ENV, "component") == "plotly_chart":
        return None
    if not st.get_option("server.enableStaticServing") or not _static_plotly():
        return None
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"{'/' + base if base else ''}/app/static/plotly.min.js?v={plotly.__version__}"


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
    src = None if events else plotly_src()
    if src is None:
        return st.plotly_chart(prepared, key=key, width="stretch", config=config, **events)
    _live_chart(key=f"bnlab-chart:{key}", data=prepared.wire(src, config), width="stretch")
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
