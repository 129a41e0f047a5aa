"""Tests for bnlab_ui/charts.py: the display path of figures built as data. What it sends is
plotly's own JSON of the validated figure (typed arrays included), through the live chart
component (key, config, the page's template and the session's chart theme kept; st.plotly_chart
for a chart with events or when charts are switched back), and bnlab_ui.chart uses it."""
from __future__ import annotations

import base64
import json
import sys

import numpy as np
import plotly.graph_objects as go
import plotly.io
import pytest
from plotly.basedatatypes import BaseFigure
from streamlit.testing.v1 import AppTest

from bn_core.config import RunConfig
from bn_core.engine.training import train_to_end
from bn_core.figures.style import DARK_BG, LIVE_CONFIG, PAGE_TEMPLATE
from bnlab_ui import charts

ARRAYS = {
    "f32": np.linspace(0, 1, 7, dtype=np.float32),
    "f64": np.array([0.1, 1e-300, 3.5]),
    "steps": np.arange(0, 60_000, 20, dtype=np.int64),   # plotly narrows int64 to int32
    "small": np.array([1, 2, 3], dtype=np.int64),        # ... or to int8
    "grid": np.arange(12, dtype=np.uint8).reshape(3, 4),
}


@pytest.fixture(autouse=True)
def keep_main_module():
    """AppTest installs each script as sys.modules["__main__"] and leaves it there; a later
    multiprocessing spawn (reproduce --jobs 2, worker processes) would re-run that script."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


def sample_figure() -> dict:
    return {"data": [
        {"type": "scatter", "x": ARRAYS["steps"], "y": ARRAYS["f32"][:1].repeat(3000),
         "mode": "lines", "name": "a", "line": {"color": "#0072B2", "width": 3}},
        {"type": "heatmap", "z": ARRAYS["grid"], "x": ARRAYS["small"], "y": ARRAYS["f64"],
         "colorscale": [[0.0, "#ffffff"], [1.0, "#222222"]], "showscale": False},
        {"type": "scatter", "x": [0, 1], "y": [None, 2.0], "mode": "markers",
         "error_y": {"type": "data", "array": ARRAYS["f32"][:2]}},
    ], "layout": {"title": {"text": "t"}, "xaxis": {"range": [0, 1]},
                  "shapes": [{"type": "line", "x0": 0, "x1": 1, "y0": 0, "y1": 0,
                              "line": {"color": "#888888"}}]}}


def test_encode_writes_arrays_as_plotly_does():
    fig = sample_figure()
    ours = charts.encode(fig)
    theirs = go.Figure(fig).to_dict()
    theirs["layout"].pop("template", None)
    assert ours == theirs
    assert ours["data"][0]["x"]["dtype"] == "i4" and ours["data"][1]["x"]["dtype"] == "i1"
    assert ours["data"][1]["z"] == {"dtype": "u1", "shape": "3, 4",
                                    "bdata": base64.b64encode(ARRAYS["grid"]).decode()}
    assert ours["data"][2]["error_y"]["array"]["dtype"] == "f4"
    assert isinstance(fig["data"][0]["x"], np.ndarray)  # the input is left as it was


@pytest.mark.parametrize("array", [
    np.arange(5, dtype=np.int64), np.arange(0, 70_000, dtype=np.int64),
    np.array([-200, 5], np.int64), np.array([2 ** 40], np.int64), np.arange(5, dtype=np.uint64),
    np.linspace(0, 1, 5, dtype=np.float32), np.zeros((3, 4), np.uint8),
    np.zeros((2, 4))[:, ::2], np.arange(6, dtype=np.int16).reshape(2, 3), np.array([1e300]),
    np.array([], np.float32), np.array([True, False]), np.array([1.5], dtype=">f8")])
def test_typed_arrays_are_plotlys(array):
    """The fast encoder writes exactly what plotly's own to_typed_array_spec writes."""
    from _plotly_utils.utils import to_typed_array_spec

    ours, theirs = charts.typed_array(array), to_typed_array_spec(array)
    if isinstance(theirs, dict):
        assert ours == theirs
    else:
        assert not isinstance(ours, dict) and np.array_equal(ours, theirs)


def test_the_wire_json_is_the_validated_figures_json():
    fig = sample_figure()
    wire = json.loads(charts.spec_json(fig))
    reference = json.loads(plotly.io.to_json(go.Figure(fig)))
    reference["layout"].pop("template", None)  # plotly adds its default; we send none
    assert wire == reference
    assert "template" not in wire["layout"]


def test_prepared_figure_is_taken_as_validated_and_shared():
    prepared = charts.prepare(sample_figure())
    assert isinstance(prepared, BaseFigure)
    assert prepared.to_dict() is prepared.to_dict()  # built once, never copied per viewer
    assert charts.prepare(prepared) is prepared
    assert "3 traces" in repr(prepared)
    from_go = charts.prepare(go.Figure(sample_figure()))  # plotly figures still work
    assert from_go.to_dict()["data"][0]["x"]["dtype"] == "i4"


def test_themes_are_applied_once_when_preparing():
    dark = json.loads(charts.spec_json(charts.prepare(sample_figure(), "dark")))
    assert dark["layout"]["paper_bgcolor"] == DARK_BG
    assert dark["data"][1]["colorscale"][0][1] == DARK_BG  # white -> the background
    with pytest.raises(ValueError, match="light, dark, contrast"):
        charts.prepare(sample_figure(), "neon")


def _page(fig, theme=None):
    from bnlab_ui import charts
    from bn_core.figures.style import LIVE_CONFIG

    if theme:
        charts.set_chart_theme(theme)
    charts.show_figure(fig, key="the-chart", config=LIVE_CONFIG)


def shown(at) -> dict:
    """The figure of the page's one chart (a live chart component or st.plotly_chart)."""
    (element,) = [e for e in at.get("bidi_component") + at.get("plotly_chart")
                  if charts.shown_figure(e) is not None]
    return charts.shown_figure(element)


def test_show_figure_sends_the_wire_json_with_key_config_and_template():
    fig = sample_figure()
    at = AppTest.from_function(_page, args=(fig,)).run()
    assert not at.exception
    assert not at.get("plotly_chart")               # drawn in place by the component
    (element,) = at.get("bidi_component")
    assert element.proto.component_name == charts.LIVE_CHART
    payload = json.loads(element.proto.bytes)
    assert set(payload) == {"config", "figure"}
    assert payload["figure"] == json.loads(charts.spec_json(fig))
    assert charts.shown_figure(element) == payload["figure"]
    assert payload["config"] == LIVE_CONFIG
    # what every chart shares is served once, not sent with each chart: the element carries
    # a loader of under 1 KB and the module's URL
    assert len(element.proto.js_content) + len(element.proto.html_content) < 1200
    assert f'data-module="{charts.module_url()}"' in element.proto.html_content
    # the element's identity is its key, not the figure: a new figure redraws the same chart
    assert element.proto.id.endswith("bnlab-chart:the-chart")
    other = AppTest.from_function(_page, args=({"data": [], "layout": {}},)).run()
    assert other.get("bidi_component")[0].proto.id == element.proto.id
    # one encoding per figure and config, for every viewer
    prepared = charts.prepare(fig)
    assert prepared.wire(LIVE_CONFIG) is prepared.wire(LIVE_CONFIG)


def test_the_static_folder_serves_the_installed_plotly_and_the_filled_in_script():
    # .streamlit/config.toml turns static serving on; the URL changes with the script
    assert charts.module_url().startswith("/app/static/bnlab-live-chart.js?v=")
    assert charts._static_assets()
    assert charts.STATIC_PLOTLY.read_bytes() == charts.PACKAGE_PLOTLY.read_bytes()
    assert charts.STATIC_PLOTLY.parent == charts.STATIC_MODULE.parent == charts.APP_DIR / "static"
    served = charts.STATIC_MODULE.read_text(encoding="utf-8")
    assert served == charts.module_text() and "__PAGE_TEMPLATE__" not in served
    assert f"plotly.min.js?v={plotly.__version__}" in served
    template = served.split("const PAGE_TEMPLATE = ", 1)[1].split(";", 1)[0]
    assert json.loads(template) == PAGE_TEMPLATE


def _clickable_page(fig):
    from bnlab_ui import charts

    charts.show_figure(fig, key="clicks", on_select="rerun", selection_mode="points")


def test_charts_with_events_and_the_old_path_use_st_plotly_chart(monkeypatch):
    fig = sample_figure()
    at = AppTest.from_function(_clickable_page, args=(fig,)).run()
    assert not at.exception and not at.get("bidi_component")
    (element,) = at.get("plotly_chart")
    assert json.loads(element.proto.spec) == json.loads(charts.spec_json(fig))
    assert element.proto.theme == "streamlit"
    monkeypatch.setenv(charts.CHARTS_ENV, "plotly_chart")
    at = AppTest.from_function(_page, args=(fig,)).run()
    assert not at.exception and not at.get("bidi_component")
    (element,) = at.get("plotly_chart")
    assert json.loads(element.proto.config) == LIVE_CONFIG
    assert "the-chart" in element.proto.id


def test_the_session_theme_reaches_the_chart():
    at = AppTest.from_function(_page, args=(sample_figure(), "contrast")).run()
    spec = shown(at)
    assert spec["layout"]["font"]["color"] == "#000000"
    assert spec["data"][0]["line"]["width"] > 3  # thicker lines for a projector
    with pytest.raises(ValueError, match="allowed: light, dark, contrast"):
        charts.set_chart_theme("neon")


def _live_chart(snap, theme):
    import streamlit as st

    import bnlab_ui as ui
    from bn_core.figures.figure1 import accuracy_figure
    from bnlab_ui import charts

    charts.set_chart_theme(theme)
    ui.chart(lambda s: accuracy_figure(s.nets), snap, key="acc")
    st.session_state["cached"] = len(__import__("bnlab_ui.charts").charts._FIGURES)


def test_ui_chart_builds_once_per_step_and_theme():
    snap = train_to_end(RunConfig(dataset="moons", n_samples=100, depth=1, width=4,
                                  batch_size=20, steps=20, probe_every=10, eval_every=10,
                                  grid_resolution=0, heldout_size=20))
    light = AppTest.from_function(_live_chart, args=(snap, "light")).run()
    dark = AppTest.from_function(_live_chart, args=(snap, "dark")).run()
    assert not light.exception and not dark.exception
    light_spec = shown(light)
    dark_spec = shown(dark)
    assert light_spec["layout"]["paper_bgcolor"] == "white"
    assert dark_spec["layout"]["paper_bgcolor"] == DARK_BG
    assert light_spec["data"][1]["y"] == dark_spec["data"][1]["y"]  # same data, same bytes
    assert dark.session_state["cached"] >= 2  # one cached figure per theme


def _theme_toggle_page():
    import streamlit as st

    from bn_core.figures.style import THEME_LABELS, THEMES
    from bnlab_ui import charts

    choice = st.sidebar.segmented_control("Charts", THEMES, default=charts.chart_theme(),
                                          format_func=THEME_LABELS.get, key="chart-theme")
    charts.set_chart_theme(choice or "light")
    charts.show_figure({"data": [{"type": "scatter", "y": [1, 2]}], "layout": {}}, key="c")


def test_the_documented_theme_toggle_switches_the_charts():
    at = AppTest.from_function(_theme_toggle_page).run()
    assert not at.exception
    assert "paper_bgcolor" not in shown(at)["layout"]
    toggle = at.sidebar.get("button_group")[0]
    toggle.set_value("dark").run()
    spec = shown(at)
    assert spec["layout"]["paper_bgcolor"] == DARK_BG
    assert at.session_state[charts.THEME_STATE] == "dark"


def test_a_static_folder_that_cannot_be_written_falls_back_to_st_plotly_chart(monkeypatch,
                                                                                tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the static folder would go")
    monkeypatch.setattr(charts, "STATIC_PLOTLY", blocker / "plotly.min.js")
    monkeypatch.setattr(charts, "_static_ready", None)
    assert charts._static_assets() is False
    assert charts.module_url() is None
    at = AppTest.from_function(_page, args=(sample_figure(),)).run()
    assert not at.exception and not at.get("bidi_component")
    assert json.loads(at.get("plotly_chart")[0].proto.spec) == json.loads(
        charts.spec_json(sample_figure()))
