"""Is any English sentence left on a page shown in Chinese? `english_left(texts)` finds runs of
3+ English words in visible texts; `visible_texts(at)` gathers what an AppTest page shows in its
main area and sidebar (texts, labels, help, options, chart titles, axes, legends, notes)."""
from __future__ import annotations

import re

# Words that stay as they are in Chinese: proper names, symbols, units, formula fragments.
ALLOWED = {
    "ioffe", "szegedy", "santurkar", "mnist", "pytorch", "relu", "bn", "layernorm", "groupnorm",
    "sigmoid", "tanh", "gamma", "beta", "he", "xavier", "pca", "zca", "ics", "csv", "json",
    "png", "lab", "log", "exp", "max", "min", "std", "var", "sgd", "nan", "px", "ms", "dl",
    "dw", "out", "fan", "in", "lr", "id", "url", "ray", "gpu", "cpu", "plotly", "streamlit",
}
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
CODE = re.compile(r"`[^`]*`")                       # code spans: URL values, identifiers
LINK = re.compile(r"\]\([^)]*\)|https?://\S+|<[^>]+>|\?\S*=\S*")  # links, URLs, tags, queries
WORD = re.compile(r"(?<![\w.])[A-Za-z][A-Za-z']*(?![\w(])")  # no digits, no identifiers, no calls
MIN_RUN = 3


def english_runs(text: str) -> list[str]:
    """The stretches of `text` between Chinese characters that hold 3+ English words."""
    text = LINK.sub(" ", CODE.sub(" ", str(text)))
    found = []
    for part in CJK.split(text):
        words = [w for w in WORD.findall(part) if len(w) > 1 and w.lower().strip("'") not in ALLOWED]
        if len(words) >= MIN_RUN:
            found.append(part.strip())
    return found


def english_left(texts) -> list[str]:
    """Every English run (3+ words) in `texts`, once each, in order."""
    out = []
    for text in texts:
        for run in english_runs(text):
            if run not in out:
                out.append(run)
    return out


def _chart_texts(spec: dict) -> list[str]:
    layout = spec.get("layout", {})
    out = [(layout.get("title") or {}).get("text", "")]
    for key, value in layout.items():
        if key.startswith(("xaxis", "yaxis")) and isinstance(value, dict):
            out.append((value.get("title") or {}).get("text", ""))
    out += [a.get("text", "") for a in layout.get("annotations", [])]
    for trace in spec.get("data", []):
        if trace.get("showlegend", True) is not False:
            out.append(trace.get("name", ""))
        out.append(trace.get("hovertemplate", ""))
        bar = trace.get("colorbar") or {}
        out.append((bar.get("title") or {}).get("text", ""))
        y = trace.get("y")
        if trace.get("type") == "heatmap" and isinstance(y, list):
            out += [str(v) for v in y]
        text = trace.get("text")
        if isinstance(text, list):
            out += [str(t) for t in text]
    return [t for t in out if t]


def _node_texts(node) -> list[str]:
    from bnlab_ui.charts import shown_figure

    out = []
    proto = getattr(node, "proto", None)
    kind = getattr(node, "type", "")
    if kind in ("plotly_chart", "bidi_component") and proto is not None:
        figure = shown_figure(node)
        if figure is not None:
            return _chart_texts(figure)
    for attr in ("value", "label", "help", "placeholder", "body"):
        try:
            value = getattr(node, attr, None)
        except (AttributeError, KeyError, TypeError, ValueError):  # not this element's kind
            value = None
        if isinstance(value, str):
            out.append(value)
    try:
        options = getattr(node, "options", None)
    except (AttributeError, KeyError, TypeError, ValueError):
        options = None
    if isinstance(options, (list, tuple)):
        out += [o for o in options if isinstance(o, str)]
    for child in getattr(node, "children", {}).values():
        out += _node_texts(child)
    return out


def visible_texts(at) -> list[str]:
    """What the page shows in its main area and its sidebar, as a list of texts."""
    return _node_texts(at.main) + _node_texts(at.sidebar)
