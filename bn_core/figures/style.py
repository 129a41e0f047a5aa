"""The house style of every chart, as plain data: one colour per net (Okabe-Ito: colour-blind
safe, readable on a projector), one constant layout and axis style, subplot domains computed
here (no `make_subplots`), readable log and step ticks, and the chart themes (light, dark,
high-contrast).

Figures are plain dicts {"data": [...], "layout": {...}} with numpy arrays (float32, int32,
uint8) that the display path sends as base64 typed arrays. No plotly template is embedded:
`LAYOUT` and `AXIS` spell out what the page needs of plotly's "plotly_white" (white
background, light grid, no tick marks, zero line) and Streamlit's own chart theme does the rest.

Themes: `apply_theme(fig, name)` returns a copy of a built figure drawn in theme `name`
("light" = as built, "dark", "contrast"); `theme_layout(name)` is the layout part of it.
The UI picks the theme per session (bnlab_ui.charts), builders never need to know.
"""
from __future__ import annotations

import math
import re
import unicodedata

import numpy as np
from plotly.colors import get_colorscale

from bn_core.config import NET_LABELS
from bn_core.i18n import N_, _
from bn_core.nets.zones import LINEAR_ZONE, SATURATION_THRESHOLD

NET_COLORS = {
    "plain": "#E69F00",        # orange
    "bn": "#0072B2",           # blue
    "noisy_bn": "#009E73",     # bluish green
    "noisy_plain": "#D55E00",  # vermillion
    "norm_only": "#56B4E9",    # sky blue
    "affine_only": "#CC79A7",  # reddish purple
    "layernorm": "#000000",    # black
    "groupnorm": "#D5A600",    # a darker Okabe-Ito yellow (#F0E442 is unreadable on white)
}
NET_DASH = {"plain": "solid", "bn": "solid", "noisy_bn": "dash", "noisy_plain": "dot",
            "norm_only": "dash", "affine_only": "dot", "layernorm": "solid",
            "groupnorm": "dashdot"}
SATURATED_FILL = "rgba(213, 94, 0, 0.10)"
LINEAR_FILL = "rgba(0, 158, 115, 0.08)"
FONT_SIZE = 15
INK = "#222222"             # curves and marks that are not a net's (the sigmoid, medians)
GUIDE = "#888888"           # reference lines (chance, 1 = no change)
SOFT_TEXT = "#555555"       # notes on an empty chart
GRID_COLOR = "#EBF0F8"      # plotly_white's grid
SUBTITLE_SIZE = 16          # panel titles (make_subplots' size)
# Live charts: no zoom/pan (a data change would reset it); PNG download kept.
LIVE_CONFIG = {"displaylogo": False, "scrollZoom": False, "doubleClick": False,
               "modeBarButtonsToRemove": ["zoom2d", "pan2d", "select2d", "lasso2d",
                                          "zoomIn2d", "zoomOut2d", "autoScale2d",
                                          "resetScale2d"],
               "toImageButtonOptions": {"format": "png", "scale": 2}}

# The page's live charts (bnlab_ui.charts' component) put this template under every figure:
# the look they had when st.plotly_chart drew them in Streamlit's chart theme, whose sizes
# the layouts here were tuned for (titles wrapped for bold 16 px text, ticks at 12 px): values
# read from that theme's template in the page, with the CJK fonts below added. A figure's own
# settings, and the dark and contrast themes', still win. Exported figures do not carry it.
_PAGE_FONT = '"Source Sans", "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", sans-serif'
_PAGE_GREY, _PAGE_LINE = "#808495", "#E6EAF1"
_PAGE_AXIS = {"gridcolor": _PAGE_LINE, "zerolinecolor": _PAGE_LINE, "tickcolor": _PAGE_LINE,
              "tickfont": {"color": _PAGE_GREY, "size": 12},
              "title": {"font": {"color": _PAGE_GREY, "size": 14}}}
PAGE_TEMPLATE = {"layout": {
    "font": {"color": _PAGE_GREY, "size": 12},
    "title": {"font": {"family": _PAGE_FONT, "size": 16, "color": "#2F2D2B", "weight": "bold"},
              "x": 0, "xanchor": "left", "pad": {"l": 4}},
    "legend": {"font": {"size": 12, "color": "#262730"}, "title": {"font": {"size": 12}}},
    "margin": {"pad": 8},
    "xaxis": {**_PAGE_AXIS, "showgrid": False, "zeroline": False,
              "title": {"font": {"color": _PAGE_GREY, "size": 14}, "standoff": 20}},
    "yaxis": {**_PAGE_AXIS, "title": {"font": {"color": _PAGE_GREY, "size": 14}, "standoff": 24}},
    "hoverlabel": {"bgcolor": "#FFFFFF", "bordercolor": "#DCD8D4",
                   "font": {"color": _PAGE_GREY, "size": 12}},
    "coloraxis": {"colorbar": {"tickfont": {"color": _PAGE_GREY, "size": 12},
                               "title": {"font": {"color": _PAGE_GREY, "size": 14}}}}}}
# Plotly's own font stack (the English look is unchanged), then DejaVu Sans (what Debian
# shows for it) and Noto Sans CJK SC (Debian fonts-noto-cjk): a browser falls back glyph by
# glyph, so Latin text keeps its font and Chinese is drawn in Noto, never as boxes.
FONT_FAMILY = ('"Open Sans", verdana, arial, "DejaVu Sans", "Noto Sans CJK SC", '
               '"Noto Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif')
# Axis titles and empty-chart notes the figure builders share (translated by the helpers
# above, marked here so the catalogue has them).
COMMON_LABELS = (N_("training step"), N_("input to the nonlinearity"), N_("mean"),
                 N_("accuracy (fraction correct)"), N_("training accuracy (fraction correct)"),
                 N_("x1 (data units)"), N_("x2 (data units)"), N_("value"), N_("feature"),
                 N_("value BN receives"), N_("share of values (%)"), N_("fraction of inputs"),
                 N_("training batch t"), N_("batch size m"), N_("weight matrix (bottom to top)"),
                 N_("beta (shift)"), N_("waiting for the first probe..."))

# The shared style, applied once per figure by `base_layout` (a copy, never mutated).
LAYOUT = {
    "font": {"size": FONT_SIZE, "family": FONT_FAMILY},
    "paper_bgcolor": "white", "plot_bgcolor": "white",
    "margin": {"l": 60, "r": 20, "t": 60, "b": 50},
    "dragmode": False, "hovermode": "x unified", "uirevision": "constant",
    "autotypenumbers": "strict",     # "1", "2" as categories stay categories
    "hoverlabel": {"align": "left"},
}
AXIS = {"gridcolor": GRID_COLOR, "linecolor": GRID_COLOR, "zerolinecolor": GRID_COLOR,
        "zerolinewidth": 2, "automargin": True, "fixedrange": True}
COLORBAR = {"outlinewidth": 0, "thickness": 14}
BAR_LINE = {"color": "white", "width": 0.5}   # plotly_white's bar outline
LEGEND_TOP = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 1.0, "xanchor": "right"}
LEGEND_TOP_CHARS = 36       # legends with more text than this (5 per entry for the key) go below
TITLE_CHARS = 64            # a title wider than this is wrapped: a lesson chart at 1280x720 is
                            # 484 px wide (measured); bold Latin ~6.9 px a letter, Chinese ~16 px
LINE_PX = 22                # height of one line of title or legend text
CHART_PX = 540              # the chart width the wrapping assumes (a lesson column at 1280 px: ~520-560)
CHAR_PX = 8.0               # average width of one character of panel-title text (16 px)
AXIS_CHAR_PX = 7.5          # ... and of axis-title text (15 px)


def named_scale(name: str) -> list:
    """A named plotly colour scale written out (as plotly's validation writes it)."""
    return [[float(pos), color] for pos, color in get_colorscale(name)]


VIRIDIS = named_scale("Viridis")
CIVIDIS = named_scale("Cividis")


def net_label(name: str) -> str:
    return _(NET_LABELS.get(name, name))


def f32(a) -> np.ndarray:
    """Downcast for a small payload (sent as a base64 typed array)."""
    return np.asarray(a, dtype=np.float32)


def steps32(a) -> np.ndarray:
    """Step numbers as int32 (half the bytes of the recorded int64)."""
    return np.asarray(a, dtype=np.int32)


def merged(base: dict, *overrides: dict | None) -> dict:
    """A new dict: `base` with each override merged in, nested dicts merged key by key
    (the inputs are never modified)."""
    out = {k: merged(v) if isinstance(v, dict) else v for k, v in base.items()}
    for over in overrides:
        for key, value in (over or {}).items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merged(out[key], value)
            else:
                out[key] = merged(value) if isinstance(value, dict) else value
    return out


TAG = re.compile(r"<[^>]*>")   # plotly's HTML-like tags (<b>, <i>, <sub>): no width
# no line starts with these (CJK closing punctuation) and none ends with the openers
NO_LINE_START = set("\uff0c\u3002\u3001\uff1a\uff1b\uff01\uff1f\uff09\u300b\u300d\u300f\u3011"
                    "\u201d\u2019,.:;!?)]%")
NO_LINE_END = set("\uff08\u300a\u300c\u300e\u3010\u201c\u2018([")


def char_width(ch: str) -> int:
    """Display width of one character: 2 for East Asian wide and full-width characters
    (a Chinese character is drawn about as wide as two Latin letters), 0 for combining marks,
    1 otherwise."""
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_width(text: str) -> int:
    """Display width of chart text in Latin-letter units (tags such as <b> count nothing)."""
    return sum(char_width(ch) for ch in TAG.sub("", text))


def _wrap_tokens(text: str) -> list[str]:
    """Pieces a line may break between: spaces, Latin words, and single wide characters
    (Chinese breaks between any two characters), punctuation and tags kept on their word."""
    tokens: list[str] = []
    for piece in re.findall(r"<[^>]*>|\s+|[^\s<]", text):
        if piece.isspace():
            tokens.append(" ")
            continue
        prev = tokens[-1] if tokens else ""
        shown = TAG.sub("", prev)
        joins = prev not in ("", " ") and (
            piece.startswith("<") or not shown or piece in NO_LINE_START
            or shown[-1] in NO_LINE_END
            or (char_width(piece) < 2 and char_width(shown[-1]) < 2))
        if joins:
            tokens[-1] += piece
        else:
            tokens.append(piece)
    return tokens


def _wrap_lines(tokens: list[str], width: int) -> list[str]:
    """Greedy lines of at most `width` display units (a token wider than that stands alone);
    a line breaks at a space (dropped) or between two tokens with no space."""
    out, line, used = [], "", 0
    for tok in tokens:
        if tok == " ":
            if line:
                line, used = line + " ", used + 1
            continue
        w = text_width(tok)
        if line and used + w > width:
            out.append(line.rstrip())
            line, used = "", 0
        line, used = line + tok, used + w
    if line.strip():
        out.append(line.rstrip())
    return out


def wrap(text: str, width: int) -> str:
    """`text` broken onto lines of at most about `width` display units (plotly's <br>; a
    Chinese character counts 2, see `text_width`), the lines balanced so the last is not a
    lone word. Latin text breaks at spaces, Chinese between characters."""
    width = max(8, width)
    total = text_width(text)
    if total <= width:
        return text
    tokens = _wrap_tokens(text)
    for n in range(math.ceil(total / width), len(tokens) + 1):
        for w in range(math.ceil(total / n), width + 1):
            parts = _wrap_lines(tokens, w)
            if len(parts) <= n:
                return "<br>".join(parts)
    return text


def lines(text: str) -> int:
    return text.count("<br>") + 1 if text else 0


def axis(title: str | None = None, **settings) -> dict:
    """One axis in the house style (no zoom), with its title (in the current language)."""
    out = merged(AXIS, settings)
    if title is not None:
        out["title"] = merged(out.get("title") or {}, {"text": _(title)})
    return out


def base_layout(title: str, x_title: str | None = None, y_title: str | None = None,
                height: int = 360, **overrides) -> dict:
    """The house layout with a title (wrapped if long), one x and one y axis, and overrides.
    Titles are given in English and shown in the current language (bn_core.i18n)."""
    text = wrap(_(title), TITLE_CHARS)
    layout = merged(LAYOUT, {
        "title": {"text": text, "x": 0.0, "xanchor": "left", "yref": "container", "y": 1.0,
                  "yanchor": "top", "pad": {"t": 14}}, "height": height,
        "margin": {"t": 60 + LINE_PX * (lines(text) - 1)},
        "xaxis": axis(fitted(x_title, CHART_PX - 80)), "yaxis": axis(fitted(y_title, height - 100))})
    return merged(layout, overrides)


def fitted(title: str | None, px: float) -> str | None:
    """An axis title in the current language, wrapped when it is longer than `px` (the
    plot's width for an x title, its height for a y title): a long one was cut at the edge."""
    return wrap(_(title), int(px / AXIS_CHAR_PX)) if title else title


def figure(data: list, layout: dict) -> dict:
    """A figure as plain data; the legend is placed where it covers neither data nor title.
    Empty shape and annotation lists are dropped (plotly drops them too: same JSON)."""
    for key in ("shapes", "annotations"):
        if key in layout and not layout[key]:
            del layout[key]
    place_legend(data, layout)
    return {"data": data, "layout": layout}


def legend_text(data: list) -> list[str]:
    """The names the legend shows (plotly shows a trace unless showlegend is False; heatmaps
    and traces without a name are not shown by default)."""
    out = []
    for t in data:
        show = t.get("showlegend")
        if show is False or (show is None and (t.get("type") in ("heatmap", "contour")
                                               or not t.get("name"))):
            continue
        out.append(t.get("name") or "")
    return out


def place_legend(data: list, layout: dict) -> None:
    """Legend above the chart at the right when it is short, the chart has one panel and a
    one-line title; otherwise under the chart (below the x-axis title), so it never covers
    data or titles. A layout that set its own legend position keeps it."""
    names = legend_text(data)
    if layout.get("showlegend") is False or not names:
        return
    if "y" in (layout.get("legend") or {}):
        return
    panels = sum(1 for k in layout if re.fullmatch(r"xaxis\d*", k))
    short = sum(text_width(n) + 5 for n in names) <= LEGEND_TOP_CHARS
    one_line = lines((layout.get("title") or {}).get("text", "")) <= 1
    if panels <= 1 and short and one_line:
        layout["legend"] = merged(LEGEND_TOP, layout.get("legend"))
        return
    legend_below(layout, names)


def legend_rows(names: list[str], size: int = FONT_SIZE - 2, width_px: int = CHART_PX) -> int:
    """How many rows a horizontal legend of these names takes (entries laid out as plotly
    does: left to right, wrapping when the next one would not fit)."""
    rows, used = 1, 0.0
    for name in names:
        entry = 60 + text_width(name) * size * 0.55  # the key (line sample), the text, the gap
        if used and used + entry > width_px - 80:
            rows, used = rows + 1, 0.0
        used += entry
    return rows


def legend_below(layout: dict, names: list[str] | None = None) -> None:
    """A horizontal legend at the bottom of the figure, under the x-axis title; the figure
    grows by the legend's height, so the plot keeps its size."""
    size = (layout.get("legend") or {}).get("font", {}).get("size", FONT_SIZE - 2)
    rows = legend_rows(names or [""], size, layout.get("width", CHART_PX))
    layout["legend"] = merged({"orientation": "h", "yref": "container", "y": 0.0,
                               "yanchor": "bottom", "x": 0.0, "xanchor": "left",
                               "font": {"size": size}}, layout.get("legend"))
    margin = layout.setdefault("margin", {})
    extra = rows * LINE_PX + 8
    margin["b"] = max(margin.get("b", 50), 70) + extra
    layout["height"] = layout.get("height", 360) + extra


# ---------------------------------------------------------------------------- subplots

def domains(n: int, spacing: float, weights=None) -> list[list[float]]:
    """[start, end] of n panels side by side in [0, 1], `spacing` apart, sized by `weights`
    (make_subplots' arithmetic); rounded to 4 decimals."""
    weights = list(weights) if weights is not None else [1.0] * n
    if len(weights) != n or n < 1:
        raise ValueError(f"domains: {n} panels but {len(weights)} weights")
    usable = 1.0 - spacing * (n - 1)
    if usable <= 0:
        raise ValueError(f"domains: spacing {spacing} leaves no room for {n} panels")
    total = float(sum(weights))
    out, start = [], 0.0
    for w in weights:
        width = usable * w / total
        out.append([round(start, 4), round(start + width, 4)])
        start += width + spacing
    out[-1][1] = 1.0
    return out


def axis_id(letter: str, k: int) -> str:
    """Plotly's id of the k-th (0-based) axis: "x", "x2", ..."""
    return letter if k == 0 else f"{letter}{k + 1}"


def layout_key(axis_ref: str) -> str:
    """"x2" -> "xaxis2"."""
    return f"{axis_ref[0]}axis{axis_ref[1:]}"


def subplot_grid(layout: dict, rows: int = 1, cols: int = 1, h_spacing: float | None = None,
                 v_spacing: float | None = None, column_widths=None, row_heights=None,
                 shared_x: bool = False, shared_y: bool | str = False,
                 titles: list[str] | None = None, x_title: str | None = None,
                 y_title: str | None = None) -> list[list[dict]]:
    """Lay out a rows x cols grid of panels in `layout` (axes in the house style, panel
    titles above each panel, wrapped to fit); returns cells[r][c] = {"x": "x2", "y": "y2"}.

    shared_x: columns share the bottom row's x axis (upper rows show no tick labels);
    shared_y (True or "rows"): each row shares its first panel's y axis. x_title goes under
    each bottom axis of up to two columns when it fits its panel, else once, centred (repeated
    titles collide in narrow panels); y_title on the first column's axes."""
    h = 0.2 / cols if h_spacing is None else h_spacing
    v = 0.3 / rows if v_spacing is None else v_spacing
    xs = domains(cols, h, column_widths)
    ys = domains(rows, v, list(reversed(row_heights)) if row_heights else None)[::-1]
    for key in [k for k in layout if re.fullmatch(r"[xy]axis\d*", k)]:
        del layout[key]
    cells = []
    chart_px = layout.get("width", CHART_PX)
    apart = cols <= 2 and x_title is not None and all(
        text_width(_(x_title)) * AXIS_CHAR_PX <= (x1 - x0) * (chart_px - 80) for x0, x1 in xs)
    for r in range(rows):
        row = []
        for c in range(cols):
            k = r * cols + c
            x, y = axis_id("x", k), axis_id("y", k)
            xa = axis(x_title if r == rows - 1 and apart else None, anchor=y, domain=xs[c])
            ya = axis(y_title if c == 0 else None, anchor=x, domain=ys[r])
            if shared_x and r < rows - 1:
                xa.update(matches=axis_id("x", (rows - 1) * cols + c), showticklabels=False)
            if shared_y and c > 0:
                ya.update(matches=axis_id("y", r * cols), showticklabels=False)
            layout[layout_key(x)], layout[layout_key(y)] = xa, ya
            row.append({"x": x, "y": y, "xdomain": xs[c], "ydomain": ys[r]})
        cells.append(row)
    if x_title and not apart:
        shared_x_title(layout, x_title)
    if titles:
        flat = [cell for row in cells for cell in row]
        notes = subplot_titles(flat, titles, chart_px=layout.get("width", CHART_PX))
        layout["annotations"] = layout.get("annotations", []) + notes
        first = max((lines(a["text"]) for a in notes[:cols]), default=0)
        margin = layout.setdefault("margin", {})
        title_lines = lines((layout.get("title") or {}).get("text", ""))
        margin["t"] = max(margin.get("t", 60), 26 + LINE_PX * (title_lines + first))
    return cells


def shared_x_title(layout: dict, text: str) -> None:
    """One x-axis title centred under a row of panels."""
    layout.setdefault("annotations", []).append(
        note(_(text), 0.5, 0, xanchor="center", yanchor="top", yshift=-28))
    margin = layout.setdefault("margin", {})
    margin["b"] = max(margin.get("b", 50), 75)


def subplot_titles(cells: list[dict], titles: list[str], size: int = SUBTITLE_SIZE,
                   chart_px: int = CHART_PX) -> list:
    """Panel titles centred above each cell (as make_subplots writes them), each wrapped to
    its panel's width (in a chart `chart_px` wide) so neighbours never overlap."""
    notes = []
    for cell, text in zip(cells, titles):
        if not text:
            continue
        x0, x1 = cell["xdomain"]
        chars = int((x1 - x0) * (chart_px - 80) / (CHAR_PX * size / 15))  # the plot area
        notes.append({"text": wrap(_(text), chars), "x": round((x0 + x1) / 2, 4),
                      "y": cell["ydomain"][1], "xref": "paper", "yref": "paper",
                      "xanchor": "center", "yanchor": "bottom", "showarrow": False,
                      "font": {"size": size}})
    return notes


def on(trace: dict, cell: dict) -> dict:
    """Put a trace on a grid cell's axes."""
    trace["xaxis"], trace["yaxis"] = cell["x"], cell["y"]
    return trace


def update_axes(layout: dict, letter: str, **settings) -> None:
    """Merge settings into every x (or y) axis of the layout."""
    for key in [k for k in layout if re.fullmatch(rf"{letter}axis\d*", k)]:
        layout[key] = merged(layout[key], settings)


# ---------------------------------------------------------------------------- marks

def hline(y: float, line: dict, x_ref: str = "x", y_ref: str = "y", layer: str = "above") -> dict:
    """A horizontal line across a panel (plotly's add_hline)."""
    return {"type": "line", "xref": f"{x_ref} domain", "x0": 0, "x1": 1, "yref": y_ref,
            "y0": y, "y1": y, "line": line, "layer": layer}


def vline(x: float, line: dict, x_ref: str = "x", y_ref: str = "y") -> dict:
    """A vertical line across a panel (plotly's add_vline)."""
    return {"type": "line", "xref": x_ref, "x0": x, "x1": x, "yref": f"{y_ref} domain",
            "y0": 0, "y1": 1, "line": line}


def band(lo: float, hi: float, fill: str, along: str = "y", x_ref: str = "x",
         y_ref: str = "y") -> dict:
    """A shaded band between lo and hi on one axis, across the panel, under the data."""
    if along == "y":
        return {"type": "rect", "xref": f"{x_ref} domain", "x0": 0, "x1": 1, "yref": y_ref,
                "y0": lo, "y1": hi, "fillcolor": fill, "line": {"width": 0}, "layer": "below"}
    return {"type": "rect", "xref": x_ref, "x0": lo, "x1": hi, "yref": f"{y_ref} domain",
            "y0": 0, "y1": 1, "fillcolor": fill, "line": {"width": 0}, "layer": "below"}


def note(text: str, x: float, y: float, x_ref: str = "paper", y_ref: str = "paper",
         **settings) -> dict:
    """A text annotation without an arrow."""
    return merged({"text": text, "x": x, "y": y, "xref": x_ref, "yref": y_ref,
                   "showarrow": False}, settings)


def legend_line(name: str, line: dict, **settings) -> dict:
    """A legend entry for a shape (a line no data point is drawn with)."""
    return merged({"type": "scatter", "x": [None], "y": [None], "mode": "lines", "name": name,
                   "line": line, "hoverinfo": "skip"}, settings)


def sigmoid_zone_shapes(activation: str, along: str = "y", x_ref: str = "x", y_ref: str = "y",
                        limit: float = 12.0) -> list[dict]:
    """Shade where the nonlinearity saturates (and its near-linear zone) along an axis."""
    if activation not in SATURATION_THRESHOLD:
        return []
    sat, lin = SATURATION_THRESHOLD[activation], LINEAR_ZONE[activation]
    return [band(sat, limit, SATURATED_FILL, along, x_ref, y_ref),
            band(-limit, -sat, SATURATED_FILL, along, x_ref, y_ref),
            band(-lin, lin, LINEAR_FILL, along, x_ref, y_ref)]


def empty_note(text: str) -> dict:
    """The message an empty chart shows in its middle."""
    return note(_(text), 0.5, 0.5, font={"size": 16, "color": SOFT_TEXT})


# ---------------------------------------------------------------------------- ticks and ranges

SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076"
                                           "\u2077\u2078\u2079")
PLAIN_DECADES = (-3, 4)  # 1-2-5 ticks between 0.001 and 9,999 are written as plain decimals


def power_of_ten(e: int) -> str:
    return "1" if e == 0 else "10" if e == 1 else f"10{str(e).translate(SUPERSCRIPT)}"


def tick_label(value: float) -> str:
    """A 1-2-5 tick in full: 0.5 (never a bare "5"), 2,000, or 5\u00d710\u207b\u2074."""
    e = math.floor(math.log10(value) + 1e-9)
    m = round(value / 10.0 ** e)
    if PLAIN_DECADES[0] <= e < PLAIN_DECADES[1]:
        return f"{value:,.{max(0, -e)}f}"
    return power_of_ten(e) if m == 1 else f"{m}\u00d7{power_of_ten(e)}"


def log_ticks(values) -> dict:
    """Tick values and labels for a log axis from the data it shows: 1-2-5 steps over up to
    two decades, 1-3 steps up to four, powers of ten beyond (every 2nd or 3rd one over very
    wide ranges), each labelled in full so 0.5 never reads as 5."""
    v = np.asarray(values, dtype=np.float64).ravel() if np.size(values) else np.zeros(0)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        lo, hi = 0, 1
    else:
        lo = math.floor(math.log10(v.min()) + 1e-9)
        hi = math.ceil(math.log10(v.max()) - 1e-9)
        hi = max(hi, lo + 1)
    span = hi - lo
    mantissas = (1, 2, 5) if span <= 2 else (1, 3) if span <= 4 else (1,)
    every = 1 if span <= 8 else 2 if span <= 16 else 3
    ticks = [m * 10.0 ** e for e in range(lo, hi + 1) for m in mantissas
             if m > 1 or (e - lo) % every == 0]
    if v.size:
        ticks = [t for t in ticks if v.min() / 3.1 <= t <= v.max() * 3.1] or ticks
    return {"tickmode": "array", "tickvals": [float(f"{t:.6g}") for t in ticks],
            "ticktext": [tick_label(t) for t in ticks]}


def log_axis(values, **settings) -> dict:
    """Settings of a log axis with readable ticks for `values`."""
    return {"type": "log", **log_ticks(values), **settings}


def step_ticks(last_step: int | float | None = None) -> dict:
    """Integer step ticks ("1,500", never "49.5"); a whole-run range when given."""
    out = {"tickformat": ",d"}
    if last_step is not None:
        top = max(1, int(last_step))
        out["range"] = [0, top]
        if top < 8:
            out["dtick"] = 1
    return out


def cosine_range(values, min_span: float = 0.01) -> list[float]:
    """A y range for cosines that shows their spread: from a little under the lowest value
    (never above 1 - min_span, never below -1) to just over 1 (no change)."""
    v = np.asarray(values, dtype=np.float64).ravel() if np.size(values) else np.zeros(0)
    v = v[np.isfinite(v)]
    low = float(v.min()) if v.size else 0.0
    bottom = max(-1.02, min(low - 0.08 * (1.0 - low), 1.0 - min_span))
    return [round(bottom, 4), round(1.0 + 0.04 * (1.0 - bottom), 4)]


# ---------------------------------------------------------------------------- themes

THEMES = ("light", "dark", "contrast")
THEME_LABELS = {"light": "Light", "dark": "Dark, high contrast (projector)",
                "contrast": "Light, high contrast (projector)"}
# The projector view's theme (?present=1), not one a viewer picks: "contrast" with larger text,
# for charts as wide as the page (the sidebar is closed) read from the back of a lecture room.
# Streamlit's own chart theme draws the ticks, axis titles, legend and title a figure leaves
# unsized at 12-16 px (its rem sizes); this theme sizes them (PROJECTOR_TEXT).
PROJECTOR = "projector"
ALL_THEMES = THEMES + (PROJECTOR,)
PROJECTOR_TEXT = {"tick": 17, "axis_title": 18, "legend": 17, "title": 20, "colorbar": 14}
DARK_BG = "#111111"
DARK_INK = "#F2F2F2"
# Net colours that are too dark on a dark background, and their Okabe-Ito replacements.
DARK_COLORS = {(0, 114, 178): (86, 180, 233)}   # blue -> sky blue

_THEME_LAYOUT = {
    "light": {},
    "dark": {
        "paper_bgcolor": DARK_BG, "plot_bgcolor": DARK_BG,
        "font": {"color": DARK_INK, "size": FONT_SIZE + 2},
        "title": {"font": {"color": DARK_INK}},
        "legend": {"font": {"color": DARK_INK}, "bgcolor": "rgba(0,0,0,0)"},
        "hoverlabel": {"bgcolor": "#222222", "font": {"color": DARK_INK}},
    },
    "contrast": {
        "paper_bgcolor": "#FFFFFF", "plot_bgcolor": "#FFFFFF",
        "font": {"color": "#000000", "size": FONT_SIZE + 2},
        "title": {"font": {"color": "#000000"}},
        "legend": {"font": {"color": "#000000"}},
        "hoverlabel": {"bgcolor": "#FFFFFF", "font": {"color": "#000000"}},
    },
}
_THEME_LAYOUT[PROJECTOR] = merged(_THEME_LAYOUT["contrast"], {"font": {"size": FONT_SIZE + 3}})
_THEME_AXIS = {
    "light": {},
    "dark": {"gridcolor": "#3A3A3A", "linecolor": "#3A3A3A", "zerolinecolor": "#5A5A5A",
             "tickfont": {"color": DARK_INK}, "title": {"font": {"color": DARK_INK}}},
    "contrast": {"gridcolor": "#C8C8C8", "linecolor": "#C8C8C8", "zerolinecolor": "#8C8C8C",
                 "tickfont": {"color": "#000000"}, "title": {"font": {"color": "#000000"}}},
}
_THEME_AXIS[PROJECTOR] = _THEME_AXIS["contrast"]
_THEME_SCALE = {"light": (1.0, 1.0), "dark": (1.35, 17 / 15), "contrast": (1.4, 17 / 15),
                PROJECTOR: (1.5, 1.3)}


def theme_layout(name: str) -> dict:
    """The layout overrides of theme `name` ("light": none; "dark": a dark background with
    light text; "contrast": black on white with larger text; PROJECTOR: "contrast" with larger
    text still). Axes, colours and line widths of a built figure change too: see
    `apply_theme`."""
    if name not in ALL_THEMES:
        raise ValueError(f"chart theme: got {name!r}; allowed: {', '.join(THEMES)}")
    return merged(_THEME_LAYOUT[name])


_HEX = re.compile(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_RGBA = re.compile(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*([\d.]+)\s*)?\)$")
_NAMED = {"white": (255, 255, 255), "black": (0, 0, 0)}


def _parse_color(text: str):
    """(r, g, b, alpha or None, form) of a CSS colour plotly accepts here, or None."""
    s = text.strip()
    if s.lower() in _NAMED:
        return (*_NAMED[s.lower()], None, "hex")
    m = _HEX.match(s)
    if m:
        h = m.group(1)
        if len(h) == 3:
            h = "".join(ch * 2 for ch in h)
        alpha = int(h[6:8], 16) / 255 if len(h) == 8 else None
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), alpha, "hex"
    m = _RGBA.match(s)
    if m:
        r, g, b = (int(float(m.group(i))) for i in (1, 2, 3))
        return r, g, b, (float(m.group(4)) if m.group(4) else None), "rgba"
    return None


def _dark_rgb(r: int, g: int, b: int) -> tuple[int, int, int]:
    if max(r, g, b) - min(r, g, b) <= 12:  # a grey: light and dark swap (white -> background)
        level = (r + g + b) / 3 / 255
        bg, ink = int(DARK_BG[1:3], 16), int(DARK_INK[1:3], 16)
        v = round(bg + (1 - level) * (ink - bg))
        return v, v, v
    return DARK_COLORS.get((r, g, b), (r, g, b))


def _contrast_rgb(r: int, g: int, b: int) -> tuple[int, int, int]:
    if max(r, g, b) - min(r, g, b) <= 12 and max(r, g, b) < 235:  # greys get darker
        v = round((r + g + b) / 3 * 0.55)
        return v, v, v
    return r, g, b


_RGB_MAPS = {"dark": _dark_rgb, "contrast": _contrast_rgb, PROJECTOR: _contrast_rgb}


def theme_color(text, name: str):
    """A colour as theme `name` draws it (other values are returned unchanged)."""
    if name == "light" or not isinstance(text, str):
        return text
    parsed = _parse_color(text)
    if parsed is None:
        return text
    r, g, b, alpha, form = parsed
    r, g, b = _RGB_MAPS[name](r, g, b)
    if form == "rgba" or alpha is not None:
        return f"rgba({r}, {g}, {b}, {1.0 if alpha is None else round(alpha, 3)})"
    return f"#{r:02X}{g:02X}{b:02X}"


def _themed(value, name: str, key: str, widths: float, fonts: float):
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k.endswith("color") and not isinstance(v, (dict, np.ndarray)):
                out[k] = ([theme_color(c, name) for c in v] if isinstance(v, (list, tuple))
                          else theme_color(v, name))
            elif k == "colorscale" and isinstance(v, (list, tuple)):
                out[k] = [[pos, theme_color(c, name)] for pos, c in v]
            elif k == "width" and key == "line" and isinstance(v, (int, float)) and v > 0:
                out[k] = round(v * widths, 2)
            elif k == "size" and key.endswith("font") and isinstance(v, (int, float)):
                out[k] = round(v * fonts)
            else:
                out[k] = _themed(v, name, k, widths, fonts)
        return out
    if isinstance(value, list):
        return [_themed(v, name, key, widths, fonts) for v in value]
    return value


def apply_theme(fig: dict, name: str) -> dict:
    """A copy of figure `fig` drawn in theme `name`: layout overrides (`theme_layout`), axes
    restyled, greys and too-dark colours mapped for the background, and in the projector
    themes thicker lines and larger text. "light" returns `fig` itself. Arrays are shared."""
    layout_over = theme_layout(name)
    if name == "light":
        return fig
    widths, fonts = _THEME_SCALE[name]
    data = _themed(fig.get("data", []), name, "data", widths, fonts)
    layout = _themed(fig.get("layout", {}), name, "layout", widths, fonts)
    layout = merged(layout, layout_over)
    for key in [k for k in layout if re.fullmatch(r"[xy]axis\d*", k)]:
        layout[key] = merged(layout[key], _THEME_AXIS[name])
    if name == PROJECTOR:
        _size_text(layout, data)
    for item in layout.get("annotations", []):
        item.setdefault("font", {}).setdefault("color", layout_over["font"]["color"])
    for trace in data:
        bar = trace.get("colorbar") or (trace.get("marker") or {}).get("colorbar")
        if isinstance(bar, dict):
            _theme_colorbar(bar, layout_over["font"]["color"])
    for key in [k for k in layout if k.startswith("coloraxis")]:
        if isinstance(layout[key].get("colorbar"), dict):
            _theme_colorbar(layout[key]["colorbar"], layout_over["font"]["color"])
    return {**fig, "data": data, "layout": layout}


def _size_text(layout: dict, data: list) -> None:
    """The projector theme's text sizes on what a figure left unsized (a size the builder set,
    to make labels fit, is kept: `apply_theme` has scaled it already). A y-axis title is
    wrapped again to the height of its panel at its new size; a colour bar's ticks stay small
    (several stacked in a short bar)."""
    text = PROJECTOR_TEXT
    margin = layout.setdefault("margin", {})
    plot_px = layout.get("height", 360) - margin.get("t", 60) - margin.get("b", 50)
    for key in [k for k in layout if re.fullmatch(r"[xy]axis\d*", k)]:
        ax = layout[key]
        ax.setdefault("tickfont", {}).setdefault("size", text["tick"])
        title = ax.get("title")
        if isinstance(title, dict):
            size = title.setdefault("font", {}).setdefault("size", text["axis_title"])
            if key.startswith("y") and title.get("text"):
                low, high = ax.get("domain", [0.0, 1.0])
                px = plot_px * (high - low)
                title["text"] = wrap(title["text"].replace("<br>", " "),
                                     int(px / (AXIS_CHAR_PX * size / 15)))
    legend = layout.setdefault("legend", {})
    legend.setdefault("font", {}).setdefault("size", text["legend"])
    if legend.get("yanchor") == "bottom" and legend.get("y", 0) >= 1 and \
            legend.get("yref") != "container":
        # a legend above the plot, under the title: both larger now, so more room between
        margin["t"] = margin.get("t", 60) + 14
        layout["height"] = layout.get("height", 360) + 14
    title = layout.get("title")
    if isinstance(title, dict):
        title.setdefault("font", {}).setdefault("size", text["title"])
    bars = [t.get("colorbar") or (t.get("marker") or {}).get("colorbar") for t in data]
    bars += [layout[k].get("colorbar") for k in layout if k.startswith("coloraxis")]
    for bar in bars:
        if isinstance(bar, dict):
            bar.setdefault("tickfont", {}).setdefault("size", text["colorbar"])
            title = bar.get("title")
            if isinstance(title, dict):
                title.setdefault("font", {}).setdefault("size", text["colorbar"] + 1)


def _theme_colorbar(bar: dict, ink: str) -> None:
    bar.setdefault("tickfont", {})["color"] = ink
    title = bar.setdefault("title", {})
    if isinstance(title, dict):
        title.setdefault("font", {})["color"] = ink
