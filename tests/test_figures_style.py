"""Tests for bn_core/figures/style.py: subplot domains (as make_subplots computes them),
readable log and step ticks, cosine ranges, wrapped titles, legend placement, the chart
themes; and that building figures never touches plotly.graph_objects."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from plotly.subplots import make_subplots

from bn_core.figures import style

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("rows, cols, kw, mine", [
    (1, 3, {"horizontal_spacing": 0.04}, {"h_spacing": 0.04}),
    (2, 4, {"horizontal_spacing": 0.06, "vertical_spacing": 0.12},
     {"h_spacing": 0.06, "v_spacing": 0.12}),
    (1, 3, {"horizontal_spacing": 0.1, "column_widths": [0.34, 0.34, 0.32]},
     {"h_spacing": 0.1, "column_widths": [0.34, 0.34, 0.32]}),
    (3, 2, {}, {}),  # make_subplots' default spacing
])
def test_subplot_domains_are_make_subplots_domains(rows, cols, kw, mine):
    reference = make_subplots(rows=rows, cols=cols, **kw).layout
    layout = {}
    cells = style.subplot_grid(layout, rows, cols, **mine)
    for r in range(rows):
        for c in range(cols):
            cell = cells[r][c]
            ref_x = reference[style.layout_key(cell["x"])].domain
            ref_y = reference[style.layout_key(cell["y"])].domain
            assert layout[style.layout_key(cell["x"])]["domain"] == pytest.approx(ref_x, abs=1e-4)
            assert layout[style.layout_key(cell["y"])]["domain"] == pytest.approx(ref_y, abs=1e-4)
            assert layout[style.layout_key(cell["x"])]["anchor"] == cell["y"]


def test_domains_refuse_impossible_spacing():
    with pytest.raises(ValueError, match="no room"):
        style.domains(4, 0.4)
    with pytest.raises(ValueError, match="weights"):
        style.domains(3, 0.1, [1, 2])


def test_shared_axes_and_panel_titles():
    layout = style.base_layout("title")
    cells = style.subplot_grid(layout, 2, 3, shared_x=True, shared_y="rows",
                               titles=["a", "a much longer title that cannot fit one panel", "c"],
                               x_title="step", y_title="value")
    assert layout["yaxis2"]["matches"] == "y" and layout["yaxis2"]["showticklabels"] is False
    assert "matches" not in layout["yaxis4"] and layout["yaxis5"]["matches"] == "y4"
    assert layout["xaxis"]["matches"] == "x4" and "matches" not in layout["xaxis4"]
    notes = [a for a in layout["annotations"] if a["yanchor"] == "bottom"]
    assert [n["x"] for n in notes] == pytest.approx(
        [sum(cells[0][c]["xdomain"]) / 2 for c in range(3)], abs=1e-4)
    assert "<br>" in notes[1]["text"] and "<br>" not in notes[0]["text"]
    assert layout["margin"]["t"] > 60  # room above for the two-line panel title
    shared = [a for a in layout["annotations"] if a["text"] == "step"]
    assert len(shared) == 1 and "title" not in layout["xaxis4"]  # 3 columns: one x title
    assert layout["yaxis"]["title"]["text"] == "value" and "title" not in layout["yaxis2"]


def test_log_ticks_read_in_full():
    narrow = style.log_ticks([0.3, 4.0])
    assert narrow["ticktext"] == ["0.1", "0.2", "0.5", "1", "2", "5", "10"]
    assert narrow["tickvals"] == pytest.approx([0.1, 0.2, 0.5, 1, 2, 5, 10])
    mid = style.log_ticks([2e-4, 3e-1])  # four decades: 1-3 steps
    assert "0.003" in mid["ticktext"] and "3\u00d710\u207b\u2074" in mid["ticktext"]
    wide = style.log_ticks([1e-9, 10.0])
    assert wide["ticktext"][0] == "10\u207b\u2079" and "5" not in wide["ticktext"]
    huge = style.log_ticks([1e-16, 1.0])  # 16 decades: every second power
    assert len(huge["tickvals"]) == 9
    assert style.tick_label(2000.0) == "2,000" and style.tick_label(0.5) == "0.5"
    for values, gap in (([0.5], 1), ([5e-5, 2e-4], 1), ([3.0, 3000.0], 1), ([1e-12, 1e-3], 10)):
        ticks = style.log_ticks(values)["tickvals"]  # ticks reach both ends of the data
        assert ticks[0] <= min(values) * 3.1 and ticks[-1] >= max(values) / 3.1 / gap


def test_step_ticks_are_integers():
    assert style.step_ticks() == {"tickformat": ",d"}
    assert style.step_ticks(3000) == {"tickformat": ",d", "range": [0, 3000]}
    assert style.step_ticks(5)["dtick"] == 1  # never 0.5, 1.5 on a 5-step run


def test_cosine_range_shows_the_spread_with_a_floor():
    assert style.cosine_range([0.999, 1.0]) == [0.99, pytest.approx(1.0004)]
    low, high = style.cosine_range([0.2, 0.99])
    assert 0.1 < low < 0.2 and high > 1.0
    assert style.cosine_range([-1.0])[0] == -1.02
    assert style.cosine_range([])[0] == pytest.approx(-0.08)
    assert style.cosine_range([np.nan, 0.5])[0] < 0.5


def test_wrap_keeps_the_words_and_balances_lines():
    text = "(a) Held-out accuracy on MNIST: bundled 5,000-digit subset (test images never trained on)"
    wrapped = style.wrap(text, 70)
    assert wrapped.replace("<br>", " ") == text and wrapped.count("<br>") == 1
    assert all(len(line) <= 70 for line in wrapped.split("<br>"))
    assert style.wrap("short", 70) == "short"


def test_wrap_counts_display_width_so_chinese_titles_fit():
    # a Chinese character is drawn about as wide as two Latin letters: 37 of them are 74 units
    title = "隐藏层输入分布的百分位带：批归一化网络保持稳定，而普通网络的分布随训练漂移"
    assert style.text_width(title) == 2 * len(title)
    assert style.text_width("<b>BN</b> 网络") == 7   # tags count nothing, a space counts 1
    wrapped = style.wrap(title, 40)
    lines_ = wrapped.split("<br>")
    assert "".join(lines_) == title            # broken between characters, nothing dropped
    assert len(lines_) == 2 and all(style.text_width(line) <= 40 for line in lines_)
    assert not any(line.startswith(("，", "。", "：")) for line in lines_)
    # counted in characters (37 <= 70) this 74-unit title stayed on one line, cut by the chart
    assert style.wrap(title, 70) != title
    mixed = style.wrap("普通网络 (plain) 与 BN 网络：第 300 步的准确率", 20)
    assert "plain" in mixed and all(style.text_width(x) <= 20 for x in mixed.split("<br>"))
    assert "(plain)" in mixed.replace("<br>", " ")   # a Latin word is never split


def test_panel_titles_in_chinese_are_wrapped_to_their_panel():
    layout = style.base_layout("t")
    style.subplot_grid(layout, 1, 3, titles=["普通网络：每一层输入的百分位带随训练的变化"] * 3)
    for note_ in layout["annotations"]:
        widest = max(style.text_width(line) for line in note_["text"].split("<br>"))
        assert widest * style.CHAR_PX * style.SUBTITLE_SIZE / 15 <= style.CHART_PX / 3


def test_legends_go_where_they_cover_nothing():
    short = style.figure([{"type": "scatter", "name": "Plain"}, {"type": "scatter", "name": "BN"}],
                         style.base_layout("t", height=300))
    assert short["layout"]["legend"]["y"] == 1.02 and short["layout"]["height"] == 300
    names = [{"type": "scatter", "name": f"a long legend entry number {i}"} for i in range(4)]
    long = style.figure(names, style.base_layout("t", height=300))
    legend = long["layout"]["legend"]
    assert legend["yref"] == "container" and legend["y"] == 0 and legend["yanchor"] == "bottom"
    assert long["layout"]["height"] > 300  # the plot keeps its height
    assert long["layout"]["margin"]["b"] > 70
    assert style.legend_rows(["x" * 80] * 3) == 3
    hidden = style.figure([{"type": "heatmap", "name": "n"}], style.base_layout("t"))
    assert "legend" not in hidden["layout"]


def test_no_template_and_the_house_style():
    layout = style.base_layout("t", "x", "y")
    assert "template" not in json.dumps(layout)
    assert layout["paper_bgcolor"] == layout["plot_bgcolor"] == "white"
    assert layout["xaxis"]["gridcolor"] == style.GRID_COLOR and layout["font"]["size"] == 15
    assert "title" not in style.LAYOUT  # the constant is never modified by a build
    style.base_layout("another")["font"]["size"] = 99
    assert style.LAYOUT["font"]["size"] == 15


def test_themes():
    fig = style.figure(
        [{"type": "scatter", "x": np.zeros(3, np.float32), "y": np.ones(3, np.float32),
          "line": {"color": "#0072B2", "width": 2}, "fillcolor": "#0072B233",
          "marker": {"line": {"color": "white"}}},
         {"type": "heatmap", "z": np.zeros((2, 2), np.uint8),
          "colorscale": [[0.0, "#ffffff"], [1.0, "#1a1a1a"]], "colorbar": {"title": {"text": "c"}}}],
        style.base_layout("t", "x", "y", annotations=[style.note("n", 0, 0)]))
    assert style.apply_theme(fig, "light") is fig
    dark = style.apply_theme(fig, "dark")
    assert dark["layout"]["paper_bgcolor"] == style.DARK_BG
    assert dark["layout"]["xaxis"]["tickfont"]["color"] == style.DARK_INK
    assert dark["data"][0]["line"]["color"] == "#56B4E9"  # Okabe-Ito blue -> sky blue
    assert dark["data"][0]["fillcolor"].startswith("rgba(86, 180, 233, 0.2")
    assert dark["data"][0]["marker"]["line"]["color"] == style.DARK_BG
    assert dark["data"][1]["colorscale"][0][1] == style.DARK_BG
    assert dark["data"][1]["colorscale"][1][1] > "#D"  # near-black became light
    assert dark["data"][1]["colorbar"]["tickfont"]["color"] == style.DARK_INK
    assert dark["layout"]["annotations"][0]["font"]["color"] == style.DARK_INK
    assert dark["data"][0]["line"]["width"] > 2
    assert dark["data"][0]["x"] is fig["data"][0]["x"]  # arrays are shared, not copied
    assert fig["layout"]["paper_bgcolor"] == "white"  # the built figure is left as it was
    contrast = style.apply_theme(fig, "contrast")
    assert contrast["layout"]["font"]["color"] == "#000000"
    assert contrast["layout"]["font"]["size"] > style.FONT_SIZE
    assert contrast["data"][0]["line"]["color"] == "#0072B2"
    assert style.theme_color("#888888", "contrast") < "#888888"  # greys get darker
    with pytest.raises(ValueError, match="light, dark, contrast"):
        style.theme_layout("sepia")


def test_the_projector_theme_sizes_the_text_streamlit_would_draw_small():
    """style.PROJECTOR (the projector view's, offered to nobody): the ticks, axis titles, legend
    and title a figure leaves unsized get the projector's sizes (Streamlit's chart theme would
    draw them at 12-16 px); a size the builder set is kept, scaled; a y-axis title is wrapped
    again to its panel's height at the larger size."""
    assert style.PROJECTOR not in style.THEMES and style.PROJECTOR in style.ALL_THEMES
    layout = style.base_layout("t", "training step", "accuracy of the nets (fraction correct)",
                               height=260)
    layout["xaxis2"] = style.axis(None, tickfont={"size": 10})
    fig = style.figure(
        [{"type": "scatter", "x": np.zeros(3, np.float32), "y": np.ones(3, np.float32),
          "name": "BN", "line": {"color": "#0072B2", "width": 2}},
         {"type": "heatmap", "z": np.zeros((2, 2), np.uint8), "colorbar": {"title": {"text": "c"}}}],
        layout)
    built_title = fig["layout"]["yaxis"]["title"]["text"]
    out = style.apply_theme(fig, style.PROJECTOR)["layout"]
    text = style.PROJECTOR_TEXT
    assert out["xaxis"]["tickfont"]["size"] == text["tick"]
    assert out["xaxis"]["title"]["font"]["size"] == text["axis_title"]
    assert out["legend"]["font"]["size"] == text["legend"]
    assert out["title"]["font"]["size"] == text["title"]
    assert out["xaxis2"]["tickfont"]["size"] == 13  # the builder's 10, scaled like every size
    assert out["font"]["color"] == "#000000" and out["font"]["size"] > style.FONT_SIZE + 2
    y_title = out["yaxis"]["title"]["text"]
    assert style.lines(y_title) > 1 and y_title.replace("<br>", " ") == \
        "accuracy of the nets (fraction correct)"
    assert style.apply_theme(fig, style.PROJECTOR)["data"][1]["colorbar"]["tickfont"]["size"] \
        == text["colorbar"]
    assert fig["layout"]["yaxis"]["title"]["text"] == built_title  # the built figure is kept
    assert style.lines(y_title) > style.lines(built_title)  # 18 px letters: more lines
    assert style.theme_layout(style.PROJECTOR)["font"]["color"] == "#000000"


def test_building_figures_never_imports_graph_objects():
    """A refresh builds data only: in a fresh process, training a run and building every
    figure of a live page leaves plotly.graph_objects and plotly.subplots unimported."""
    code = """
import sys
from bn_core.config import RunConfig
from bn_core.engine.training import train_to_end
from bn_core.figures import activations, distributions, figure1_page, gradients, shift
snap = train_to_end(RunConfig(dataset="moons", n_samples=100, depth=2, width=4, batch_size=20,
                              steps=20, probe_every=10, eval_every=10, grid_resolution=10,
                              heldout_size=20))
figs = [activations.activation_input_figure(snap, 1), activations.affine_figure(snap, 1),
        distributions.input_histogram_heatmaps(snap, 1), distributions.moment_drift_figure(snap, [0, 1]),
        figure1_page.percentile_bands_chart(snap, 1, False), gradients.gradient_heatmap_figure(snap),
        gradients.training_curves_figure(snap), shift.decision_regions_chart(snap)]
assert all(isinstance(f, dict) for f in figs)
print(sorted(m for m in sys.modules if m.startswith("plotly.")))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = out.stdout.strip()
    assert "plotly.graph_objects" not in loaded and "plotly.graph_objs" not in loaded
    assert "plotly.subplots" not in loaded
